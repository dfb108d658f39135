"""Keeping Variant rows in step with source images: hashing, creating, marking stale."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from .models import Style, Variant
from .registry import Source
from .specs import ResolvedSpec, VariantSpec, normalise_format

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024


def hash_file(fieldfile: FieldFile) -> str:
    """sha256 of the file's bytes: the identity of an image, whatever its name."""
    digest = hashlib.sha256()
    if not fieldfile._committed:
        stream = fieldfile.file
        position = stream.tell() if hasattr(stream, "tell") else 0
        stream.seek(0)
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
        stream.seek(position)
        return digest.hexdigest()
    with fieldfile.storage.open(fieldfile.name, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_hash(style_file: FieldFile) -> str:
    return hash_file(style_file) if style_file else ""


def resolve(spec: VariantSpec, styles: dict[str, Style]) -> ResolvedSpec | None:
    """Turn a registered spec into plain data; None when its style is missing or inactive.
    ``styles`` maps slug to Style for the styles the specs name (loaded in one query)."""
    if spec.processor:
        return ResolvedSpec(spec.name, spec.processor, dict(spec.params), spec.format, spec.size, spec.quality)
    style = styles.get(spec.style)
    if style is None or not style.is_active:
        logger.warning("imagegen: style %r for spec %r is missing or inactive; variant skipped", spec.style, spec.name)
        return None
    return resolve_style(style, name=spec.name, params=spec.params, format=spec.format, size=spec.size, quality=spec.quality)


def resolve_style(
    style: Style,
    *,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    format: str = "webp",
    size: int | None = None,
    quality: int = 85,
) -> ResolvedSpec:
    return ResolvedSpec(
        name=name or style.slug,
        processor=style.processor,
        params={**style.parameters, **(params or {})},
        format=normalise_format(format),
        size=size,
        quality=quality,
        style_id=style.pk,
        reference_hash=file_hash(style.reference),
    )


def sync_variants(
    instance: models.Model,
    field_name: str,
    source_hash: str,
    specs: Iterable[ResolvedSpec],
    *,
    queue: str = "default",
    mark_others_stale: bool = True,
    force: bool = False,
    retry_failed: bool = False,
    origin: str = Variant.Origin.SPEC,
) -> list[Variant]:
    """Ensure a pending-or-done row per spec for this exact image content, and enqueue the
    source's job once the transaction commits. Rows for older content become stale.

    Returns the rows: existing ready ones are left alone unless ``force``, failed ones unless
    ``retry_failed`` or ``force``. ``origin`` of new rows decides their publication
    (Variant.Origin: registered specs follow AUTO_PUBLISH, requests PUBLISH_REQUESTS)."""
    from .queue import enqueue_after_commit, queue_name

    queue = queue_name(queue)
    content_type = ContentType.objects.get_for_model(instance)
    object_id = str(instance.pk)
    rows: list[Variant] = []
    needs_job = False
    with transaction.atomic():
        base = Variant.objects.filter(content_type=content_type, object_id=object_id, field_name=field_name)
        if mark_others_stale:
            base.exclude(source_hash=source_hash).exclude(status=Variant.Status.STALE).update(
                status=Variant.Status.STALE, updated_at=timezone.now()
            )
        for spec in specs:
            variant, created = _get_or_create(base, content_type, object_id, field_name, source_hash, spec, queue, origin)
            revive = (
                variant.status == Variant.Status.STALE
                or (force and variant.status in (Variant.Status.READY, Variant.Status.FAILED))
                or (retry_failed and variant.status == Variant.Status.FAILED)
            )
            if revive:
                variant.status = Variant.Status.PENDING
                variant.error = ""
                variant.attempts = 0
                variant.queue = queue
                variant.save(update_fields=["status", "error", "attempts", "queue", "updated_at"])
            needs_job |= created or revive or variant.status == Variant.Status.PENDING
            rows.append(variant)
        if needs_job:
            enqueue_after_commit(content_type.pk, object_id, field_name, source_hash, queue=queue)
    return rows


def _get_or_create(base, content_type, object_id, field_name, source_hash, spec: ResolvedSpec, queue: str, origin: str):
    lookup = {"spec_hash": spec.spec_hash, "source_hash": source_hash}
    existing = base.filter(**lookup).first()
    if existing is not None:
        return existing, False
    try:
        # A savepoint, so losing a race to a concurrent save doesn't break the outer transaction.
        with transaction.atomic():
            return Variant.objects.create(
                content_type=content_type,
                object_id=object_id,
                field_name=field_name,
                spec_name=spec.name,
                style_id=spec.style_id,
                processor=spec.processor,
                parameters=spec.params,
                requested_format=spec.format,
                max_size=spec.size,
                quality=spec.quality,
                queue=queue,
                origin=origin,
                **lookup,
            ), True
    except IntegrityError:
        return base.get(**lookup), False


def sync_source(instance: models.Model, source: Source, source_hash: str | None = None) -> list[Variant]:
    """Rows for every registered spec of one source field (used by the save hook and commands)."""
    fieldfile = getattr(instance, source.field_name)
    if not fieldfile:
        Variant.objects.for_object(instance, source.field_name).current().update(status=Variant.Status.STALE)
        return []
    source_hash = source_hash or hash_file(fieldfile)
    slugs = [spec.style for spec in source.specs if spec.style]
    styles = {style.slug: style for style in Style.objects.filter(slug__in=slugs)}
    resolved = [r for r in (resolve(spec, styles) for spec in source.specs) if r is not None]
    return sync_variants(instance, source.field_name, source_hash, resolved)
