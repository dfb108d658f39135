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


def matches(variant: Variant, name: str, aspect: str | None = None) -> bool:
    """Whether ``variant`` is the one called ``name`` (spec name or style slug) cropped to
    ``aspect`` ("16:9"; None: at the photo's own shape). ValueError for a malformed ratio."""
    wanted = normalise_ratio(aspect) if aspect else None
    if _own_ratio(variant) != wanted:
        return False
    if variant.spec_name == name or (wanted and variant.spec_name == aspect_name(name, wanted)):
        return True
    return variant.style is not None and variant.style.slug == name


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
    for variant in variants_for(instance, field_name):
        if not matches(variant, name, aspect):
            continue
        if variant.status == Variant.Status.READY and (variant.is_published or not published_only):
            return variant
    return None
