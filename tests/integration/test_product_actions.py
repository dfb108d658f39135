"""The admin's "Remove background" and "Marketplace image" actions and the built-in product
styles (queueing checked on real Redis; rendering is in test_product_images.py)."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from imagegen.models import Style, Variant
from imagegen.product_styles import PRODUCT_STYLES
from imagegen.queue import get_queue

from .helpers import make_product, upload, variants_of

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit enqueues must run


def changelist_post(client, action: str, ids):
    url = reverse("admin:shop_product_changelist")
    return client.post(url, {"action": action, "_selected_action": [str(i) for i in ids]}, follow=True)


@pytest.fixture
def images(redis_conn):
    made = [upload(make_product(f"Lamp{i}")) for i in range(2)]
    for queue in ("high", "default", "bulk"):
        get_queue(queue).empty()  # the uploads' own jobs and style previews: not what is tested
    return made


def test_product_styles_command_is_idempotent_and_keeps_admin_edits():
    out = __import__("io").StringIO()
    call_command("imagegen_product_styles", stdout=out)
    assert f"{len(PRODUCT_STYLES)} created" in out.getvalue()
    styles = {s.slug: s for s in Style.objects.filter(slug__in=[p.slug for p in PRODUCT_STYLES])}
    assert styles["cutout"].processor == "cutout" and styles["cutout"].name == "Cut-out"
    market = styles["marketplace"]
    assert market.processor == "background"
    assert market.parameters["color"] == "#ffffff" and market.parameters["fill"] == 0.85 and market.parameters["aspect"] == "1:1"
    assert styles["square-crop"].processor == "crop" and styles["square-crop"].parameters == {"aspect": "1:1"}
    assert {slug for slug, s in styles.items() if s.show_on_storefront} == {"cutout", "marketplace"}  # the demo's specs

    Style.objects.filter(slug="cutout").update(name="Freisteller", is_active=False)  # an admin's edits
    Style.objects.filter(slug="marketplace").update(processor="look")  # the slug is ours: put back
    out = __import__("io").StringIO()
    call_command("imagegen_product_styles", stdout=out)
    assert f"0 created, {len(PRODUCT_STYLES)} already there" in out.getvalue()
    assert Style.objects.get(slug="cutout").name == "Freisteller" and not Style.objects.get(slug="cutout").is_active
    assert Style.objects.get(slug="marketplace").processor == "background"


def test_every_product_style_passes_the_engines_validation():
    from imagegen.engine import validate
    from imagegen.product_styles import ensure_product_styles

    styles, _ = ensure_product_styles()
    for style in styles:
        assert validate(style.processor, style.parameters), style.slug


def test_remove_background_queues_a_webp_cutout_per_image_on_the_high_queue(admin_client, images):
    done = changelist_post(admin_client, "imagegen_remove_background", [img.product.pk for img in images])
    assert b"Queued 2 cut-out(s) for 2 image(s)." in done.content
    for image in images:
        row = variants_of(image).get(style__slug="cutout")
        assert (row.status, row.queue, row.processor, row.requested_format) == (Variant.Status.PENDING, "imagegen-high", "cutout", "WEBP")
    assert get_queue("high").count == 2 and get_queue("default").count == 0

    again = changelist_post(admin_client, "imagegen_remove_background", [images[0].product.pk])
    assert b"Queued 0 cut-out(s) for 1 image(s); 1 already existed." in again.content


def test_marketplace_image_queues_a_large_jpeg(admin_client, images):
    done = changelist_post(admin_client, "imagegen_marketplace", [images[0].product.pk])
    assert b"Queued 1 marketplace image(s) for 1 image(s)." in done.content
    row = variants_of(images[0]).get(style__slug="marketplace")
    assert (row.queue, row.processor, row.requested_format, row.max_size, row.quality) == ("imagegen-high", "background", "JPEG", 2000, 90)
    assert row.parameters["fill"] == 0.85
    assert get_queue("high").count == 1


def test_a_switched_off_product_style_is_not_used(admin_client, images):
    call_command("imagegen_product_styles", "--inactive", stdout=__import__("io").StringIO())
    done = changelist_post(admin_client, "imagegen_marketplace", [images[0].product.pk])
    assert b"is switched off; activate it under Styles first." in done.content
    assert not variants_of(images[0]).filter(style__slug="marketplace").exists()


def test_cutout_cards_sit_on_a_checkerboard(admin_client, images):
    changelist_post(admin_client, "imagegen_remove_background", [images[0].product.pk])
    page = admin_client.get(reverse("admin:shop_product_change", args=[images[0].product.pk]))
    html = page.content.decode()
    assert 'class="ba checker"' in html  # the cut-out's card
    assert html.count('class="ba"') == 1  # the sketch's card: no checkerboard
