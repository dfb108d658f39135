"""Style previews: rendered by a real worker job on a sample product (never in the web
process), stored on the Style with the key they were made for, refreshed when the parameters
change, shown in the admin and the API."""
from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image as PILImage

from imagegen.models import Style, Variant
from imagegen.previews import preview_key, sample_source

from ..conftest import wait_for
from .helpers import make_product, upload

pytestmark = pytest.mark.django_db(transaction=True)


def wait_preview(style: Style, *, other_than: str = "", timeout: float = 90) -> Style:
    def done():
        fresh = Style.objects.get(pk=style.pk)
        return fresh if (fresh.preview and fresh.preview.name != other_than) or fresh.preview_error else None

    return wait_for(done, timeout=timeout, message=f"the preview of {style.slug}")


def pixels(style: Style) -> PILImage.Image:
    with style.preview.open("rb") as stream:
        return PILImage.open(io.BytesIO(stream.read())).convert("RGB")


@pytest.mark.worker
def test_a_worker_renders_the_preview_and_renders_it_again_when_the_parameters_change(worker, admin_client):
    image = upload(make_product("Vase"))
    assert sample_source() == (image, "image")  # the first registered source image
    style = Style.objects.create(slug="pencil", name="Pencil", processor="sketch", parameters={"sigma": 1.0})
    assert not style.preview  # saving only queued a job: nothing rendered in this process

    first = wait_preview(style)
    assert first.preview_error == "", (first.preview_error, worker.output())
    assert first.preview.name.startswith("imagegen/previews/pencil-") and first.preview_key
    picture = pixels(first)
    assert max(picture.size) <= 384  # IMAGEGEN["PREVIEW_SIZE"]
    assert not Variant.objects.filter(style=style).exists()  # a preview is no product variant: never on the storefront

    # The admin list and the API show it.
    listing = admin_client.get(reverse("admin:imagegen_style_changelist")).content.decode()
    assert first.preview.url in listing
    api = admin_client.get("/api/imagegen/styles/pencil/").json()
    assert api["preview_url"] == f"http://testserver{first.preview.url}"

    # New parameters: a new key, a new picture; the old file goes.
    style.parameters = {"sigma": 6.0}
    style.save()
    second = wait_preview(style, other_than=first.preview.name)
    assert second.preview_key != first.preview_key
    # (deleted just after the row points at the new file, so no reader ever sees a missing one)
    wait_for(lambda: not first.preview.storage.exists(first.preview.name), timeout=10, message="the old preview file to go")
    assert list(pixels(second).getdata()) != list(picture.getdata())


@pytest.mark.worker
def test_with_an_empty_catalogue_the_preview_is_drawn_on_a_sample_product_and_errors_are_shown(worker):
    assert sample_source() is None
    style = Style.objects.create(slug="wash", name="Wash", processor="watercolor", parameters={})
    done = wait_preview(style)
    assert done.preview and done.preview_error == ""
    assert pixels(done).size == (384, 384)  # the drawn sample is square

    broken = Style.objects.create(slug="no-lut", name="No LUT", processor="lut", parameters={})  # no .cube uploaded
    failed = wait_preview(broken)
    assert not failed.preview and "reference" in failed.preview_error


def test_the_key_covers_parameters_reference_sample_and_engine_version():
    style = Style(slug="k", name="K", processor="sketch", parameters={"sigma": 1.0})
    base = preview_key(style, "sample-a", "2")
    assert preview_key(style, "sample-b", "2") != base
    assert preview_key(style, "sample-a", "3") != base
    style.parameters = {"sigma": 2.0}
    assert preview_key(style, "sample-a", "2") != base


def test_an_unknown_sample_setting_is_a_clear_error(settings):
    from imagegen.previews import SampleError, sample_label

    settings.IMAGEGEN = {**settings.IMAGEGEN, "PREVIEW_SAMPLE": "shop.productimage.image:999999"}
    with pytest.raises(SampleError, match="no such object with an image"):
        sample_source()
    assert "PREVIEW_SAMPLE" in sample_label()


@pytest.mark.django_db(transaction=True)
def test_the_preview_job_reports_a_bad_sample_setting_on_the_style(settings, redis_conn):
    from imagegen.previews import render_style_preview

    style = Style.objects.create(slug="pencil2", name="Pencil", processor="sketch")
    settings.IMAGEGEN = {**settings.IMAGEGEN, "PREVIEW_SAMPLE": "shop.nothing.image:1"}
    assert render_style_preview(style.pk)["rendered"] is False
    assert "PREVIEW_SAMPLE" in Style.objects.get(pk=style.pk).preview_error
