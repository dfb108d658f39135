"""Issue 14 in a real browser (no worker needed): the storefront's cards show the photos and
its thumbnails switch the stage, no page asks for a missing favicon, Redoc loads nothing from
other hosts, and the training loss chart's legend fits on a narrow page."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User

from imagegen.training.models import TrainingRun

from ..conftest import png_bytes
from ..integration.helpers import make_product, upload

pytestmark = [pytest.mark.django_db(transaction=True)]


def record(page) -> dict[str, list]:
    """Every response's (status, url), every request's url and failed requests, as they happen."""
    seen: dict[str, list] = {"responses": [], "requests": [], "failed": []}
    page.on("response", lambda r: seen["responses"].append((r.status, r.url)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("requestfailed", lambda r: seen["failed"].append((r.url, r.failure or "")))
    return seen


def loaded(page, selector: str) -> bool:
    return page.evaluate(
        "s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)", selector
    )


def test_storefront_cards_thumbnails_and_favicon(live_server, page, screenshot):
    product = make_product("Bottle")
    front = upload(product, png_bytes(size=(320, 320), color=(200, 60, 40, 255)), name="front.png")
    side = upload(product, png_bytes(size=(320, 320), color=(40, 90, 200, 255)), name="side.png")
    other = upload(make_product("Mug"), png_bytes(size=(320, 320), color=(30, 160, 90, 255)))
    seen = record(page)

    page.goto(live_server.url + "/")
    page.wait_for_load_state("networkidle")
    cards = page.locator(".card .media img")
    assert cards.count() == 2
    sources = {urlsplit(cards.nth(i).get_attribute("src")).path for i in range(2)}
    assert sources == {front.image.url, other.image.url}  # the photos, not the grey sketches
    assert loaded(page, ".card .media img")
    screenshot("storefront-01-cards-show-photos")

    page.goto(live_server.url + product.get_absolute_url())
    stage = page.locator("#stage")
    assert urlsplit(stage.get_attribute("src")).path == front.image.url
    thumbs = page.locator(".thumbs button")
    assert thumbs.count() == 2 and loaded(page, ".thumbs img")
    thumbs.nth(1).click()
    assert urlsplit(stage.get_attribute("src")).path == side.image.url
    assert stage.get_attribute("data-image") == "1" and thumbs.nth(1).get_attribute("aria-pressed") == "true"
    page.wait_for_function("document.getElementById('stage').complete && document.getElementById('stage').naturalWidth > 0")
    # the style switcher follows the image on the stage
    assert page.locator('.switcher[data-image="1"]').is_visible() and not page.locator('.switcher[data-image="0"]').is_visible()
    screenshot("storefront-02-second-image-on-stage")
    thumbs.nth(0).click()
    assert urlsplit(stage.get_attribute("src")).path == front.image.url and stage.get_attribute("data-image") == "0"

    # every page the browser opened: nothing missing, the favicon included
    page.goto(live_server.url + "/admin/login/")
    page.wait_for_load_state("networkidle")
    favicon = page.request.get(live_server.url + "/favicon.ico")
    assert favicon.status == 200 and favicon.headers["content-type"] == "image/x-icon"
    missing = [(status, url) for status, url in seen["responses"] if status >= 400]
    assert missing == [], missing


def test_redoc_fetches_nothing_from_other_hosts(live_server, page, screenshot):
    seen = record(page)
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(live_server.url + "/api/redoc/")
    page.get_by_text("imagegen demo shop API", exact=False).first.wait_for(timeout=30_000)  # Redoc rendered the schema
    page.wait_for_load_state("networkidle")
    screenshot("redoc-offline")
    here = urlsplit(live_server.url).netloc
    elsewhere = [url for url in seen["requests"] if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != here]
    # No Google Fonts. Redoc's bundle still asks for its logo on cdn.redoc.ly; the page's CSP stops
    # that in the browser (it never reaches the network) and Redoc drops the broken image.
    blocked = {url for url, failure in seen["failed"] if "csp" in failure.lower()}
    assert set(elsewhere) <= blocked, (elsewhere, seen["failed"])
    assert not [url for url in elsewhere if "cdn.redoc.ly" not in url], elsewhere
    assert not [url for url, _ in seen["failed"] if here in url]
    assert page.locator("img[alt='redocly logo']").count() == 0


def test_loss_chart_legend_fits_on_a_narrow_page(live_server, page, screenshot):
    User.objects.create_superuser("admin", "admin@example.com", "admin")
    history = [{"step": s, "loss_d": 1.2 - s * 0.01, "loss_g": 0.7 + s * 0.01, "d_accuracy": 0.5 + s * 0.003} for s in range(1, 40)]
    run = TrainingRun.objects.create(kind="gan", history=history, status="done", step=39, total_steps=39)
    page.set_viewport_size({"width": 900, "height": 900})  # where the legend used to be cut ("d_accur")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/imagegen/trainingrun/{run.pk}/change/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(rf"/admin/imagegen/trainingrun/{run.pk}/change/$"))
    box = page.evaluate("""() => {
        const svg = document.querySelector("svg[aria-label='Loss curves']");
        const r = svg.getBoundingClientRect();
        const labels = [...svg.querySelectorAll("text")].filter(t => t.getAttribute("fill") === "#333" && t.textContent !== "step");
        return {svg: [r.left, r.right], page: document.documentElement.clientWidth,
                labels: labels.map(t => { const b = t.getBoundingClientRect(); return [t.textContent, b.left, b.right]; })};
    }""")
    screenshot("training-loss-chart-narrow")
    assert [name for name, _, _ in box["labels"]] == ["loss_d", "loss_g", "d_accuracy"]
    for name, left, right in box["labels"]:
        assert box["svg"][0] <= left and right <= box["svg"][1], (name, right, box["svg"])
    assert box["svg"][1] <= box["page"], box  # the chart itself stays on the page
