"""Filters on the variant list: ?source=, ?style=, ?status=, ?format=, ?spec=, ?published=,
?updated_since=, and the host's parent filters (IMAGEGEN["API_PARENT_FILTERS"], e.g.
?product=42 in the demo shop)."""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import django_filters
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from rest_framework.exceptions import ValidationError

from ..conf import conf
from ..models import Variant
from ..specs import FORMATS
from . import refs

MAX_INT = 2**63


class VariantFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(
        method="filter_source", max_length=200,
        help_text=f"One source object: app_label.model:pk (e.g. {refs.EXAMPLE}) or app_label.model.field:pk.",
    )
    style = django_filters.CharFilter(field_name="style__slug", max_length=50, help_text="Style slug.")
    spec = django_filters.CharFilter(field_name="spec_name", max_length=100, help_text="Spec name (as registered) or style slug.")
    status = django_filters.ChoiceFilter(
        choices=Variant.Status.choices, help_text="Stale variants (of replaced images) are listed only when asked for."
    )
    format = django_filters.ChoiceFilter(
        method="filter_format", choices=[(k, k) for k in ("webp", "jpeg", "png", "avif")], help_text="Output format."
    )
    published = django_filters.BooleanFilter(field_name="is_published")
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Only variants changed at or after this time (ISO 8601)."
    )

    class Meta:
        model = Variant
        fields: list[str] = []

    @property
    def qs(self) -> QuerySet:
        queryset = super().qs
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.exclude(status=Variant.Status.STALE)
        return queryset

    def filter_source(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        try:
            ref = refs.parse(value)
        except refs.BadReference as exc:
            raise ValidationError({"source": [str(exc)]}) from None
        content_type = ContentType.objects.get_for_model(ref.source.model)
        return queryset.filter(content_type=content_type, object_id=ref.object_id, field_name=ref.source.field_name)

    def filter_format(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(requested_format=FORMATS[value])


def _parent_filter(param: str, lookups: dict[str, str]) -> Callable[[QuerySet, str, Any], QuerySet]:
    def filter_parent(queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value.lstrip("-").isdigit() and abs(int(value)) >= MAX_INT:
            raise ValidationError({param: [f"{value!r} is not a valid id."]})
        matches = Q(pk__in=[])
        for model_label, lookup in lookups.items():
            model = apps.get_model(model_label)
            try:
                children = model._default_manager.filter(**{lookup: value})
            except (ValueError, TypeError, DjangoValidationError):
                raise ValidationError({param: [f"{value!r} is not a valid id."]}) from None
            ids = children.annotate(_imagegen_pk=Cast("pk", CharField())).values("_imagegen_pk")
            matches |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=ids)
        return queryset.filter(matches)

    return filter_parent


@lru_cache(maxsize=8)
def _build(parents_json: str) -> type[VariantFilter]:
    parents: dict[str, dict[str, str]] = json.loads(parents_json)
    attrs: dict[str, Any] = {}
    for param, lookups in parents.items():
        where = ", ".join(f"{label}.{lookup}" for label, lookup in lookups.items())
        attrs[param] = django_filters.CharFilter(
            method=_parent_filter(param, lookups), max_length=64, help_text=f"Variants of sources whose {where} is this id."
        )
    return type("VariantFilter", (VariantFilter,), attrs)


def variant_filterset() -> type[VariantFilter]:
    """VariantFilter plus the host's parent filters (built once per configuration)."""
    return _build(json.dumps(conf.API_PARENT_FILTERS or {}, sort_keys=True))
