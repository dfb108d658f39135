"""A shop admin restyles two products in a real browser while a real worker renders them,
then a shopper switches styles on the storefront."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from imagegen.models import Variant

from ..conftest import png_bytes
from ..integration.helpers import make_product, make_styles, upload, variants_of, wait_settled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_admin_restyles_two_products_and_the_storefront_switches_styles(live_server, page, screenshot, worker):
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    styles = make_styles()
    images = [upload(make_product(name), png_bytes(size=(320, 320), color=color)) for name, color in (
        ("Mug", (200, 60, 40, 255)), ("Bottle", (40, 90, 200, 255)), ("Shoe", (30, 160, 90, 255)))]
    for image in images:
        wait_settled(image)  # the registered variants of the upload
    first, second = images[0].product, images[1].product

    # Log in.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/shop/product/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/shop/product/$"))

    # Select two products and run "Restyle with…".
    for product in (first, second):
        page.check(f'input[name="_selected_action"][value="{product.pk}"]')
    page.select_option('select[name="action"]', "imagegen_restyle")
    page.click('button[name="index"]')
    page.wait_for_selector("#imagegen-restyle")
    page.check(f'input[name="styles"][value="{styles["vintage"].pk}"]')
    page.fill("#id_strength", "0.8")
    screenshot("01-restyle-form")
    page.click('#imagegen-restyle input[type="submit"]')
    assert "Queued 2 new variant(s) for 2 image(s) on imagegen-high" in page.inner_text(".messagelist")

    # The product page shows the new variant turn ready without a reload (polling).
    page.goto(f"{live_server.url}/admin/shop/product/{first.pk}/change/")
    vintage = variants_of(images[0]).get(spec_name="vintage", parameters__strength=0.8)
    card = page.locator(f'.imagegen-card[data-variant="{vintage.pk}"]')
    card.locator('.st.ready').wait_for(timeout=60_000)
    assert card.get_attribute("data-status") == "ready"
    assert "/media/imagegen/variants/" in card.locator("img.after").get_attribute("src")
    screenshot("02-product-variants-ready")
    for image in images[:2]:
        assert variants_of(image).get(spec_name="vintage", parameters__strength=0.8).status == Variant.Status.READY

    # The storefront detail page: switch styles and see the picture change.
    page.goto(f"{live_server.url}{first.get_absolute_url()}")
    stage = page.locator("#stage")
    original = stage.get_attribute("src")
    buttons = page.locator(".switcher button")
    labels = buttons.all_inner_texts()
    assert "Original" in labels and "Vintage" in labels and "Sketch" in labels
    page.click('.switcher button[data-style="vintage"]')
    assert stage.get_attribute("data-style") == "vintage"
    assert stage.get_attribute("src") != original and stage.get_attribute("src").endswith(".webp")
    page.wait_for_function("document.getElementById('stage').complete && document.getElementById('stage').naturalWidth > 0")
    assert page.locator('.switcher button[data-style="vintage"]').get_attribute("aria-pressed") == "true"
    screenshot("03-storefront-vintage")

    # The product list shows every product's photo (not a grey sketch), and names its ready variants.
    page.goto(live_server.url + "/")
    assert page.locator(".card").count() == 3
    assert page.locator('.card img[data-imagegen="original"]').count() == 3
    assert page.locator(".card .chip", has_text="sketch").count() == 3
    screenshot("04-storefront-list")
