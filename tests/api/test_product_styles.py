"""The product styles over the API like any style: cut-outs, marketplace images, and the
smart-crop ``aspect`` option, with clear errors."""
from __future__ import annotations

import pytest

from imagegen.models import Variant
from imagegen.product_styles import ensure_product_styles
from imagegen.variant_requests import VariantRequest

pytestmark = pytest.mark.django_db

API = "/api/imagegen"


def job(client, **body):
    return client.post(f"{API}/jobs/", body, format="json")


@pytest.fixture
def product_styles(db):
    styles, _ = ensure_product_styles()
    return {s.slug: s for s in styles}


def test_product_styles_are_listed_with_their_processors(anon, catalogue, product_styles):
    body = anon.get(f"{API}/styles/").json()
    by_slug = {s["slug"]: s for s in (body["results"] if isinstance(body, dict) else body)}
    assert by_slug["cutout"]["processor"] == "cutout"
    assert by_slug["marketplace"]["processor"] == "background" and by_slug["marketplace"]["parameters"]["fill"] == 0.85
    assert by_slug["square-crop"]["processor"] == "crop"


def test_a_cutout_and_a_marketplace_image_are_requested_like_any_style(requester_client, catalogue, product_styles):
    response = job(requester_client, sources=[catalogue.public_ref], styles=["cutout", "marketplace"], format="png")
    assert response.status_code == 202, response.json()
    rows = {v.style.slug: v for v in Variant.objects.filter(pk__in=[v["id"] for v in response.json()["variants"]])}
    assert rows["cutout"].processor == "cutout" and rows["cutout"].requested_format == "PNG"
    assert rows["marketplace"].processor == "background" and rows["marketplace"].parameters["color"] == "#ffffff"


def test_the_aspect_option_asks_for_a_smart_crop(requester_client, catalogue):
    response = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"], options={"aspect": "16/9"})
    assert response.status_code == 202, response.json()
    (row,) = Variant.objects.filter(pk__in=[v["id"] for v in response.json()["variants"]])
    assert row.parameters["aspect"] == "16:9"


@pytest.mark.parametrize(
    "aspect, message",
    [("wide", "Unknown aspect ratio 'wide'; write it as width:height, e.g. '1:1'"), ("20:1", "too extreme; use one between 1:10 and 10:1")],
)
def test_a_bad_aspect_is_refused_with_what_is_accepted(requester_client, catalogue, aspect, message):
    response = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"], options={"aspect": aspect})
    assert response.status_code == 400
    assert message in str(response.json()["options"]["aspect"]), response.json()
    assert not VariantRequest.objects.exists()
