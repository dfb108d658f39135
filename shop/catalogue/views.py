from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

import imagegen

from .models import Product, ProductImage


def _public_products():
    return (
        Product.objects.filter(is_public=True)
        .select_related("category")
        .prefetch_related(Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")))
    )


def product_list(request: HttpRequest) -> HttpResponse:
    products = list(_public_products())
    # One query loads the variants of every image on the page (no N+1 in the template tags).
    imagegen.prefetch_variants([image for product in products for image in product.images.all()], "image")
    return render(request, "shop/product_list.html", {"products": products})


def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(_public_products(), slug=slug)
    images = list(product.images.all())
    imagegen.prefetch_variants(images, "image")
    return render(request, "shop/product_detail.html", {"product": product, "images": images})
