"""The Django glue without a worker: registry, specs, settings, checks, read path, admin."""
from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

import imagegen
from imagegen.conf import conf
from imagegen.models import Variant
from imagegen.queue import job_id_for
from imagegen.registry import Registry, registry
from imagegen.specs import VariantSpec

from .helpers import make_product, upload, variants_of

pytestmark = pytest.mark.django_db


def mark_ready(variant: Variant, name: str = "imagegen/variants/x.webp", width: int = 160, height: int = 120) -> Variant:
    Variant.objects.filter(pk=variant.pk).update(
        status=Variant.Status.READY, file=name, width=width, height=height, format="WEBP", is_published=True, finished_at=timezone.now()
    )
    variant.refresh_from_db()
    return variant


# --- registry and specs ---------------------------------------------------------------

def test_the_shop_registers_its_product_images_by_autodiscovery():
    source = registry.get("shop.productimage.image")
    assert [s.name for s in source.specs] == ["sketch", "sunset", "vintage", "cutout", "marketplace"]
    assert source.model.__name__ == "ProductImage"


def test_glob_ids_select_sources_and_specs():
    reg = Registry()
    reg.register("shop.ProductImage", "image", specs=[VariantSpec("sketch", processor="sketch"), VariantSpec("warm", processor="look")])
    ((source, specs),) = reg.match("shop.*.image:s*")
    assert source.id == "shop.productimage.image" and [s.name for s in specs] == ["sketch"]
    assert reg.match("other.*") == []


def test_a_spec_needs_exactly_one_of_processor_or_style():
    with pytest.raises(ValueError, match="exactly one"):
        VariantSpec("x")
    with pytest.raises(ValueError, match="exactly one"):
        VariantSpec("x", processor="sketch", style="vintage")
    with pytest.raises(ValueError, match="Unknown output format"):
        VariantSpec("x", processor="sketch", format="bmp")


def test_the_job_id_is_deterministic_and_valid_for_rq():
    a = job_id_for(7, "42", "image", "ab" * 32)
    assert a == job_id_for(7, "42", "image", "ab" * 32)
    assert a != job_id_for(7, "43", "image", "ab" * 32)
    assert a == job_id_for(7, "42", "image", "ab" * 32, "imagegen")  # "default" is the imagegen queue
    assert a != job_id_for(7, "42", "image", "ab" * 32, "high")
    assert a.replace("-", "").replace("_", "").isalnum()


# --- settings and checks ----------------------------------------------------------------

def test_settings_are_lazy_and_follow_overrides():
    assert conf.JOB_TIMEOUT == 600
    with override_settings(IMAGEGEN={"JOB_TIMEOUT": 5}):
        assert conf.JOB_TIMEOUT == 5
        assert conf.QUEUES["high"] == "imagegen-high"  # defaults still merged
    assert conf.JOB_TIMEOUT == 600


def _ids(**overrides) -> set[str]:
    with override_settings(**overrides):
        return {m.id for m in run_checks() if m.id and m.id.startswith("imagegen")}


def test_system_checks_pass_on_the_demo_shop():
    assert _ids() == set()


def test_system_checks_catch_misconfiguration(settings):
    assert "imagegen.E001" in _ids(IMAGEGEN={"JOB_TIMOUT": 5})
    assert "imagegen.E002" in _ids(IMAGEGEN={"QUEUES": {"high": "nowhere"}})
    assert "imagegen.E003" in _ids(IMAGEGEN={"STORAGE": "missing-alias"})
    assert "imagegen.E005" in _ids(IMAGEGEN={"JOB_TIMEOUT": -1})
    assert "imagegen.E007" in _ids(IMAGEGEN={"BATCH_SIZE": 0})
    assert "imagegen.E007" not in _ids(IMAGEGEN={"BATCH_SIZE": None})
    assert "imagegen.E008" in _ids(IMAGEGEN={"BATCH_WAIT_MS": "soon"})


def test_system_checks_catch_bad_registrations():
    registry.register("shop.ProductImage", "nope", specs=[VariantSpec("a", processor="sketch")])
    registry.register("shop.Product", "name", specs=[VariantSpec("b", processor="no-such-processor")])
    registry.register("shop.Category", "slug", specs=[VariantSpec("c", processor="look", params={"method": "magic"})])
    try:
        ids = _ids()
    finally:
        for source_id in ("shop.productimage.nope", "shop.product.name", "shop.category.slug"):
            registry.unregister(source_id)
    assert {"imagegen.E011", "imagegen.E012", "imagegen.E014", "imagegen.E015"} <= ids


# --- the save hook ----------------------------------------------------------------------

def test_saving_without_touching_the_image_reads_nothing_and_creates_nothing(redis_conn, django_assert_max_num_queries):
    image = upload(make_product())
    assert variants_of(image).count() == 1
    image = type(image).objects.get(pk=image.pk)
    image.alt = "A red mug"
    with django_assert_max_num_queries(1):  # just the UPDATE of the image row
        image.save()
    assert variants_of(image).count() == 1


def test_request_variants_reuses_identical_requests(redis_conn):
    from .helpers import make_styles

    styles = make_styles()
    image = upload(make_product())
    first = imagegen.request_variants(image, "image", [styles["vintage"]], strength=0.5)
    again = imagegen.request_variants(image, "image", [styles["vintage"]], strength=0.5)
    other = imagegen.request_variants(image, "image", [styles["vintage"]], strength=0.8)
    assert [v.pk for v in first] == [v.pk for v in again]
    assert other[0].pk != first[0].pk
    assert first[0].queue == "imagegen-high" and first[0].parameters["strength"] == 0.5
    with pytest.raises(ValueError, match="Unknown option"):
        imagegen.request_variants(image, "image", [styles["vintage"]], colour=1)


# --- the read path ----------------------------------------------------------------------

def render(template: str, **context) -> str:
    return Template("{% load imagegen %}" + template).render(Context(context))


def test_tags_fall_back_to_the_original_until_the_variant_is_ready(redis_conn):
    image = upload(make_product())
    (variant,) = variants_of(image)
    assert render('{% imagegen_url img.image "sketch" %}', img=image) == image.image.url
    assert 'data-imagegen="pending"' in render('{% imagegen_picture img.image "sketch" %}', img=image)

    mark_ready(variant)
    fresh = type(image).objects.get(pk=image.pk)
    assert render('{% imagegen_url img.image "sketch" %}', img=fresh) == variant.file.url
    html = render('{% imagegen_picture img.image "sketch" alt="Mug" %}', img=fresh)
    assert f'srcset="{variant.file.url} 160w"' in html and 'width="160"' in html and 'alt="Mug"' in html
    out = render('{% imagegen_variant img.image "sketch" as v %}{{ v.width }}x{{ v.height }}', img=fresh)
    assert out == "160x120"


def test_unpublished_variants_are_not_shown(redis_conn):
    image = upload(make_product())
    (variant,) = variants_of(image)
    mark_ready(variant)
    Variant.objects.filter(pk=variant.pk).update(is_published=False)
    fresh = type(image).objects.get(pk=image.pk)
    assert render('{% imagegen_url img.image "sketch" %}', img=fresh) == image.image.url


def test_the_product_list_costs_a_constant_number_of_queries(client, redis_conn, django_assert_num_queries):
    def page_queries(n_products: int) -> int:
        for _ in range(n_products):
            image = upload(make_product())
            mark_ready(variants_of(image).get())
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("catalogue:product-list"))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    few = page_queries(2)
    many = page_queries(22)  # 24 products on the page now
    assert few == many == 3, (few, many)  # products+category, images, variants


def test_detail_page_has_a_style_switcher_with_ready_variants(client, redis_conn):
    image = upload(make_product())
    variant = mark_ready(variants_of(image).get())
    response = client.get(image.product.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-src="{variant.file.url}" data-style="sketch"' in html
    assert 'data-style="original"' in html


# --- admin ------------------------------------------------------------------------------

def test_admin_pages_show_variants(admin_client, redis_conn):
    image = upload(make_product())
    mark_ready(variants_of(image).get())
    response = admin_client.get(reverse("admin:shop_productimage_change", args=[image.pk]))
    assert response.status_code == 200
    assert b"sketch" in response.content
    listing = admin_client.get(reverse("admin:imagegen_variant_changelist") + "?status__exact=ready")
    assert listing.status_code == 200 and b"sketch" in listing.content


def test_any_model_with_an_image_field_can_be_a_source(redis_conn):
    from django.core.files.base import ContentFile

    from imagegen.jobs import process_source
    from tests.testapp.models import Banner

    from ..conftest import png_bytes

    banner = Banner(title="Summer sale")
    banner.picture.save("sale.png", ContentFile(png_bytes(size=(64, 48))), save=True)
    (variant,) = Variant.objects.for_object(banner, "picture")
    assert variant.object_id == str(banner.pk) and variant.spec_name == "thumb"

    assert process_source(variant.content_type_id, variant.object_id, "picture", variant.source_hash)["ready"] == 1
    variant.refresh_from_db()
    assert (variant.width, variant.height, variant.format) == (32, 24, "PNG")
    fresh = Banner.objects.get(pk=banner.pk)
    assert render('{% imagegen_url b.picture "thumb" %}', b=fresh) == variant.file.url
