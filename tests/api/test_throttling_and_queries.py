"""Work-creating requests are rate-limited per user; reads cost a constant number of queries."""
from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings

import imagegen
from imagegen.models import Variant
from shop.catalogue.models import ProductImage

from ..integration.helpers import make_product, upload
from .conftest import client_for, make_user

pytestmark = pytest.mark.django_db

API = "/api/imagegen"


def test_work_creating_requests_are_throttled_per_user(catalogue, requester_client):
    body = {"sources": [catalogue.public_ref], "styles": ["vintage"]}
    with override_settings(IMAGEGEN={"API_REQUEST_RATE": "2/hour"}):
        codes = [requester_client.post(f"{API}/jobs/", body, format="json").status_code for _ in range(3)]
        assert codes == [202, 202, 429]
        refused = requester_client.post(f"{API}/jobs/", body, format="json")
        assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
        # Reading is not throttled, and another user has a budget of their own.
        assert requester_client.get(f"{API}/jobs/").status_code == 200
        other = client_for(make_user("other", perm=True))
        assert other.post(f"{API}/jobs/", body, format="json").status_code == 202


def test_no_rate_means_no_limit(catalogue, requester_client):
    body = {"sources": [catalogue.public_ref], "styles": ["vintage"]}
    with override_settings(IMAGEGEN={"API_REQUEST_RATE": None}):
        assert {requester_client.post(f"{API}/jobs/", body, format="json").status_code for _ in range(4)} == {202}


def _variants(count: int) -> None:
    """``count`` ready variants spread over images of a few products (rows written directly)."""
    content_type = ContentType.objects.get_for_model(ProductImage)
    images = [upload(make_product("Tee")) for _ in range(max(1, count // 10))]
    Variant.objects.bulk_create(
        Variant(
            content_type=content_type, object_id=str(images[i % len(images)].pk), field_name="image",
            source_hash=f"{i:064x}", spec_name="sketch", processor="sketch", spec_hash=f"{i:064x}",
            requested_format="WEBP", status=Variant.Status.READY, is_published=True,
            file=f"imagegen/variants/{i}.webp", width=10, height=10, file_size=100, format="WEBP",
        )
        for i in range(count)
    )


def _count_queries(client, url: str, django_assert_max_num_queries) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("who", ["anonymous", "user", "staff"])
def test_a_page_of_100_variants_costs_as_many_queries_as_a_page_of_10(db, who, django_assert_max_num_queries):
    client = client_for(None if who == "anonymous" else make_user(who, staff=who == "staff"))
    _variants(10)
    small = _count_queries(client, f"{API}/variants/?page_size=100", django_assert_max_num_queries)
    _variants(90)
    response = client.get(f"{API}/variants/?page_size=100")
    assert len(response.json()["results"]) == 100
    with django_assert_max_num_queries(small):
        client.get(f"{API}/variants/?page_size=100")
    # The page itself, the sources (one query per source model) and nothing per row.
    assert small <= 4, small


def test_products_with_their_variants_cost_a_constant_number_of_queries(db, django_assert_max_num_queries):
    from rest_framework.test import APIClient

    client = APIClient()
    _variants(20)
    with django_assert_max_num_queries(5):  # count, products+category, images, variants
        first = client.get("/api/shop/products/?page_size=100")
    _variants(100)
    with django_assert_max_num_queries(5):
        second = client.get("/api/shop/products/?page_size=100")
    assert len(second.json()["results"]) > len(first.json()["results"])
    assert all(image["variants"] for product in second.json()["results"] for image in product["images"])


def test_job_detail_costs_a_constant_number_of_queries(catalogue, requester_client, django_assert_max_num_queries):
    images = [upload(make_product("Cap")) for _ in range(6)]
    refs = [f"shop.productimage:{image.pk}" for image in images]
    made = requester_client.post(f"{API}/jobs/", {"sources": refs, "styles": ["vintage", "sunset-look"]}, format="json").json()
    assert len(made["variants"]) == 12
    with django_assert_max_num_queries(2):  # the request, its variants (styles joined)
        body = requester_client.get(f"{API}/jobs/{made['id']}/").json()
    assert body["counts"]["pending"] == 12


def test_prefetch_helper_makes_the_variants_field_query_free(catalogue, django_assert_num_queries):
    from imagegen.api.fields import VariantsField

    images = list(ProductImage.objects.all())
    imagegen.prefetch_variants(images, "image")
    with django_assert_num_queries(0):
        for image in images:
            VariantsField("image").to_representation(image)
