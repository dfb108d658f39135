"""The read path: variants for many source objects in one query, never touching storage."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import Variant
from .specs import aspect_name, normalise_ratio

CACHE = "_imagegen_variants"


def prefetch_variants(instances: Iterable[models.Model], field_name: str) -> None:
    """Attach the current variants of ``field_name`` to each instance (one query per model)."""
    by_model: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    for instance in instances:
        by_model[type(instance)].append(instance)
    for model, objects in by_model.items():
        rows = (
            Variant.objects.current()
            .filter(
                content_type=ContentType.objects.get_for_model(model),
                object_id__in=[str(obj.pk) for obj in objects],
                field_name=field_name,
            )
            .select_related("style")
            .order_by("spec_name", "-created_at")
        )
        grouped: dict[str, list[Variant]] = defaultdict(list)
        for row in rows:
            grouped[row.object_id].append(row)
        for obj in objects:
            obj.__dict__.setdefault(CACHE, {})[field_name] = grouped.get(str(obj.pk), [])


def variants_for(instance: models.Model, field_name: str) -> list[Variant]:
    cached = instance.__dict__.get(CACHE, {})
    if field_name not in cached:
        prefetch_variants([instance], field_name)
    return instance.__dict__[CACHE][field_name]


def match_rank(variant: Variant, name: str, aspect: str | None = None) -> int | None:
    """How well ``variant`` answers for ``name`` (spec name or style slug) at ``aspect``
    ("16:9"; None: the photo's own shape): 0 exactly, 1 as a stand-in, None not at all.
    A registered crop (``sketch@16x9``) never stands in for its base. A style's variant with an
    ``aspect`` parameter (the marketplace preset's own square frame, or an API request's
    crop) answers for its slug, but one without it is preferred when no aspect is asked for.
    ValueError for a malformed ratio."""
    wanted = normalise_ratio(aspect) if aspect else None
    if wanted and variant.spec_name == aspect_name(name, wanted):
        return 0
    if variant.spec_name != name and (variant.style is None or variant.style.slug != name):
        return None
    own = _own_ratio(variant)
    if wanted:
        return 0 if own == wanted else None
    return 0 if own is None else 1


def matches(variant: Variant, name: str, aspect: str | None = None) -> bool:
    return match_rank(variant, name, aspect) is not None


def best_matches(variants: list[Variant], name: str, aspect: str | None = None) -> list[Variant]:
    """Those of ``variants`` that answer best for ``name`` at ``aspect`` (order kept)."""
    ranked = [(match_rank(v, name, aspect), v) for v in variants]
    ranks = [rank for rank, _ in ranked if rank is not None]
    return [v for rank, v in ranked if ranks and rank == min(ranks)]


def _own_ratio(variant: Variant) -> str | None:
    own = (variant.parameters or {}).get("aspect")
    if own in (None, "", "original"):
        return None
    try:
        return normalise_ratio(own)
    except ValueError:
        return str(own)


def ready_variant(
    instance: models.Model, field_name: str, name: str, *, published_only: bool = True, aspect: str | None = None
) -> Variant | None:
    """The newest ready variant named ``name`` (spec name or style slug), cropped to
    ``aspect`` when given."""
    ready = [
        v for v in variants_for(instance, field_name)
        if v.status == Variant.Status.READY and (v.is_published or not published_only)
    ]
    best = best_matches(ready, name, aspect)
    return best[0] if best else None
