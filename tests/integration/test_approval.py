"""Publishing only what was approved: ad-hoc work (admin restyles, API requests) waits for an
admin, registered specs follow AUTO_PUBLISH, and the "Awaiting approval" page approves or
rejects in bulk. The storefront switcher lists only styles an admin chose to show."""
from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse
from rest_framework.test import APIClient

from imagegen.jobs import auto_publish
from imagegen.models import Style, Variant
from imagegen.prefetch import prefetch_variants

from .helpers import make_product, make_styles, upload, variants_of, wait_settled

pytestmark = pytest.mark.django_db(transaction=True)

REVIEW = "admin:imagegen_variant_review"


def restyle(client, product, style: Style, **extra):
    return client.post(
        reverse("admin:shop_product_changelist"),
        {"action": "imagegen_restyle", "_selected_action": [str(product.pk)], "apply": "1", "styles": [style.pk],
         "strength": "1", "format": "webp", "priority": "high", "preserve_product": "off", **extra},
        follow=True,
    )  # fmt: skip


@pytest.mark.worker
def test_an_admin_restyle_and_an_api_request_wait_for_approval_while_registered_specs_publish(admin_client, admin_user, worker):
    styles = make_styles()
    image = upload(make_product("Mug"))
    registered = wait_settled(image)
    assert {"sketch", "sunset", "vintage"} <= {v.spec_name for v in registered}
    assert all(v.status == Variant.Status.READY and v.is_published for v in registered)  # AUTO_PUBLISH (default True)

    sketchy = Style.objects.create(slug="soft-sketch", name="Soft sketch", processor="sketch", parameters={"sigma": 2.0})
    page = restyle(admin_client, image.product, sketchy)
    assert b"Queued 1 new variant(s)" in page.content
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.post("/api/imagegen/jobs/", {"sources": [f"shop.productimage:{image.pk}"], "styles": ["vintage"], "options": {"strength": 0.5}}, format="json")
    assert response.status_code in (201, 202), response.json()

    rows = wait_settled(image)
    adhoc = [v for v in rows if v.origin == Variant.Origin.REQUEST]
    assert {(v.spec_name, v.parameters.get("strength")) for v in adhoc} == {("soft-sketch", None), ("vintage", 0.5)}
    assert all(v.status == Variant.Status.READY and not v.is_published for v in adhoc), [(v.status, v.error) for v in adhoc]

    # Both wait on the review page, with the original beside them; approving one publishes it.
    review = admin_client.get(reverse(REVIEW))
    html = review.content.decode()
    assert "2 variants await approval" in html
    for v in adhoc:
        assert f'data-variant="{v.pk}"' in html and v.url in html
    assert image.image.url in html
    restyled = next(v for v in adhoc if v.spec_name == "soft-sketch")
    admin_client.post(reverse(REVIEW), {"ids": [restyled.pk], "decision": "approve"})
    restyled.refresh_from_db()
    assert restyled.is_published and restyled.review == Variant.Review.APPROVED
    assert "1 variant awaits approval" in admin_client.get(reverse(REVIEW)).content.decode()


def test_registered_specs_follow_auto_publish_and_requests_publish_requests(settings):
    spec = Variant(origin=Variant.Origin.SPEC)
    request = Variant(origin=Variant.Origin.REQUEST)
    rejected = Variant(origin=Variant.Origin.SPEC, review=Variant.Review.REJECTED)
    assert (auto_publish(spec), auto_publish(request), auto_publish(rejected)) == (True, False, False)
    settings.IMAGEGEN = {**settings.IMAGEGEN, "AUTO_PUBLISH": False, "PUBLISH_REQUESTS": True}
    assert (auto_publish(spec), auto_publish(request), auto_publish(rejected)) == (False, True, False)


def test_the_review_page_approves_and_rejects_in_bulk(admin_client, redis_conn):
    make_styles()
    images = [upload(make_product(f"Tee{i}")) for i in range(2)]
    rows = [v for image in images for v in variants_of(image)]
    Variant.objects.filter(pk__in=[v.pk for v in rows]).update(status=Variant.Status.READY, is_published=False, file="imagegen/variants/x.webp")
    page = admin_client.get(reverse(REVIEW))
    assert "6 variants await approval" in page.content.decode()

    sketch_ids = [v.pk for v in rows if v.spec_name == "sketch"]
    other_ids = [v.pk for v in rows if v.spec_name != "sketch"]
    done = admin_client.post(reverse(REVIEW), {"ids": sketch_ids, "decision": "approve"}, follow=True)
    assert b"Approved and published 2 variant(s)." in done.content
    done = admin_client.post(reverse(REVIEW), {"ids": other_ids, "decision": "reject"}, follow=True)
    assert b"Rejected 4 variant(s)" in done.content and b"Nothing awaits approval" in done.content
    assert set(Variant.objects.filter(is_published=True).values_list("pk", flat=True)) == set(sketch_ids)
    assert set(Variant.objects.filter(review=Variant.Review.REJECTED).values_list("pk", flat=True)) == set(other_ids)
    # the variants list links to the page with the count
    assert b"Awaiting approval (0)" in admin_client.get(reverse("admin:imagegen_variant_changelist")).content


def test_the_review_page_is_for_staff_who_may_change_variants(client, redis_conn):
    from django.contrib.auth.models import Permission, User

    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_variant"))
    client.force_login(viewer)
    assert client.get(reverse(REVIEW)).status_code == 200
    assert client.post(reverse(REVIEW), {"ids": [1], "decision": "approve"}).status_code == 403


def test_the_storefront_switcher_lists_only_styles_shown_on_the_storefront(redis_conn):
    styles = make_styles()
    experiment = Style.objects.create(slug="experiment", name="Experiment", processor="sketch", parameters={"sigma": 3.0})
    image = upload(make_product("Lamp"))
    from imagegen.requests import request_variants

    request_variants(image, "image", [experiment])
    Variant.objects.filter(pk__in=variants_of(image)).update(status=Variant.Status.READY, is_published=True, file="imagegen/variants/y.webp")
    prefetch_variants([image], "image")
    names = Template("{% load imagegen %}{% imagegen_ready image.image as ready %}{% for v in ready %}{{ v.spec_name }} {% endfor %}").render(
        Context({"image": image})
    ).split()
    assert "experiment" not in names and {"sketch", "sunset", "vintage"} <= set(names)  # published, but an experiment
    Style.objects.filter(pk=styles["vintage"].pk).update(show_on_storefront=False)
    image = type(image).objects.get(pk=image.pk)
    prefetch_variants([image], "image")
    names = Template("{% load imagegen %}{% imagegen_ready image.image as ready %}{% for v in ready %}{{ v.spec_name }} {% endfor %}").render(
        Context({"image": image})
    ).split()
    assert "vintage" not in names and {"sketch", "sunset"} <= set(names)


def test_applying_a_style_to_the_catalogue_is_ad_hoc_work_but_warming_registered_specs_is_not(redis_conn):
    from imagegen.warm import warm

    styles = make_styles()
    image = upload(make_product("Cap"))
    extra = Style.objects.create(slug="wash", name="Wash", processor="watercolor")
    warm("shop.productimage.image:*", styles=[extra], mode="missing")
    assert variants_of(image).get(style=extra).origin == Variant.Origin.REQUEST  # waits for approval
    assert variants_of(image).get(spec_name="vintage", style=styles["vintage"]).origin == Variant.Origin.SPEC
