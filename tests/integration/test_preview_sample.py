"""The style-preview sample a shop admin picks: the admin action "Use for style previews" on a
source's changelist stores the choice, sample_source() prefers it (falling back to the default
when it is gone), and a real worker re-renders every preview on it. Real DB and Redis."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from imagegen.models import PreviewSample, Style
from imagegen.previews import REFRESH_FUNCTION, sample_label, sample_source
from imagegen.queue import get_queue

from ..conftest import png_bytes
from .helpers import make_product, upload
from .test_previews import wait_preview

pytestmark = pytest.mark.django_db(transaction=True)  # the action's on_commit enqueue must run

ACTION = "imagegen_use_for_previews"


def choose(client, ids, model: str = "product"):
    url = reverse(f"admin:shop_{model}_changelist")
    return client.post(url, {"action": ACTION, "_selected_action": [str(i) for i in ids]}, follow=True)


@pytest.fixture
def images(redis_conn):
    """Two products with one photo each (red, blue), nothing queued."""
    red = upload(make_product("Tee"), png_bytes(color=(200, 40, 40, 255)))
    blue = upload(make_product("Cap"), png_bytes(color=(40, 60, 200, 255)))
    redis_conn.flushdb()  # the uploads' own jobs: only what the action queues counts
    return red, blue


def refresh_queued() -> bool:
    return any(job and job.func_name == REFRESH_FUNCTION for job in get_queue("bulk").jobs)


def test_choosing_a_product_stores_its_first_image_and_queues_the_refresh(admin_client, images):
    red, blue = images
    assert sample_source() == (red, "image")  # the default: the first registered source image
    second = upload(blue.product, png_bytes(color=(0, 0, 0, 255)), name="back.png")  # the Cap has two images now
    get_queue("bulk").empty()

    page = choose(admin_client, [blue.product.pk])
    assert f"Style previews will now show {blue}; they are being re-rendered.".encode() in page.content
    row = PreviewSample.objects.get()
    assert (row.content_type.model, row.object_id, row.field_name, row.chosen_by.username) == ("productimage", str(blue.pk), "image", "admin")
    assert sample_source() == (blue, "image") != (second, "image")  # the product's first image
    assert refresh_queued()  # every preview is redone by a worker, not in this request

    # The Style list says which sample its previews show.
    listing = admin_client.get(reverse("admin:imagegen_style_changelist")).content.decode()
    assert f"Previews show: <strong>{sample_label()}</strong>" in listing and str(blue) in listing

    # Choosing from the product images' own list works too, and the latest choice wins.
    choose(admin_client, [red.pk], model="productimage")
    assert PreviewSample.objects.count() == 2 and sample_source() == (red, "image")


def test_a_deleted_or_emptied_choice_falls_back_to_the_default(admin_client, images):
    red, blue = images
    choose(admin_client, [blue.product.pk])
    assert sample_source() == (blue, "image")

    type(blue).objects.filter(pk=blue.pk).update(image="")  # the image removed from the object
    assert sample_source() == (red, "image")
    blue.product.delete()  # the object gone altogether
    assert sample_source() == (red, "image")
    assert sample_label() == str(red)
    assert admin_client.get(reverse("admin:imagegen_style_changelist")).status_code == 200


def test_the_choice_comes_before_the_setting(admin_client, images, settings):
    red, blue = images
    settings.IMAGEGEN = {**settings.IMAGEGEN, "PREVIEW_SAMPLE": f"shop.productimage.image:{red.pk}"}
    assert sample_source() == (red, "image")
    choose(admin_client, [blue.product.pk])
    assert sample_source() == (blue, "image")
    blue.product.delete()
    assert sample_source() == (red, "image")  # then the setting again


def test_the_action_wants_exactly_one_item_with_an_image(admin_client, images):
    red, blue = images
    page = choose(admin_client, [red.product.pk, blue.product.pk])
    assert b"Select exactly one item to use for style previews." in page.content
    bare = make_product("Bare")
    page = choose(admin_client, [bare.pk])
    assert f"“{bare}” has no image to use for style previews.".encode() in page.content
    assert not PreviewSample.objects.exists() and not refresh_queued()


def test_only_users_who_may_change_styles_see_the_action(client, images):
    red, _ = images
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_product", "change_product", "request_variant"]))
    client.force_login(user)
    page = client.get(reverse("admin:shop_product_changelist"))
    assert page.status_code == 200 and b"imagegen_restyle" in page.content and ACTION.encode() not in page.content

    choose(client, [red.product.pk])  # posting the hidden action anyway does nothing
    assert not PreviewSample.objects.exists() and not refresh_queued()

    user.user_permissions.add(Permission.objects.get(codename="change_style"))
    client.force_login(User.objects.get(pk=user.pk))  # a fresh permission cache
    assert ACTION.encode() in client.get(reverse("admin:shop_product_changelist")).content
    choose(client, [red.product.pk])
    assert PreviewSample.objects.get().chosen_by == user


@pytest.mark.worker
def test_a_worker_renders_every_preview_again_on_the_chosen_sample(worker, admin_client, images):
    red, blue = images
    style = Style.objects.create(slug="pencil", name="Pencil", processor="sketch", parameters={"sigma": 1.0})
    first = wait_preview(style)  # on the default sample (the red Tee)
    assert first.preview_error == "", (first.preview_error, worker.output())

    choose(admin_client, [blue.product.pk])
    second = wait_preview(style, other_than=first.preview.name)
    assert second.preview_error == "", (second.preview_error, worker.output())
    assert second.preview_key != first.preview_key  # the key holds the sample's hash
