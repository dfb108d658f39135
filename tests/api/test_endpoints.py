"""Every route of the imagegen API and its errors, on the demo shop's catalogue."""
from __future__ import annotations

import pytest
from django.test import override_settings

from imagegen.models import Style, Variant
from imagegen.queue import queue_name
from imagegen.variant_requests import VariantRequest

from ..integration.helpers import make_product, upload, variants_of
from .conftest import mark_ready

pytestmark = pytest.mark.django_db

API = "/api/imagegen"


def job(client, **body):
    return client.post(f"{API}/jobs/", body, format="json")


# --- styles -------------------------------------------------------------------------------

def test_styles_lists_active_styles_with_previews_and_image_references(anon, catalogue):
    Style.objects.create(slug="retired", name="Retired", processor="sketch", is_active=False)
    Style.objects.filter(slug="vintage").update(preview="imagegen/previews/vintage-0123.webp")
    response = anon.get(f"{API}/styles/")
    assert response.status_code == 200
    by_slug = {s["slug"]: s for s in response.json()}
    assert set(by_slug) == {"sunset-look", "vintage"}
    assert by_slug["sunset-look"]["processor"] == "look"
    assert by_slug["vintage"]["preview_url"] == "http://testserver/media/imagegen/previews/vintage-0123.webp"
    assert by_slug["sunset-look"]["preview_url"] is None  # not rendered yet (no worker in this test)
    assert by_slug["sunset-look"]["reference_url"].startswith("http://testserver/media/imagegen/styles/")
    assert by_slug["vintage"]["reference_url"] is None  # a .cube LUT is no image


def test_style_detail_and_unknown_style(anon, catalogue):
    assert anon.get(f"{API}/styles/vintage/").json()["name"] == "Vintage"
    assert anon.get(f"{API}/styles/nope/").status_code == 404


# --- variants -----------------------------------------------------------------------------

def test_variant_detail_has_everything_a_client_needs(requester_client, catalogue):
    variant = catalogue.variant(catalogue.public_image)
    body = requester_client.get(f"{API}/variants/{variant.pk}/").json()
    assert body["status"] == "ready" and body["is_published"] is True
    assert body["url"] == "http://testserver/media/imagegen/variants/ab/cd/abcd.webp"
    assert (body["width"], body["height"], body["bytes"], body["format"]) == (160, 120, 2048, "webp")
    assert body["figures"] == {"content_ssim": 0.91}
    assert body["model_version"] == "sketch@engine-1"
    assert body["source"] == catalogue.public_ref and body["source_field"] == "image"
    assert body["source_url"] == f"http://testserver/media/{catalogue.public_image.image.name}"
    assert body["spec"] == "sketch" and body["style"] is None and body["error"] == ""
    for stamp in ("created_at", "updated_at", "started_at", "finished_at"):
        assert body[stamp]


def test_variant_list_filters(requester_client, catalogue):
    def ids(query: str) -> set[int]:
        response = requester_client.get(f"{API}/variants/?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    public = {v.pk for v in variants_of(catalogue.public_image)}
    sketch = catalogue.variant(catalogue.public_image).pk
    assert ids(f"source={catalogue.public_ref}") == public
    assert ids(f"source=shop.productimage.image:{catalogue.public_image.pk}") == public
    assert ids(f"product={catalogue.public_image.product_id}") == public
    assert ids(f"source={catalogue.public_ref}&status=ready&published=true") == {sketch}
    assert ids(f"source={catalogue.public_ref}&style=vintage") == {catalogue.variant(catalogue.public_image, "vintage").pk}
    assert ids(f"source={catalogue.public_ref}&spec=sketch") == {sketch}
    assert ids(f"source={catalogue.public_ref}&format=webp") == public
    assert ids(f"source={catalogue.public_ref}&format=png") == set()


def test_stale_variants_are_listed_only_when_asked_for(requester_client, catalogue):
    stale = catalogue.variant(catalogue.public_image)
    Variant.objects.filter(pk=stale.pk).update(status=Variant.Status.STALE)
    listed = {r["id"] for r in requester_client.get(f"{API}/variants/?source={catalogue.public_ref}").json()["results"]}
    assert stale.pk not in listed
    asked = requester_client.get(f"{API}/variants/?source={catalogue.public_ref}&status=stale").json()["results"]
    assert [r["id"] for r in asked] == [stale.pk]


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("source=shop.productimage", "source", "not a source reference"),
        ("source=shop.nothing:1", "source", "Unknown source 'shop.nothing'"),
        ("source=shop.productimage:abc", "source", "not a valid id"),
        ("source=shop.productimage:99999999999999999999999", "source", "not a valid id"),
        ("product=abc", "product", "not a valid id"),
        ("status=done", "status", "not one of the available choices"),
        ("format=bmp", "format", "not one of the available choices"),
        ("updated_since=yesterday", "updated_since", "valid date"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(requester_client, catalogue, query, field, message):
    response = requester_client.get(f"{API}/variants/?{query}")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])


def test_cursor_pagination_walks_every_variant_once(requester_client, catalogue):
    make_product_visible = catalogue.private_image.product
    make_product_visible.is_public = True
    make_product_visible.save()
    expected = set(Variant.objects.exclude(status=Variant.Status.STALE).values_list("pk", flat=True))
    assert len(expected) == 6
    seen, url = [], f"{API}/variants/?page_size=2"
    while url:
        page = requester_client.get(url).json()
        assert len(page["results"]) <= 2
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == sorted(expected, reverse=True)


def test_unknown_variant_is_404(requester_client, catalogue):
    assert requester_client.get(f"{API}/variants/999999/").status_code == 404


def test_detail_etag_and_last_modified_give_304(requester_client, catalogue):
    url = f"{API}/variants/{catalogue.variant(catalogue.public_image).pk}/"
    first = requester_client.get(url)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    again = requester_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and not again.content
    assert requester_client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    assert requester_client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    # Any change to the representation changes the ETag.
    Variant.objects.filter(pk=catalogue.variant(catalogue.public_image).pk).update(error="note")
    changed = requester_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_a_pending_variant_says_when_to_poll_again(requester_client, catalogue):
    pending = catalogue.variant(catalogue.public_image, "sunset")
    assert pending.status == Variant.Status.PENDING
    with override_settings(IMAGEGEN={"API_RETRY_AFTER": 7}):
        response = requester_client.get(f"{API}/variants/{pending.pk}/")
    assert response.json()["status"] == "pending" and response["Retry-After"] == "7"
    assert "Retry-After" not in requester_client.get(f"{API}/variants/{catalogue.variant(catalogue.public_image).pk}/")


# --- requests for new work ----------------------------------------------------------------

def test_post_jobs_creates_pending_variants_and_answers_202(requester_client, catalogue, requester):
    response = job(
        requester_client,
        sources=[catalogue.public_ref], styles=["vintage", "sunset-look"],
        options={"strength": 0.6, "preserve_colors": True, "preserve_product": "product", "preserve_amount": 0.5},
        format="png", size=256, priority="bulk",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["progress"] == 0.0 and body["counts"]["pending"] == 2
    assert response["Location"] == f"http://testserver{API}/jobs/{body['id']}/" and response["Retry-After"]
    rows = Variant.objects.filter(pk__in=[v["id"] for v in body["variants"]])
    assert {v.style.slug for v in rows} == {"vintage", "sunset-look"}
    for row in rows:
        assert row.status == Variant.Status.PENDING and row.queue == queue_name("bulk")
        assert (row.requested_format, row.max_size) == ("PNG", 256)
        assert row.parameters["strength"] == 0.6 and row.parameters["preserve_colors"] is True
        assert row.parameters["preserve_product"] == "product" and row.parameters["preserve_amount"] == 0.5
    request = VariantRequest.objects.get(pk=body["id"])
    assert request.user == requester and set(request.variants.values_list("pk", flat=True)) == set(rows.values_list("pk", flat=True))


def test_asking_again_returns_the_existing_variant_not_new_work(requester_client, catalogue):
    first = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"], options={"strength": 0.5}).json()
    again = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"], options={"strength": 0.5}).json()
    other = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"], options={"strength": 0.9}).json()
    assert [v["id"] for v in again["variants"]] == [v["id"] for v in first["variants"]]
    assert [v["id"] for v in other["variants"]] != [v["id"] for v in first["variants"]]
    assert again["id"] != first["id"]  # a new request, the same row


def test_a_request_for_finished_variants_is_complete_at_once(requester_client, catalogue, redis_conn, django_capture_on_commit_callbacks):
    first = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"]).json()
    mark_ready(Variant.objects.get(pk=first["variants"][0]["id"]))
    with django_capture_on_commit_callbacks(execute=True):
        again = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"])
    body = requester_client.get(again["Location"]).json()
    assert body["status"] == "ready" and body["progress"] == 1.0 and body["completed_at"]
    assert body["variants"][0]["url"].startswith("http://testserver/media/")


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"styles": ["vintage"]}, "sources", "required"),
        ({"sources": [], "styles": ["vintage"]}, "sources", "may not be empty"),
        ({"sources": ["nonsense"], "styles": ["vintage"]}, "sources", "not a source reference"),
        ({"sources": ["shop.nothing:1"], "styles": ["vintage"]}, "sources", "Unknown source 'shop.nothing'"),
        ({"sources": ["shop.productimage:999999"], "styles": ["vintage"]}, "sources", "no such object"),
        ({"sources": ["{public}"], "styles": ["nope"]}, "styles", "Unknown style 'nope'; active styles: sunset-look, vintage"),
        ({"sources": ["{public}"], "styles": ["vintage"], "format": "bmp"}, "format", "Unknown format 'bmp'"),
        ({"sources": ["{public}"], "styles": ["vintage"], "size": 0}, "size", "greater than or equal to 16"),
        ({"sources": ["{public}"], "styles": ["vintage"], "priority": "now"}, "priority", "not a valid choice"),
        ({"sources": ["{public}"], "styles": ["vintage"], "callback_url": "https://evil.example.com/x"}, "callback_url", "not allowed"),
        ({"sources": ["{public}"], "styles": ["vintage"], "callback_url": "ftp://127.0.0.1/x"}, "callback_url", "http or https"),
    ],
)
def test_bad_requests_answer_400_naming_the_field(requester_client, catalogue, body, field, message):
    body = {k: [x.replace("{public}", catalogue.public_ref) for x in v] if isinstance(v, list) else v for k, v in body.items()}
    response = job(requester_client, **body)
    assert response.status_code == 400
    assert message in str(response.json()[field]), response.json()
    assert not VariantRequest.objects.exists()


def test_malformed_and_unknown_sources_are_all_reported(requester_client, catalogue):
    """Issue 14: with both kinds in one request, only the malformed ones were reported; a client
    fixing those then learnt about the unknown ones on its next try."""
    sources = ["nonsense", "shop.productimage:999999", catalogue.public_ref, "shop.nothing:1", "also bad"]
    response = job(requester_client, sources=sources, styles=["vintage"])
    assert response.status_code == 400
    errors = response.json()["sources"]
    assert len(errors) == 4, errors
    # in the order the client sent them, each naming its source
    assert "'nonsense'" in errors[0] and "not a source reference" in errors[0]
    assert errors[1] == "Unknown source 'shop.productimage:999999': no such object, or you cannot see it."
    assert "Unknown source 'shop.nothing'" in errors[2]
    assert "'also bad'" in errors[3] and "not a source reference" in errors[3]
    assert not VariantRequest.objects.exists()


def test_unknown_and_bad_options_are_field_errors(requester_client, catalogue):
    response = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"], options={"strenght": 0.5, "strength": 3})
    assert response.status_code == 400
    errors = response.json()["options"]
    assert "Unknown option 'strenght'" in errors["strenght"][0]
    assert not Variant.objects.filter(parameters__has_key="strenght").exists()
    response = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"], options={"strength": 3})
    assert "less than or equal to 1" in response.json()["options"]["strength"][0]
    response = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"], options={"preserve_product": "maybe"})
    assert "preserve_product" in response.json()["options"]


def test_too_many_sources_answers_400_with_the_limit(requester_client, catalogue):
    with override_settings(IMAGEGEN={"API_MAX_SOURCES": 2}):
        response = job(requester_client, sources=[catalogue.public_ref] * 3, styles=["vintage"])
    assert response.status_code == 400
    assert response.json()["sources"] == ["At most 2 sources per request (got 3); split the request."]


def test_a_source_without_an_image_is_refused(requester_client, catalogue):
    image = catalogue.public_image
    type(image).objects.filter(pk=image.pk).update(image="")
    response = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"])
    assert response.status_code == 400 and "has no image" in response.json()["sources"][0]


def test_webhooks_must_be_enabled(requester_client, catalogue):
    with override_settings(IMAGEGEN={"WEBHOOK_SECRET": "", "WEBHOOK_ALLOWED_HOSTS": ["127.0.0.1"]}):
        response = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"], callback_url="http://127.0.0.1:9/hook")
    assert response.status_code == 400 and "not enabled" in response.json()["callback_url"][0]


def test_jobs_are_json_only(requester_client, catalogue):
    response = requester_client.post(f"{API}/jobs/", {"sources": catalogue.public_ref, "styles": "vintage"})
    assert response.status_code == 415


def test_job_list_and_detail_show_only_your_own_requests(requester_client, catalogue):
    from .conftest import client_for, make_user

    mine = job(requester_client, sources=[catalogue.public_ref], styles=["vintage"]).json()["id"]
    other_client = client_for(make_user("other", perm=True))
    theirs = job(other_client, sources=[catalogue.public_ref], styles=["sunset-look"]).json()["id"]
    assert [r["id"] for r in requester_client.get(f"{API}/jobs/").json()["results"]] == [mine]
    assert requester_client.get(f"{API}/jobs/{theirs}/").status_code == 404
    detail = requester_client.get(f"{API}/jobs/{mine}/")
    assert detail.status_code == 200 and detail["Retry-After"] and detail["ETag"]
    assert requester_client.get(f"{API}/jobs/{mine}/", HTTP_IF_NONE_MATCH=detail["ETag"]).status_code == 304


# --- the demo shop's nested products endpoint ---------------------------------------------

def test_product_detail_nests_each_images_ready_published_variants(anon, catalogue):
    product = catalogue.public_image.product
    second = upload(product)
    mark_ready(variants_of(second).get(spec_name="sketch"), name="imagegen/variants/ef/01/ef01.webp")
    body = anon.get(f"/api/shop/products/{product.pk}/").json()
    assert body["name"] == product.name and body["category"] == "mugs"
    images = {img["id"]: img for img in body["images"]}
    assert set(images) == {catalogue.public_image.pk, second.pk}
    for image in images.values():
        assert [v["spec"] for v in image["variants"]] == ["sketch"]  # vintage is unpublished, sunset pending
        assert image["variants"][0]["url"].startswith("http://testserver/media/imagegen/variants/")
        assert image["url"].startswith("http://testserver/media/products/")


def test_private_products_are_hidden_from_the_public(anon, catalogue):
    assert anon.get(f"/api/shop/products/{catalogue.private_image.product_id}/").status_code == 404
    listed = [p["id"] for p in anon.get("/api/shop/products/").json()["results"]]
    assert listed == [catalogue.public_image.product_id]


def test_variants_field_can_keep_unpublished_and_select_names(catalogue):
    import imagegen
    from imagegen.api.fields import VariantsField

    image = catalogue.public_image
    imagegen.prefetch_variants([image], "image")
    assert [v["spec"] for v in VariantsField("image").to_representation(image)] == ["sketch"]
    everything = VariantsField("image", published_only=False).to_representation(image)
    assert sorted(v["spec"] for v in everything) == ["sketch", "vintage"]
    assert [v["spec"] for v in VariantsField("image", published_only=False, names=["vintage"]).to_representation(image)] == ["vintage"]


def test_new_products_appear_in_the_api(anon, catalogue):
    product = make_product("Bottle")
    assert any(p["id"] == product.pk for p in anon.get("/api/shop/products/").json()["results"])
