"""Style previews: what each Style looks like on a sample product, rendered by a worker job.

Saving a Style queues ``render_style_preview`` (after commit, bulk queue); a worker starting
queues ``refresh_previews`` once, so a new ENGINE_VERSION re-renders every preview. The job
computes the preview key (processor, parameters, reference file, sample image, engine
version) and renders only when it differs from the stored one, so a queued job that finds
nothing changed costs two file hashes. Previews are never Variants: they never reach the
storefront and need no approval.

The sample is the image a shop admin chose (admin action "Use for style previews", stored as
PreviewSample rows, the latest wins), else ``IMAGEGEN["PREVIEW_SAMPLE"]``
("app_label.model.field:pk"), else the first image of the first registered source, else a
drawn sample product (engine/sample.py). Choosing a sample queues ``refresh_previews``: the
sample's hash is part of every preview key, so each preview is re-rendered by a worker.
"""
from __future__ import annotations

import hashlib
import json
import logging
from functools import partial
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models.signals import post_save
from django.utils import timezone
from redis.exceptions import RedisError

from .conf import conf
from .models import PreviewSample, Style
from .registry import registry
from .sources import file_hash

logger = logging.getLogger(__name__)

JOB_FUNCTION = "imagegen.previews.render_style_preview"
REFRESH_FUNCTION = "imagegen.previews.refresh_previews"
DRAWN_SAMPLE = "drawn sample product"


class SampleError(ValueError):
    """PREVIEW_SAMPLE names no usable image."""


def chosen_sample() -> tuple[models.Model, str] | None:
    """The admin's choice (latest PreviewSample), or None when there is none or it no longer
    points at an image (object deleted, image removed, model gone): then the defaults apply."""
    choice = PreviewSample.objects.select_related("content_type").order_by("-chosen_at", "-pk").first()
    if choice is None:
        return None
    model = choice.content_type.model_class()
    if model is None:  # the app or model was removed since
        return None
    try:
        instance = model._default_manager.filter(pk=choice.object_id).first()
    except (ValueError, TypeError, ValidationError):  # a stored pk the model's pk type no longer accepts
        return None
    if instance is None or not getattr(instance, choice.field_name, None):
        return None
    return instance, choice.field_name


def choose_sample(instance: models.Model, field_name: str, *, user: Any = None) -> PreviewSample:
    """Make ``instance.field_name`` the preview sample and queue the refresh (after commit, on
    a worker: rendering 30 previews never happens in the admin's request)."""
    row = PreviewSample.objects.create(
        content_type=ContentType.objects.get_for_model(instance),
        object_id=str(instance.pk),
        field_name=field_name,
        chosen_by=user if user is not None and user.is_authenticated else None,
    )
    transaction.on_commit(enqueue_refresh, robust=True)
    return row


def sample_source() -> tuple[models.Model, str] | None:
    """(instance, field name) of the sample product image, or None for the drawn sample."""
    chosen = chosen_sample()
    if chosen is not None:
        return chosen
    configured = conf.PREVIEW_SAMPLE
    if configured:
        source_id, _, pk = str(configured).rpartition(":")
        try:
            source = registry.get(source_id)
        except LookupError as exc:
            raise SampleError(f"IMAGEGEN['PREVIEW_SAMPLE'] = {configured!r}: {exc}") from None
        instance = source.model._default_manager.filter(pk=pk).first()
        if instance is None or not getattr(instance, source.field_name):
            raise SampleError(f"IMAGEGEN['PREVIEW_SAMPLE'] = {configured!r}: no such object with an image.")
        return instance, source.field_name
    from .warm import iter_instances

    for source in registry.sources():
        for instance in iter_instances(source):
            return instance, source.field_name
    return None


def sample_label() -> str:
    """The sample in words, for the admin ("Mug 3", or "drawn sample product")."""
    try:
        sample = sample_source()
    except SampleError as exc:
        return str(exc)
    return DRAWN_SAMPLE if sample is None else str(sample[0])


def _sample_bytes() -> tuple[bytes, str]:
    """The sample's bytes and its identity (content hash)."""
    sample = sample_source()
    if sample is None:
        from .engine.sample import sample_product_png

        data = sample_product_png(conf.PREVIEW_SIZE)
    else:
        instance, field_name = sample
        with getattr(instance, field_name).open("rb") as stream:
            data = stream.read()
    return data, hashlib.sha256(data).hexdigest()


def preview_key(style: Style, sample_hash: str, engine_version: str) -> str:
    payload = {
        "processor": style.processor,
        "params": style.parameters or {},
        "reference": file_hash(style.reference),
        "sample": sample_hash,
        "size": conf.PREVIEW_SIZE,
        "engine": engine_version,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def render_style_preview(style_id: int, force: bool = False) -> dict[str, Any]:
    """The job: render one style's preview if it is missing or out of date."""
    from . import engine  # torch: workers only
    from .style_vectors import needs_vector, vector_for

    style = Style.objects.filter(pk=style_id).first()
    if style is None:
        return {"style": style_id, "rendered": False}
    try:
        data, sample_hash = _sample_bytes()
    except SampleError as exc:  # a mistyped PREVIEW_SAMPLE: say so on every style's page
        Style.objects.filter(pk=style.pk).update(preview_error=str(exc), preview_updated_at=timezone.now())
        return {"style": style_id, "rendered": False, "error": str(exc)}
    key = preview_key(style, sample_hash, engine.ENGINE_VERSION)
    if not force and key == style.preview_key and style.preview:
        return {"style": style_id, "rendered": False}
    reference = None
    if style.reference:
        with style.reference.open("rb") as stream:
            reference = stream.read()
    try:
        image = engine.resize_to_fit(engine.decode(data, max_pixels=conf.MAX_SOURCE_PIXELS), conf.PREVIEW_SIZE)
        params = dict(style.parameters or {})
        if needs_vector(style):
            params["style_vector"] = vector_for(style, reference)
        result = engine.render(image, style.processor, params, reference=reference, max_size=conf.PREVIEW_SIZE)
        encoded = engine.encode(result, "WEBP", quality=85, background=tuple(conf.BACKGROUND))
    except engine.EngineError as exc:
        # Shown on the style's admin page; the key is kept so the same failure is not retried
        # until something changes.
        Style.objects.filter(pk=style.pk).update(preview_error=str(exc), preview_key=key, preview_updated_at=timezone.now())
        return {"style": style_id, "rendered": False, "error": str(exc)}
    storage = style.preview.storage
    name = f"imagegen/previews/{style.slug}-{key[:12]}.webp"
    if not storage.exists(name):  # two jobs for one key (a save and a refresh) share the file
        name = storage.save(name, ContentFile(encoded))
    # update(): no post_save, so storing the preview does not queue this job again
    Style.objects.filter(pk=style.pk).update(preview=name, preview_key=key, preview_error="", preview_updated_at=timezone.now())
    _delete_older(storage, style.slug, keep=name)
    return {"style": style_id, "rendered": True}


def _delete_older(storage, slug: str, keep: str) -> None:
    """Earlier previews of this style (found by name: a stale Style saved elsewhere may have
    blanked the field that pointed to them)."""
    folder = "imagegen/previews"
    try:
        _, files = storage.listdir(folder)
    except (OSError, NotImplementedError):
        return
    for filename in files:
        path = f"{folder}/{filename}"
        if path != keep and filename.startswith(f"{slug}-") and len(filename) == len(slug) + 1 + 12 + len(".webp"):
            storage.delete(path)


def refresh_previews() -> dict[str, int]:
    """The job a starting worker queues: queue a preview job per style (each renders only if
    its key changed: a new engine version, a new sample)."""
    ids = list(Style.objects.values_list("pk", flat=True))
    for pk in ids:
        enqueue(pk)
    return {"styles": len(ids)}


def enqueue(style_id: int, *, force: bool = False) -> str | None:
    """Queue the preview job of one style (bulk queue). None when Redis is unreachable: the
    next worker start or save queues it again."""
    from .queue import get_queue

    job_id = f"imagegen-style-preview-{style_id}"
    try:
        get_queue("bulk").enqueue(
            JOB_FUNCTION, style_id, force, job_id=job_id, job_timeout=conf.JOB_TIMEOUT, result_ttl=600,
            description=f"imagegen: preview of style {style_id}",
        )
    except RedisError as exc:
        logger.warning("imagegen: Redis unreachable, preview of style %s rendered later (%s)", style_id, exc)
        return None
    return job_id


def enqueue_refresh() -> None:
    from .queue import get_queue

    try:
        get_queue("bulk").enqueue(REFRESH_FUNCTION, job_id="imagegen-style-previews-refresh", result_ttl=60)
    except RedisError as exc:
        logger.warning("imagegen: Redis unreachable, style previews not refreshed (%s)", exc)


def _on_style_saved(sender: type[Style], instance: Style, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    transaction.on_commit(partial(enqueue, instance.pk), robust=True)


def connect() -> None:
    post_save.connect(_on_style_saved, sender=Style, dispatch_uid="imagegen:style-preview")
