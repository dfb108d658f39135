"""Shared set-up for integration tests: a demo product, styles, and waiting on rows."""
from __future__ import annotations

import itertools

from django.core.files.base import ContentFile

from imagegen.models import Style, Variant
from shop.catalogue.models import Category, Product, ProductImage

from ..conftest import png_bytes, wait_for

_counter = itertools.count()


def make_product(name: str = "Mug") -> Product:
    n = next(_counter)
    category, _ = Category.objects.get_or_create(name="Mugs", slug="mugs")
    return Product.objects.create(category=category, name=f"{name} {n}", slug=f"{name.lower()}-{n}", price="9.50")


def upload(product: Product, data: bytes | None = None, name: str = "photo.png") -> ProductImage:
    image = ProductImage(product=product)
    image.image.save(name, ContentFile(data if data is not None else png_bytes()), save=True)
    return image


def make_styles() -> dict[str, Style]:
    """The styles shop/catalogue/imagegen.py names, with real reference files."""
    from shop.catalogue.drawing import draw_reference_palette, make_cube_lut
    import io

    buf = io.BytesIO()
    draw_reference_palette("sunset", size=128).save(buf, "PNG")
    # shown on the storefront, as seed_demo's styles are
    sunset = Style(slug="sunset-look", name="Sunset", processor="look", parameters={"method": "reinhard"}, show_on_storefront=True)
    sunset.reference.save("sunset.png", ContentFile(buf.getvalue()), save=True)
    vintage = Style(slug="vintage", name="Vintage", processor="lut", parameters={}, show_on_storefront=True)
    vintage.reference.save("vintage.cube", ContentFile(make_cube_lut("vintage", size=9).encode()), save=True)
    return {"sunset-look": sunset, "vintage": vintage}


def variants_of(image: ProductImage):
    return Variant.objects.for_object(image, "image")


def wait_settled(image: ProductImage, timeout: float = 90) -> list[Variant]:
    """Wait until no current variant of ``image`` is pending or running."""

    def settled():
        rows = list(variants_of(image).current())
        busy = [v for v in rows if v.status in (Variant.Status.PENDING, Variant.Status.RUNNING)]
        return rows if rows and not busy else None

    return wait_for(settled, timeout=timeout, message=f"variants of {image} to settle")
