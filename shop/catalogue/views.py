import io
from functools import lru_cache

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

import imagegen

from .models import Product, ProductImage


def _public_products():
    return (
        Product.objects.filter(is_public=True)
        .select_related("category")
        .prefetch_related(Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")))
    )


def primary_spec() -> str:
    """What product cards and thumbnails show: "" (the default) for the original photo, or the
    name of a registered spec or style, e.g. "marketplace" (settings.SHOP_PRIMARY_SPEC, env
    SHOP_PRIMARY_SPEC); the original stands in while that variant is pending."""
    return getattr(settings, "SHOP_PRIMARY_SPEC", "") or ""


def product_list(request: HttpRequest) -> HttpResponse:
    products = list(_public_products())
    # One query loads the variants of every image on the page (no N+1 in the template tags).
    imagegen.prefetch_variants([image for product in products for image in product.images.all()], "image")
    return render(request, "shop/product_list.html", {"products": products, "primary": primary_spec()})


def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(_public_products(), slug=slug)
    images = list(product.images.all())
    imagegen.prefetch_variants(images, "image")
    return render(request, "shop/product_detail.html", {"product": product, "images": images, "primary": primary_spec()})


@lru_cache(maxsize=1)
def _favicon_ico() -> bytes:
    """The shop's mark (a blue rounded square with a white "i"), drawn once with Pillow in the
    sizes browsers ask for: nothing binary in the repository, and no 404 for /favicon.ico."""
    from PIL import Image, ImageDraw

    size = 64
    mark = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(mark)
    draw.rounded_rectangle([2, 2, size - 3, size - 3], radius=14, fill=(59, 91, 219, 255))  # the brand's accent
    draw.ellipse([26, 11, 38, 23], fill="white")
    draw.rounded_rectangle([26, 27, 38, 53], radius=4, fill="white")
    buf = io.BytesIO()
    mark.save(buf, "ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return buf.getvalue()


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_favicon_ico(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response
