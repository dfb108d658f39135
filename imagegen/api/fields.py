"""A serializer field any host serializer can use to embed an image's ready variants.

    class ProductImageSerializer(serializers.ModelSerializer):
        variants = VariantsField(field_name="image")

It reads the rows ``imagegen.prefetch_variants(images, "image")`` attached to the objects;
the view must call that once for the page (one query for all images), otherwise each
object costs a query of its own.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Variant
from ..prefetch import variants_for
from .serializers import VariantSummarySerializer


@extend_schema_field(VariantSummarySerializer(many=True))
class VariantsField(serializers.Field):
    """The ready variants of ``field_name`` of the object being serialized (read-only).

    ``published_only`` (default True) leaves out variants an admin has not published yet;
    ``names`` keeps only these spec names or style slugs.
    """

    def __init__(self, field_name: str, *, published_only: bool = True, names: list[str] | None = None, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        kwargs.setdefault("source", "*")
        self.field_name_of_source = field_name
        self.published_only = published_only
        self.names = set(names) if names else None
        super().__init__(**kwargs)

    def _wanted(self, variant: Variant) -> bool:
        if variant.status != Variant.Status.READY or (self.published_only and not variant.is_published):
            return False
        if self.names is None:
            return True
        return variant.spec_name in self.names or (variant.style is not None and variant.style.slug in self.names)

    def to_representation(self, instance: Any) -> list[dict[str, Any]]:
        rows = [v for v in variants_for(instance, self.field_name_of_source) if self._wanted(v)]
        return VariantSummarySerializer(rows, many=True, context=self.context).data
