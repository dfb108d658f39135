"""Admin actions, permissions and the warm command (queueing checked on real Redis)."""
from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.urls import reverse

from imagegen.models import Style, Variant
from imagegen.queue import get_queue
from shop.catalogue.models import Product

from .helpers import make_product, make_styles, upload, variants_of

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit enqueues must run


@pytest.fixture
def catalogue(redis_conn):
    styles = make_styles()
    images = [upload(make_product(f"Tee{i}")) for i in range(3)]
    get_queue("bulk").empty()  # the styles' preview jobs (tests/integration/test_previews.py)
    return styles, images


def changelist_post(client, model: str, action: str, ids, **extra):
    url = reverse(f"admin:shop_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": [str(i) for i in ids], **extra}, follow=True)


def test_restyle_with_shows_a_form_then_queues_on_the_high_queue(admin_client, catalogue):
    styles, images = catalogue
    products = [img.product.pk for img in images[:2]]

    page = changelist_post(admin_client, "product", "imagegen_restyle", products)
    assert page.status_code == 200
    assert b"Queue variants" in page.content and b"Vintage" in page.content

    done = changelist_post(
        admin_client, "product", "imagegen_restyle", products,
        apply="1", styles=[styles["vintage"].pk], strength="0.7", format="webp", priority="high", preserve_product="off",
    )
    assert b"Queued 2 new variant(s) for 2 image(s) on imagegen-high" in done.content
    for image in images[:2]:
        row = variants_of(image).get(style=styles["vintage"], spec_name="vintage", parameters__strength=0.7)
        assert row.status == Variant.Status.PENDING and row.queue == "imagegen-high"
    assert get_queue("high").count == 2

    again = changelist_post(
        admin_client, "product", "imagegen_restyle", products,
        apply="1", styles=[styles["vintage"].pk], strength="0.7", format="webp", priority="high", preserve_product="off",
    )
    assert b"Queued 0 new variant(s) for 2 image(s)" in again.content
    assert b"2 identical variant(s) already existed" in again.content


def test_restyle_form_rejects_bad_values(admin_client, catalogue):
    styles, images = catalogue
    page = changelist_post(
        admin_client, "productimage", "imagegen_restyle", [images[0].pk],
        apply="1", styles=[styles["vintage"].pk], strength="1.5", format="webp", priority="high",
    )
    assert b"Ensure this value is less than or equal to 1" in page.content
    assert variants_of(images[0]).count() == 3  # the registered specs only: nothing was queued


def test_regenerate_and_delete_actions(admin_client, catalogue):
    _, images = catalogue
    image = images[0]
    Variant.objects.filter(pk__in=variants_of(image)).update(status=Variant.Status.FAILED, error="boom")

    page = changelist_post(admin_client, "productimage", "imagegen_regenerate", [image.pk])
    assert b"Queued 3 variant(s) of 1 image(s) for regeneration" in page.content
    for row in variants_of(image):
        assert row.status == Variant.Status.PENDING and row.error == "" and row.queue == "imagegen-high"
    assert get_queue("high").count == 1  # one job renders all of the source's variants

    page = changelist_post(admin_client, "productimage", "imagegen_delete_variants", [image.pk])
    assert b"Deleted 3 variant(s)" in page.content
    assert not variants_of(image).exists()


def test_actions_are_hidden_without_the_imagegen_permissions(client, catalogue):
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_product", "change_product"]))
    client.force_login(user)
    before = Variant.objects.count()
    page = client.get(reverse("admin:shop_product_changelist"))
    assert page.status_code == 200
    assert b"imagegen_restyle" not in page.content and b"imagegen_delete_variants" not in page.content

    user.user_permissions.add(Permission.objects.get(codename="request_variant"))
    user = User.objects.get(pk=user.pk)  # drop the permission cache
    client.force_login(user)
    page = client.get(reverse("admin:shop_product_changelist"))
    assert b"imagegen_restyle" in page.content and b"imagegen_delete_variants" not in page.content

    # Posting the hidden action anyway does nothing.
    product = Product.objects.first()
    changelist_post(client, "product", "imagegen_delete_variants", [product.pk])
    assert Variant.objects.count() == before == 9


def test_change_page_shows_cards_with_status_error_and_polling(admin_client, catalogue):
    _, images = catalogue
    image = images[0]
    Variant.objects.filter(pk__in=variants_of(image)).update(
        status=Variant.Status.FAILED, error="The file is not an image Pillow can read."
    )
    page = admin_client.get(reverse("admin:shop_product_change", args=[image.product.pk]))
    html = page.content.decode()
    assert 'class="imagegen-card"' in html and "The file is not an image Pillow can read." in html
    assert reverse("admin:imagegen_variant_status") in html

    row = variants_of(image).first()
    status = admin_client.get(reverse("admin:imagegen_variant_status"), {"ids": str(row.pk)}).json()
    assert status["variants"][str(row.pk)]["status"] == "failed"


def test_publish_action_only_publishes_ready_variants(admin_client, catalogue, settings):
    _, images = catalogue
    rows = list(Variant.objects.all())
    Variant.objects.filter(pk=rows[0].pk).update(status=Variant.Status.READY, is_published=False)
    page = admin_client.post(
        reverse("admin:imagegen_variant_changelist"), {"action": "publish", "_selected_action": [r.pk for r in rows]}, follow=True
    )
    assert b"Published 1 variant(s). 8 not ready were skipped." in page.content
    assert list(Variant.objects.filter(is_published=True).values_list("pk", flat=True)) == [rows[0].pk]


def test_style_admin_validates_processor_parameters_and_reference(admin_client, redis_conn):
    url = reverse("admin:imagegen_style_add")
    page = admin_client.post(url, {"name": "Bad", "slug": "bad", "processor": "look", "parameters": '{"method": "magic"}', "is_active": "on"})
    assert page.status_code == 200 and b"method" in page.content and not Style.objects.filter(slug="bad").exists()

    page = admin_client.post(url, {"name": "No ref", "slug": "noref", "processor": "lut", "parameters": "{}", "is_active": "on"})
    assert b"needs a reference file" in page.content

    from shop.catalogue.drawing import make_cube_lut
    from django.core.files.uploadedfile import SimpleUploadedFile

    cube = SimpleUploadedFile("cool.cube", make_cube_lut("cool", size=5).encode())
    page = admin_client.post(
        url, {"name": "Cool", "slug": "cool", "processor": "lut", "parameters": "{}", "is_active": "on", "reference": cube}, follow=True
    )
    assert page.status_code == 200
    assert Style.objects.get(slug="cool").reference.name.endswith(".cube")


def test_apply_to_catalogue_queues_a_bulk_job(admin_client, catalogue):
    styles, images = catalogue
    page = admin_client.post(
        reverse("admin:imagegen_style_changelist"), {"action": "apply_to_catalogue", "_selected_action": [styles["vintage"].pk]}, follow=True
    )
    assert b"Queued 1 style(s) for the whole catalogue" in page.content
    (job,) = get_queue("bulk").get_jobs()
    assert job.func_name == "imagegen.jobs.warm_styles" and job.args == ([styles["vintage"].pk], "*", "missing")

    from imagegen.jobs import warm_styles

    assert warm_styles(*job.args) == {"sources": 3, "queued": 3, "existing": 0, "errors": 0}
    listing = admin_client.get(reverse("admin:imagegen_style_changelist"))
    assert b"0/3" in listing.content  # progress: none ready yet


def test_warm_command_modes(catalogue):
    styles, images = catalogue
    out, err = io.StringIO(), io.StringIO()
    call_command("imagegen_warm", "shop.productimage.image:*", "--styles", "vintage", stdout=out, stderr=err)
    assert "3 source image(s): queued 3 variant(s), 0 already present." in out.getvalue()
    assert "3/3" in err.getvalue()  # the progress bar
    assert get_queue("bulk").count == 3

    out = io.StringIO()
    call_command("imagegen_warm", "shop.productimage.image:*", "--styles", "vintage", "--missing", stdout=out, stderr=io.StringIO())
    assert "queued 0 variant(s), 3 already present." in out.getvalue()

    Variant.objects.filter(style=styles["vintage"]).update(status=Variant.Status.READY)
    out = io.StringIO()
    call_command("imagegen_warm", "shop.productimage.image:*", "--styles", "vintage", "--force", stdout=out, stderr=io.StringIO())
    assert "queued 3 variant(s)" in out.getvalue()

    out = io.StringIO()
    call_command("imagegen_warm", "shop.productimage.image:sk*", stdout=out, stderr=io.StringIO())
    assert "queued 0 variant(s), 3 already present." in out.getvalue()  # the registered sketch spec exists

    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown or inactive style"):
        call_command("imagegen_warm", "shop.*", "--styles", "nope", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="No registered source matches"):
        call_command("imagegen_warm", "blog.*", stdout=io.StringIO(), stderr=io.StringIO())
