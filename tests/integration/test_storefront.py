"""The demo storefront (issue 14): product cards show the original photo (or the spec the host
chose as primary), product pages have a thumbnail per image that switches the stage, and
/favicon.ico answers on every page instead of a 404."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from imagegen.models import Variant

from ..conftest import png_bytes
from .helpers import make_product, upload, variants_of

pytestmark = pytest.mark.django_db


def test_favicon_is_served_and_linked(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert "max-age" in response["Cache-Control"]
    icon = Image.open(io.BytesIO(response.content))
    assert icon.format == "ICO" and {(16, 16), (32, 32)} <= set(icon.info["sizes"])
    icon.size = (32, 32)
    pixels = icon.convert("RGBA")
    assert pixels.getpixel((16, 16))[3] == 255  # drawn, not an empty square
    page = client.get("/").content.decode()
    assert '<link rel="icon" href="/favicon.ico"' in page


def test_cards_show_the_original_photo_by_default(client):
    image = upload(make_product("Mug"), png_bytes(size=(200, 200)))
    page = client.get("/").content.decode()
    card = page.split('class="card"', 1)[1].split("</a>", 1)[0]
    assert f'<img src="{image.image.url}"' in card and 'data-imagegen="original"' in card
    assert "sketch" not in card.split('class="chips"')[0]  # the grey sketch is no longer the card's picture


def test_cards_show_the_primary_spec_when_the_host_chooses_one(client, settings):
    settings.SHOP_PRIMARY_SPEC = "sketch"
    image = upload(make_product("Mug"), png_bytes(size=(200, 200)))
    card = lambda: client.get("/").content.decode().split('class="card"', 1)[1].split("</a>", 1)[0]  # noqa: E731
    assert 'data-imagegen="pending"' in card() and image.image.url in card()  # the original while pending
    sketch = variants_of(image).get(spec_name="sketch")
    Variant.objects.filter(pk=sketch.pk).update(
        status=Variant.Status.READY, file="imagegen/variants/ab/cd/sketch.webp", width=200, height=200, format="WEBP", is_published=True
    )
    assert "/media/imagegen/variants/ab/cd/sketch.webp" in card()


def test_product_page_has_a_thumbnail_and_a_switcher_per_image(client):
    product = make_product("Mug")
    images = [upload(product, png_bytes(size=(120, 120), color=color), name=f"v{i}.png")
              for i, color in enumerate([(200, 40, 40, 255), (40, 40, 200, 255)])]
    page = client.get(product.get_absolute_url()).content.decode()
    thumbs = re.findall(r'<button type="button" class="thumb" data-image="(\d)" data-src="([^"]+)"', page)
    assert thumbs == [("0", images[0].image.url), ("1", images[1].image.url)]
    switchers = re.findall(r'<div class="switcher"[^>]*data-image="(\d)"( hidden)?>', page)
    assert switchers == [("0", ""), ("1", " hidden")]
    assert f'<img id="stage" src="{images[0].image.url}"' in page
