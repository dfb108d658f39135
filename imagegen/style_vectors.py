"""Style vectors of reference images for the "style" processor: computed once, stored on the
Style, always in a worker job.

An admin who uploads a reference image on a "style" Style gets a job on the high-priority
queue (after the save commits) that runs the style predictor on the image and stores the
100-number vector with the hash of the file it came from. Variant jobs then pass the stored
vector to the engine instead of the image. If a variant job finds no up-to-date vector (the
job has not run yet, Redis was down), it computes and stores it itself: it is a worker too.
"""
from __future__ import annotations

import hashlib
import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from redis.exceptions import RedisError

from .conf import conf
from .models import Style, Variant

logger = logging.getLogger(__name__)

JOB_FUNCTION = "imagegen.style_vectors.compute_style_vector"
PROCESSOR = "style"


def needs_vector(style: Style) -> bool:
    """A "style" Style whose look comes from its reference image (not a built-in style)."""
    return style.processor == PROCESSOR and bool(style.reference) and (style.parameters or {}).get("style") is None


def _read(style: Style) -> bytes:
    with style.reference.open("rb") as stream:
        return stream.read()


def vector_for(style: Style, reference: bytes | None = None) -> list[float] | None:
    """The stored vector when it matches the reference file, else computed now and stored.
    Only call this in a worker: it runs the style predictor."""
    if not needs_vector(style):
        return None
    data = reference if reference is not None else _read(style)
    digest = hashlib.sha256(data).hexdigest()
    if style.style_vector and style.style_vector_source == digest:
        return list(style.style_vector)
    from . import engine

    image = engine.decode(data, max_pixels=conf.MAX_SOURCE_PIXELS)
    from .engine.processors.style import style_vector_from_image

    vector = [round(v, 6) for v in style_vector_from_image(image)]
    # update(): no post_save, so storing the vector does not queue the job again
    Style.objects.filter(pk=style.pk).update(style_vector=vector, style_vector_source=digest)
    style.style_vector, style.style_vector_source = vector, digest
    return vector


def compute_style_vector(style_id: int) -> dict[str, Any]:
    """The job: compute (or confirm) the vector of one Style's reference image."""
    style = Style.objects.filter(pk=style_id).first()
    if style is None or not needs_vector(style):
        return {"style": style_id, "vector": False}
    vector = vector_for(style)
    return {"style": style_id, "vector": vector is not None}


def render_parameters(variant: Variant, reference: bytes | None) -> dict[str, Any]:
    """The parameters a variant job passes to the engine: the variant's own, plus the style
    vector of its Style's reference image for the "style" processor."""
    params = dict(variant.parameters or {})
    style = variant.style
    if variant.processor != PROCESSOR or style is None or params.get("style") is not None:
        return params
    vector = vector_for(style, reference)
    if vector is not None:
        params["style_vector"] = vector
    return params


def enqueue(style: Style) -> str | None:
    """Queue the vector job for ``style`` (high priority). None if Redis is unreachable: the
    first variant job using the style computes the vector instead."""
    from .queue import get_queue

    job_id = f"imagegen-style-vector-{style.pk}"
    try:
        get_queue("high").enqueue(
            JOB_FUNCTION, style.pk, job_id=job_id, job_timeout=conf.JOB_TIMEOUT, result_ttl=3600,
            description=f"imagegen: style vector of style {style.pk}",
        )
    except RedisError as exc:
        logger.warning("imagegen: Redis unreachable, style vector of style %s computed later (%s)", style.pk, exc)
        return None
    return job_id


def _on_style_saved(sender: type[Style], instance: Style, raw: bool = False, **kwargs: Any) -> None:
    if raw or not needs_vector(instance):
        return
    from .sources import file_hash

    if instance.style_vector and instance.style_vector_source == file_hash(instance.reference):
        return
    transaction.on_commit(partial(enqueue, instance), robust=True)


def connect() -> None:
    post_save.connect(_on_style_saved, sender=Style, dispatch_uid="imagegen:style-vector")
