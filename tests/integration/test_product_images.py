"""Cut-outs and marketplace images from a real worker: the product mask computed once per
source content (ProductMask), reused by later variants, skipped for transparent uploads,
and bad input failing only the variants that need a product."""
from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image

from imagegen.models import ProductMask, Variant
from imagegen.product_styles import ensure_product_styles
from imagegen.requests import request_variants
from shop.catalogue.drawing import draw_product

from ..conftest import png_bytes, wait_for
from .helpers import make_product, upload, variants_of, wait_settled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def pixels(variant: Variant) -> np.ndarray:
    with default_storage.open(variant.file.name, "rb") as stream:
        return np.asarray(Image.open(io.BytesIO(stream.read())).convert("RGBA"))


def corners(array: np.ndarray, size: int = 6) -> np.ndarray:
    return np.concatenate([array[:size, :size], array[:size, -size:], array[-size:, :size], array[-size:, -size:]]).reshape(-1, 4)


def ready(rows: list[Variant], name: str, worker) -> Variant:
    variant = next(v for v in rows if v.spec_name == name)
    assert variant.status == Variant.Status.READY, (name, variant.error, worker.output()[-3000:])
    return variant


def test_an_opaque_jpeg_gets_a_cutout_and_a_marketplace_image_from_one_segmentation(worker):
    ensure_product_styles()
    data = jpeg(draw_product("mug", color=(30, 90, 200), size=256, seed=3))
    image = upload(make_product(), data, name="mug.jpg")

    rows = wait_settled(image, timeout=180)

    cutout, market, sketch = (ready(rows, name, worker) for name in ("cutout", "marketplace", "sketch"))
    cut = pixels(cutout)
    assert cutout.format == "WEBP" and (cut.shape[1], cut.shape[0]) == (256, 256)
    assert corners(cut)[:, 3].max() < 16, "the backdrop around the product is transparent"
    assert cut[128, 128, 3] > 240, "the product itself is opaque"
    transparent = float((cut[:, :, 3] < 16).mean())
    assert 0.25 < transparent < 0.9, transparent

    square = pixels(market)
    assert square.shape[0] == square.shape[1], "the marketplace frame is square"
    assert (corners(square)[:, :3] >= 250).all(), "on white"

    # One segmentation for the content, shared by every variant of the job
    (mask,) = ProductMask.objects.filter(source_hash=image_hash(image))
    assert (mask.width, mask.height) == (256, 256) and 0.1 < mask.coverage < 0.75
    assert mask.segmenter.startswith("u2netp")
    for variant in (cutout, market, sketch):
        assert variant.timings["mask_cached"] is False and variant.timings["mask_ms"] >= 0
    assert mask_png_matches(mask)

    # A variant asked for later reuses the stored mask
    (white,), _ = ensure_product_styles(["white-background"])
    (later,) = request_variants(image, "image", [white], format="png", size=256, queue="high")
    later = wait_for(lambda: _settled(later), timeout=120, message="the later variant")
    assert later.status == Variant.Status.READY, (later.error, worker.output()[-3000:])
    assert later.timings["mask_cached"] is True
    assert ProductMask.objects.filter(source_hash=image_hash(image)).count() == 1
    # the original upload is untouched
    assert default_storage.open(image.image.name).read() == data


def test_a_transparent_png_uses_its_alpha_and_makes_no_mask(worker):
    ensure_product_styles(["cutout"])
    image = upload(make_product(), png_bytes(size=(120, 90)), name="cup.png")

    rows = wait_settled(image, timeout=120)

    cut = pixels(ready(rows, "cutout", worker))
    assert corners(cut)[:, 3].max() == 0 and cut[45, 60, 3] == 255
    assert not ProductMask.objects.exists()
    assert "mask_ms" not in ready(rows, "sketch", worker).timings


def test_no_product_fails_the_cutout_with_a_message_and_keeps_the_rest(worker):
    ensure_product_styles(["cutout"])
    photos = {
        "all-white": jpeg(Image.new("RGB", (200, 160), (255, 255, 255))),
        "tiny": jpeg(Image.new("RGB", (6, 6), (200, 30, 30))),
    }
    images = {name: upload(make_product(), data, name=f"{name}.jpg") for name, data in photos.items()}

    for name, image in images.items():
        rows = wait_settled(image, timeout=120)
        cutout = next(v for v in rows if v.spec_name == "cutout")
        assert cutout.status == Variant.Status.FAILED, name
        assert cutout.error.startswith("No product found in this photo") and "The original image is unchanged." in cutout.error
        assert ready(rows, "sketch", worker).file  # a restyle does not need the product
        assert default_storage.open(image.image.name).read() == photos[name]


def image_hash(image) -> str:
    return variants_of(image).first().source_hash


def mask_png_matches(mask: ProductMask) -> bool:
    with default_storage.open(mask.file.name, "rb") as stream:
        png = Image.open(io.BytesIO(stream.read()))
        return png.mode == "L" and png.size == (mask.width, mask.height)


def _specs_settled(image, names: set[str]) -> list[Variant] | None:
    rows = [v for v in variants_of(image).current() if v.spec_name in names]
    done = {v.spec_name for v in rows if v.status in (Variant.Status.READY, Variant.Status.FAILED)}
    return rows if done == names else None


def _settled(variant: Variant) -> Variant | None:
    variant.refresh_from_db()
    return variant if variant.status in (Variant.Status.READY, Variant.Status.FAILED) else None


def test_seed_demo_from_a_folder_of_the_shops_own_jpegs(start_worker, product_photos, tmp_path):
    """The shop's own photos, as JPEGs: the shared product photos put on white and on a photo."""
    worker = start_worker("imagegen-high", "imagegen")  # not the bulk queue: seed_demo's 31 style previews are not tested here
    from django.core.management import call_command

    from shop.catalogue.models import ProductImage

    gravel = product_photos[0].parent.parent / "backgrounds" / "gravel.png"  # a floor: nothing salient on it
    if not gravel.exists():
        pytest.skip(f"{gravel} not found")
    backdrop = Image.open(gravel).convert("RGB")
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, photo, ground in (("hoodie-on-white", "saleor-blue-hoodie.png", None), ("beanie-on-photo", "saleor-beanie-2.png", backdrop)):
        product = Image.open(product_photos[0].parent / photo).convert("RGBA")
        product.thumbnail((220, 220))
        frame = Image.new("RGB", (300, 260), (255, 255, 255)) if ground is None else ground.resize((300, 260))
        frame.paste(product, ((300 - product.width) // 2, (260 - product.height) // 2), product)
        frame.save(folder / f"{name}.jpg", "JPEG", quality=90)

    call_command("seed_demo", "--from-folder", str(folder), stdout=io.StringIO())

    specs = {"sketch", "sunset", "vintage", "cutout", "marketplace"}
    for image in ProductImage.objects.filter(product__slug__in=["hoodie-on-white", "beanie-on-photo"]):
        # only the registered specs: style previews may use a catalogue photo as their sample
        rows = wait_for(lambda: _specs_settled(image, specs), timeout=180, message=f"the variants of {image}")
        cut = pixels(ready(rows, "cutout", worker))
        assert corners(cut)[:, 3].max() < 16 and cut[130, 150, 3] > 200, (image.product.slug, corners(cut)[:, 3])
        square = pixels(ready(rows, "marketplace", worker))
        assert square.shape[0] == square.shape[1] and (corners(square)[:, :3] >= 250).all()
        for name in ("sunset", "vintage"):  # product-faithful looks: the product keeps its colours
            assert ready(rows, name, worker).metrics["product_delta_e"] < 8, (name, ready(rows, name, worker).metrics)
    assert ProductMask.objects.count() == 2
