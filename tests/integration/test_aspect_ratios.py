"""Smart-crop aspect variants without a worker: a spec's ``aspect_ratios`` become one variant
per ratio (the engine's generic ``aspect`` option), and templates pick one with ``aspect=``."""
from __future__ import annotations

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone

from imagegen.models import Variant
from imagegen.registry import Registry, registry
from imagegen.specs import VariantSpec, aspect_name

from .helpers import make_product, upload, variants_of

pytestmark = pytest.mark.django_db


def render(template: str, **context) -> str:
    return Template("{% load imagegen %}" + template).render(Context(context))


@pytest.fixture
def sketch_with_crops():
    """The demo source registered with a square and a banner crop of its sketch."""
    original = registry.get("shop.productimage.image")
    registry.register(
        "shop.ProductImage", "image",
        specs=[VariantSpec("sketch", processor="sketch", format="webp", size=64, aspect_ratios=("1:1", "16/9"))],
    )
    yield
    registry._sources[original.id] = original


def test_aspect_ratios_expand_into_one_spec_per_ratio():
    reg = Registry()
    source = reg.register("shop.ProductImage", "image", specs=[VariantSpec("sketch", processor="sketch", aspect_ratios=("1:1", "16/9", "16x9"))])
    assert [(s.name, s.params) for s in source.specs] == [
        ("sketch", {}),
        ("sketch@1x1", {"aspect": "1:1"}),
        ("sketch@16x9", {"aspect": "16:9"}),  # the same ratio written three ways is one variant
    ]
    assert all(s.aspect_ratios == () and s.format == "WEBP" for s in source.specs)


@pytest.mark.parametrize("ratios", [("wide",), ("0:1",), ("16:",)])
def test_a_bad_ratio_is_refused_at_registration_with_the_accepted_forms(ratios):
    with pytest.raises(ValueError, match=r"VariantSpec 'sketch': Unknown aspect ratio .*width:height, e\.g\. '1:1'"):
        VariantSpec("sketch", processor="sketch", aspect_ratios=ratios)
    with pytest.raises(ValueError, match="list of ratios"):
        VariantSpec("sketch", processor="sketch", aspect_ratios="1:1")


def test_an_upload_gets_a_row_per_ratio_and_templates_pick_one(redis_conn, sketch_with_crops):
    image = upload(make_product())
    rows = {v.spec_name: v for v in variants_of(image)}
    assert set(rows) == {"sketch", "sketch@1x1", "sketch@16x9"}
    assert rows["sketch@16x9"].parameters == {"aspect": "16:9"} and rows["sketch"].parameters == {}

    # pending: the original, cropped by CSS to the ratio asked for so the layout keeps its shape
    html = render('{% imagegen_picture img.image "sketch" aspect="16:9" %}', img=image)
    assert f'src="{image.image.url}"' in html and "aspect-ratio:16/9;object-fit:cover" in html and 'data-imagegen="pending"' in html
    assert render('{% imagegen_url img.image "sketch" aspect="1:1" %}', img=image) == image.image.url

    for name, (width, height) in {"sketch": (64, 48), "sketch@1x1": (48, 48), "sketch@16x9": (64, 36)}.items():
        Variant.objects.filter(pk=rows[name].pk).update(
            status=Variant.Status.READY, file=f"imagegen/variants/{name.replace('@', '-')}.webp", width=width, height=height,
            format="WEBP", is_published=True, finished_at=timezone.now(),
        )
    fresh = type(image).objects.get(pk=image.pk)
    assert render('{% imagegen_url img.image "sketch" aspect="16:9" %}', img=fresh).endswith("/sketch-16x9.webp")
    assert render('{% imagegen_url img.image "sketch" aspect="1/1" %}', img=fresh).endswith("/sketch-1x1.webp")
    assert render('{% imagegen_url img.image "sketch" %}', img=fresh).endswith("/sketch.webp")  # no aspect: the photo's own shape
    html = render('{% imagegen_picture img.image "sketch" aspect="1:1" alt="Mug" %}', img=fresh)
    assert 'width="48" height="48"' in html and "sketch-1x1.webp 48w" in html
    assert render('{% imagegen_variant img.image "sketch" aspect="16:9" as v %}{{ v.width }}x{{ v.height }}', img=fresh) == "64x36"
    # a ratio the spec does not have: the original, never another crop
    assert render('{% imagegen_url img.image "sketch" aspect="4:5" %}', img=fresh) == image.image.url


def test_a_mistyped_ratio_in_a_template_is_a_template_error(redis_conn):
    image = upload(make_product())
    with pytest.raises(TemplateSyntaxError, match="Unknown aspect ratio 'square'"):
        render('{% imagegen_url img.image "sketch" aspect="square" %}', img=image)


def test_style_variants_match_by_slug_and_their_aspect_parameter(redis_conn):
    from imagegen.models import Style

    style = Style.objects.create(slug="marketplace", name="Marketplace image", processor="sketch", parameters={})
    image = upload(make_product())
    base = variants_of(image).get(spec_name="sketch")
    common = dict(content_type=base.content_type, object_id=base.object_id, field_name="image", source_hash=base.source_hash,
                  style=style, processor="sketch", requested_format="WEBP", status=Variant.Status.READY, is_published=True, format="WEBP")
    Variant.objects.create(spec_name="marketplace", parameters={}, spec_hash="a" * 64, file="imagegen/variants/plain.webp", width=10, height=10, **common)
    Variant.objects.create(spec_name="marketplace", parameters={"aspect": "4:5"}, spec_hash="b" * 64, file="imagegen/variants/tall.webp", width=8, height=10, **common)
    fresh = type(image).objects.get(pk=image.pk)
    assert render('{% imagegen_url img.image "marketplace" %}', img=fresh).endswith("/plain.webp")
    assert render('{% imagegen_url img.image "marketplace" aspect="4:5" %}', img=fresh).endswith("/tall.webp")
    assert aspect_name("marketplace", "4/5") == "marketplace@4x5"


def test_a_style_whose_own_parameters_frame_it_square_is_found_by_its_name(redis_conn):
    """The marketplace preset has aspect "1:1" among its own parameters: still "marketplace"."""
    from imagegen.models import Style

    style = Style.objects.create(slug="marketplace", name="Marketplace image", processor="background", parameters={"aspect": "1:1"})
    image = upload(make_product())
    base = variants_of(image).get(spec_name="sketch")
    Variant.objects.create(
        content_type=base.content_type, object_id=base.object_id, field_name="image", source_hash=base.source_hash, style=style,
        processor="background", requested_format="WEBP", status=Variant.Status.READY, is_published=True, format="WEBP",
        spec_name="marketplace", parameters={"aspect": "1:1", "fill": 0.85}, spec_hash="c" * 64,
        file="imagegen/variants/square.webp", width=20, height=20,
    )
    fresh = type(image).objects.get(pk=image.pk)
    assert render('{% imagegen_url img.image "marketplace" %}', img=fresh).endswith("/square.webp")
    assert 'width="20" height="20"' in render('{% imagegen_picture img.image "marketplace" %}', img=fresh)
    assert render('{% imagegen_url img.image "marketplace" aspect="1:1" %}', img=fresh).endswith("/square.webp")
    assert render('{% imagegen_url img.image "marketplace" aspect="16:9" %}', img=fresh) == image.image.url
