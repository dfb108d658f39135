"""A shop admin in a real browser, with a real worker: fills in a style with generated fields,
sees every style's preview in the list and in the "Restyle with…" picker, zooms into a
result, and approves it on the "Awaiting approval" page with the keyboard."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from imagegen.models import Style, Variant

from ..conftest import png_bytes, wait_for
from ..integration.helpers import make_product, make_styles, upload, variants_of, wait_settled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def log_in(page, live_server, next_url: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_url) + "$"))


def all_previews_rendered() -> bool:
    return not Style.objects.filter(preview="", preview_error="").exists()


def test_style_form_gallery_picker_zoom_and_approval(live_server, page, screenshot, worker):
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    styles = make_styles()
    images = [upload(make_product(name), png_bytes(size=(320, 320), color=color)) for name, color in (
        ("Mug", (200, 60, 40, 255)), ("Bottle", (40, 90, 200, 255)))]  # fmt: skip
    for image in images:
        wait_settled(image)

    # --- the style form: generated fields for the chosen processor only ---------------------
    log_in(page, live_server, "/admin/imagegen/style/add/")
    page.select_option("#id_processor", "sketch")
    assert page.is_visible("fieldset.imagegen-params-sketch") and not page.is_visible("fieldset.imagegen-params-look")
    assert page.is_visible("fieldset.imagegen-params-generic")  # strength etc. mean something for a sketch
    assert "Pencil sketch" in page.inner_text("#imagegen-processor-description")
    sigma = page.locator("#id_param__sketch__sigma")
    assert sigma.get_attribute("type") == "number" and sigma.get_attribute("max")
    assert not page.is_visible("#id_parameters")  # raw JSON stays under the collapsed "Advanced"
    page.fill("#id_name", "Soft pencil")
    page.fill("#id_param__sketch__sigma", "3")
    page.check("#id_show_on_storefront")
    screenshot("gallery-01-style-form")
    page.select_option("#id_processor", "enhance")
    assert not page.is_visible("fieldset.imagegen-params-generic")  # meaningless for a 4x upscale
    page.select_option("#id_processor", "sketch")
    page.click('input[name="_save"]')
    page.wait_for_url(re.compile(r"/admin/imagegen/style/$"))
    soft = Style.objects.get(name="Soft pencil")
    assert soft.parameters == {"sigma": 3.0} and soft.show_on_storefront

    # --- the style list: a preview per style, rendered by the worker -------------------------
    wait_for(all_previews_rendered, timeout=120, message="every style preview")
    page.reload()
    thumbs = page.locator('td.field-preview_image img, th.field-preview_image img')
    assert thumbs.count() == Style.objects.count()
    page.wait_for_function("Array.from(document.querySelectorAll('.field-preview_image img')).every(i => i.complete && i.naturalWidth > 0)")
    screenshot("gallery-02-style-list")

    # --- the picker: preview cards, product-faithful first ----------------------------------
    page.goto(f"{live_server.url}/admin/shop/product/")
    for image in images:
        page.check(f'input[name="_selected_action"][value="{image.product.pk}"]')
    page.select_option('select[name="action"]', "imagegen_restyle")
    page.click('button[name="index"]')
    page.wait_for_selector("#imagegen-picker")
    groups = page.locator("#imagegen-picker h3").all_inner_texts()
    assert groups == ["Product-faithful looks and backgrounds", "Artistic styles"]
    assert page.locator('#imagegen-picker label.card[data-style="soft-pencil"] img').count() == 1
    page.wait_for_function("Array.from(document.querySelectorAll('#imagegen-picker img')).every(i => i.complete && i.naturalWidth > 0)")
    page.click('#imagegen-picker label.card[data-style="soft-pencil"]')
    assert page.is_checked(f'input[name="styles"][value="{soft.pk}"]')
    screenshot("gallery-03-restyle-picker")
    page.click('#imagegen-restyle input[type="submit"]')
    assert "Queued 2 new variant(s) for 2 image(s)" in page.inner_text(".messagelist")

    # --- the variants panel: grouped by image, plain figures, click to zoom ------------------
    first = images[0]
    page.goto(f"{live_server.url}/admin/shop/product/{first.product.pk}/change/")
    variant = wait_for(lambda: variants_of(first).filter(style=soft).first(), timeout=10)
    card = page.locator(f'.imagegen-card[data-variant="{variant.pk}"]')
    card.locator(".st.ready").wait_for(timeout=60_000)
    assert str(first) in page.inner_text(".imagegen-source-title")
    figures = card.locator(".figs").inner_text()
    assert "product shape kept" in figures and "%" in figures
    assert card.locator(".figs dd").first.get_attribute("title").startswith(("product_delta_e", "content_ssim"))
    card.locator(".pub", has_text="awaiting approval").wait_for()
    screenshot("gallery-04-variants-panel")
    card.locator(".ba").click()
    zoom = page.locator("#imagegen-zoom")
    zoom.wait_for(state="visible")
    page.wait_for_function("document.querySelector('#imagegen-zoom img').complete && document.querySelector('#imagegen-zoom img').naturalWidth > 0")
    assert zoom.locator("img").get_attribute("src").endswith(".webp")
    screenshot("gallery-05-zoom")
    page.keyboard.press("o")
    assert zoom.locator("img").get_attribute("src") == first.image.url
    page.keyboard.press("Escape")
    assert not zoom.is_visible()

    # --- awaiting approval: keyboard review ---------------------------------------------------
    wait_for(lambda: variants_of(images[1]).filter(style=soft, status=Variant.Status.READY).exists(), timeout=60)
    page.goto(f"{live_server.url}/admin/imagegen/variant/")
    page.click("text=Awaiting approval (2)")
    page.wait_for_selector("#imagegen-review .item")
    page.wait_for_function("Array.from(document.querySelectorAll('#imagegen-review img')).every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("#imagegen-review .item").count() == 2
    screenshot("gallery-06-awaiting-approval")
    page.keyboard.press("x")  # select the first
    page.keyboard.press("j")
    page.keyboard.press("x")  # and the second
    assert page.inner_text("#imagegen-review .count") == "2 selected"
    page.keyboard.press("a")
    page.wait_for_selector(".messagelist")
    assert "Approved and published 2 variant(s)." in page.inner_text(".messagelist")
    assert Variant.objects.filter(style=soft, is_published=True).count() == 2
    screenshot("gallery-07-approved")

    # The shopper now sees the approved style in the switcher, with a thumbnail.
    page.goto(f"{live_server.url}{first.product.get_absolute_url()}")
    button = page.locator('.switcher button[data-style="soft-pencil"]')
    assert button.inner_text().strip() == "Soft pencil"
    assert button.locator("img.swatch").count() == 1
    screenshot("gallery-08-storefront-switcher")

    # --- the variant admin: the source as the shop knows it, images first -------------------
    page.goto(f"{live_server.url}/admin/imagegen/variant/")
    row = page.locator("#result_list tbody tr").first
    assert row.locator("td.field-source_label a").inner_text() in {str(i) for i in images}
    assert "shop.productimage:" not in page.inner_text("#result_list")
    filters = page.inner_text("#changelist-filter")
    assert "Product image (image)" in filters and "content type" not in filters.lower()
    screenshot("gallery-09-variant-list")
    approved = Variant.objects.filter(style=soft).first()
    page.goto(f"{live_server.url}/admin/imagegen/variant/{approved.pk}/change/")
    first_row = page.locator("fieldset").first.locator(".form-row").first
    assert "field-before_after" in first_row.get_attribute("class")
    assert not page.is_visible("text=Spec hash")  # technical details stay folded away
    screenshot("gallery-10-variant-detail")
