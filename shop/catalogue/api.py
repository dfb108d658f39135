"""The demo shop's own API: products with their images and each image's ready variants,
through imagegen's reusable ``VariantsField``. Also the shop's visibility rule for imagegen
(``IMAGEGEN["API_SOURCE_VISIBILITY"]``): an image is public when its product is."""
from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny

import imagegen
from imagegen.api.fields import VariantsField
from imagegen.api.serializers import absolute_url
from imagegen.api.views import ERRORS

from .models import Product, ProductImage


def visible_sources(user, queryset: QuerySet) -> QuerySet:
    """Which source rows a non-staff user (or anonymous) may see through imagegen's API."""
    if queryset.model is ProductImage:
        return queryset.filter(product__is_public=True)
    return queryset


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The original photo.")
    variants = VariantsField(field_name="image", help_text="Ready, published variants of this photo.")

    class Meta:
        model = ProductImage
        fields = ["id", "alt", "position", "url", "variants"]

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_url(self, image: ProductImage) -> str | None:
        return absolute_url(self.context, image.image.url) if image.image else None


class ProductSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    images = ProductImageSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = ["id", "name", "slug", "description", "price", "category", "images"]


class ProductPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


@extend_schema_view(
    list=extend_schema(
        summary="Products", description="Public products (staff: all) with their images and ready variants.",
        responses={200: ProductSerializer(many=True), 404: OpenApiResponse(ERRORS[404].response, description="No such page.")},
    ),
    retrieve=extend_schema(
        summary="One product", description="A product with its images and each image's ready variants.",
        responses={200: ProductSerializer, 404: ERRORS[404]},
    ),
)
class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProductSerializer
    permission_classes = [AllowAny]
    pagination_class = ProductPagination
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Product]:
        products = Product.objects.select_related("category").prefetch_related("images").order_by("name", "pk")
        return products if self.request.user.is_staff else products.filter(is_public=True)

    def _with_variants(self, products: list[Product]) -> None:
        # One query for the variants of every image on the page (no N+1 in VariantsField).
        imagegen.prefetch_variants([image for product in products for image in product.images.all()], "image")

    def get_object(self) -> Product:
        product = super().get_object()
        self._with_variants([product])
        return product

    def paginate_queryset(self, queryset: QuerySet[Product]) -> list[Product] | None:
        page = super().paginate_queryset(queryset)
        self._with_variants(page if page is not None else list(queryset))
        return page
