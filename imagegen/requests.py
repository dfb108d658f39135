"""Asking for new variants on demand (admin actions, API, commands)."""
from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .models import Style, Variant
from .queue import enqueue_after_commit, queue_name
from .sources import hash_file, resolve_style, sync_variants

# Options every restyle understands; forwarded to the engine's generic handling.
OPTION_KEYS = ("strength", "preserve_colors", "preserve_product", "preserve_amount", "aspect")  # aspect: smart crop "W:H"


def request_variants(
    instance: models.Model,
    field_name: str,
    styles: list[Style],
    *,
    format: str = "webp",
    size: int | None = None,
    quality: int = 85,
    queue: str = "high",
    force: bool = False,
    **options: Any,
) -> list[Variant]:
    """Pending rows (or the existing identical ones) for each style, queued on ``queue``.

    Asking twice for the same thing returns the same rows and costs no new GPU work,
    unless ``force`` (regenerate). New rows are ad-hoc work: unpublished until an admin
    approves them, unless IMAGEGEN["PUBLISH_REQUESTS"]."""
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise ValueError(f"Unknown option(s) {sorted(unknown)}; allowed: {', '.join(OPTION_KEYS)}")
    fieldfile = getattr(instance, field_name)
    if not fieldfile:
        return []
    params = {key: value for key, value in options.items() if value is not None}
    specs = [
        resolve_style(style, params=_meaningful(params, style.processor), format=format, size=size, quality=quality)
        for style in styles
    ]
    return sync_variants(
        instance, field_name, hash_file(fieldfile), specs, queue=queue, mark_others_stale=False, force=force,
        origin=Variant.Origin.REQUEST,
    )


# Options that blend the result with the source pixel for pixel.
RESTYLE_OPTION_KEYS = ("strength", "preserve_colors", "preserve_product", "preserve_amount")


def _meaningful(params: dict[str, Any], processor: str) -> dict[str, Any]:
    """The options without those that mean nothing for ``processor`` (neither stored nor shown)."""
    if not any(key in params for key in RESTYLE_OPTION_KEYS) or takes_options(processor):
        return params
    return {key: value for key, value in params.items() if key not in RESTYLE_OPTION_KEYS}


def takes_options(processor: str) -> bool:
    """Whether the restyle options (RESTYLE_OPTION_KEYS) mean anything for ``processor``: not for those that change
    the image size (enhance, cut-out, crop), which would reject them. Unknown processors keep
    them, so the worker reports the problem on the variant."""
    from .engine import EngineError, get_processor  # torch, loaded only when options are given

    try:
        proc = get_processor(processor)
    except EngineError:
        return True
    return restyle_options_apply(proc)


def restyle_options_apply(proc: Any) -> bool:
    """Generic options compare the result with the source pixel for pixel: meaningless for
    processors that change the size (enhance, cut-out, crop) or opt out (``restyle_options = False``)."""
    return not getattr(proc, "changes_size", False) and getattr(proc, "restyle_options", True) is not False


def regenerate(instance: models.Model, field_name: str, *, queue: str = "high") -> list[Variant]:
    """Render every current variant of one source again (same specs, same content)."""
    queue = queue_name(queue)
    rows = list(Variant.objects.for_object(instance, field_name).current().exclude(status=Variant.Status.RUNNING))
    if not rows:
        return []
    with transaction.atomic():
        Variant.objects.filter(pk__in=[v.pk for v in rows]).update(
            status=Variant.Status.PENDING, error="", attempts=0, queue=queue, enqueued_at=None, updated_at=timezone.now()
        )
        for source_hash in {v.source_hash for v in rows}:
            enqueue_after_commit(rows[0].content_type_id, str(instance.pk), field_name, source_hash, queue=queue)
    for row in rows:
        row.refresh_from_db()
    return rows
