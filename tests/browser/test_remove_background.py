"""A shop admin removes the background of an ordinary JPEG product photo in a real browser
while a real worker segments and cuts it out; the cut-out is shown on a checkerboard."""
from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User

from shop.catalogue.drawing import draw_product

from .conftest import ARTIFACTS
from ..integration.helpers import make_product, upload, variants_of, wait_settled

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

# The corner and the centre pixel's alpha of the cut-out as the browser decoded it.
ALPHA_PROBE = """img => {
  const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  return [g.getImageData(2, 2, 1, 1).data[3], g.getImageData(c.width >> 1, c.height >> 1, 1, 1).data[3]];
}"""


def test_remove_background_in_the_admin_shows_the_cutout_on_a_checkerboard(live_server, page, screenshot, worker):
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    buffer = io.BytesIO()
    draw_product("shoe", color=(200, 70, 40), size=320, seed=5).save(buffer, "JPEG", quality=92)
    image = upload(make_product("Sneaker"), buffer.getvalue(), name="sneaker.jpg")
    wait_settled(image)  # the upload's registered sketch
    product = image.product

    page.goto(f"{live_server.url}/admin/login/?next=/admin/shop/product/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/shop/product/$"))

    page.check(f'input[name="_selected_action"][value="{product.pk}"]')
    page.select_option('select[name="action"]', "imagegen_remove_background")
    page.click('button[name="index"]')
    assert "Queued 1 cut-out(s) for 1 image(s)." in page.inner_text(".messagelist")

    cutout = variants_of(image).get(style__slug="cutout")
    page.goto(f"{live_server.url}/admin/shop/product/{product.pk}/change/")
    card = page.locator(f'.imagegen-card[data-variant="{cutout.pk}"]')
    card.locator(".st.ready").wait_for(timeout=120_000)  # polled, no reload
    box = card.locator(".ba")
    assert "checker" in box.get_attribute("class")
    assert "linear-gradient" in box.evaluate("el => getComputedStyle(el).backgroundImage")
    after = card.locator("img.after")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=after.element_handle())
    corner, centre = after.evaluate(ALPHA_PROBE)
    assert corner == 0 and centre == 255, (corner, centre)
    # the upload's sketch job found the product; the cut-out reused the stored mask
    assert "product mask" in card.inner_text() and "stored, reused" in card.inner_text()

    # slide to see (almost) the whole cut-out, then look at it
    card.locator("input[type=range]").fill("5")
    card.scroll_into_view_if_needed()
    screenshot("05-remove-background-panel")
    card.screenshot(path=str(ARTIFACTS / "06-cutout-card.png"))
