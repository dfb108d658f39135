"""imagegen.product_masks in-process, on the real segmentation network and database: the stored
mask round-trips, a lost race reuses the winner's row, opaque alpha channels are segmented,
and the shop's fine-tuned weights name their own segmenter."""
from __future__ import annotations

import io

import pytest
import torch
from django.core.files.base import ContentFile
from PIL import Image as PILImage

import imagegen.engine as engine
from imagegen import product_masks
from imagegen.job_sources import Source
from imagegen.models import ProductMask, Style, Variant
from shop.catalogue.drawing import draw_product

pytestmark = pytest.mark.django_db


def photo(mode: str = "RGB") -> engine.Image:
    buffer = io.BytesIO()
    draw_product("bottle", color=(20, 140, 90), size=160, seed=2).convert(mode).save(buffer, "PNG" if mode == "RGBA" else "JPEG")
    return engine.decode(buffer.getvalue())


def test_the_stored_mask_reads_back_as_computed():
    image = photo()
    mask, cached, row = product_masks.mask_for(image, "a" * 64, None, "u2netp@test")
    assert not cached and (row.width, row.height) == (160, 160) and 0.05 < row.coverage < 0.8
    again, cached, same = product_masks.mask_for(image, "a" * 64, None, "u2netp@test")
    assert cached and same.pk == row.pk
    assert again.shape == mask.shape == (1, 160, 160)
    assert float((again - mask).abs().max()) <= 0.5 / 255 + 1e-6  # 8-bit PNG


def test_a_stored_mask_whose_file_is_gone_is_made_again():
    from imagegen.storage import variant_storage

    image = photo()
    _, _, row = product_masks.mask_for(image, "f" * 64, None, "u2netp@test")
    variant_storage().delete(row.file.name)
    mask, cached, same = product_masks.mask_for(image, "f" * 64, None, "u2netp@test")
    assert not cached and same.pk == row.pk and mask.shape == (1, 160, 160)
    assert variant_storage().exists(ProductMask.objects.get(pk=row.pk).file.name)


def test_losing_the_race_reuses_the_winners_row(monkeypatch):
    from imagegen.engine import segment as segment_module

    real = segment_module.segment

    def slow_segment(image, weights=None):
        mask = real(image, weights)
        # another worker stores the same content's mask while this one computes
        ProductMask.objects.create(source_hash="b" * 64, segmenter="u2netp@test", file="imagegen/variants/winner.png", width=160, height=160, coverage=0.3)
        return mask

    monkeypatch.setattr(segment_module, "segment", slow_segment)
    mask, cached, row = product_masks.mask_for(photo(), "b" * 64, None, "u2netp@test")
    assert row.file.name == "imagegen/variants/winner.png" and not cached and mask.shape == (1, 160, 160)
    assert ProductMask.objects.filter(source_hash="b" * 64).count() == 1


def _source(image, processors: list[str]) -> Source:
    variants = [Variant(pk=None, processor=p, parameters={}, spec_name=p) for p in processors]
    return Source(0, "1", "image", "c" * 64, None, variants, image=image)


def test_an_opaque_alpha_channel_is_segmented_and_a_real_one_is_the_mask():
    opaque = photo("RGBA")  # every alpha 255: says nothing about the product
    assert opaque.alpha is not None
    source = _source(opaque, ["sketch"])
    product_masks.attach_masks([source], engine, {"failed": 0})
    assert source.image.alpha is None and source.image.mask is not None
    assert source.timings["mask_cached"] is False and ProductMask.objects.count() == 1

    buffer = io.BytesIO()
    cup = PILImage.new("RGBA", (64, 48), (0, 0, 0, 0))
    cup.paste((200, 30, 30, 255), (16, 12, 48, 36))
    cup.save(buffer, "PNG")
    transparent = _source(engine.decode(buffer.getvalue()), ["cutout"])
    transparent.source_hash = "d" * 64
    product_masks.attach_masks([transparent], engine, {"failed": 0})
    assert transparent.image.mask is None and "mask_ms" not in transparent.timings
    assert ProductMask.objects.count() == 1


def test_fine_tuned_weights_on_the_cutout_style_name_their_own_segmenter():
    builtin = product_masks.segmenter_weights()
    assert builtin[0] is None and builtin[1].startswith("u2netp@")
    style = Style(slug="cutout", name="Cut-out", processor="cutout")
    style.reference.save("weights.pt", ContentFile(b"fine-tuned weights"), save=True)
    weights, segmenter = product_masks.segmenter_weights()
    assert weights == b"fine-tuned weights" and segmenter.startswith("u2netp-shop@") and segmenter != builtin[1]


@pytest.mark.parametrize(
    "processor, parameters, needed",
    [("cutout", {}, True), ("background", {}, True), ("crop", {}, True), ("sketch", {"aspect": "1:1"}, True),
     ("sketch", {}, False), ("look", {"aspect": "original"}, False)],
)
def test_which_variants_cannot_do_without_a_mask(processor, parameters, needed):
    assert product_masks.needs_mask(Variant(processor=processor, parameters=parameters)) is needed


def test_a_mask_tensor_is_what_the_engine_attaches():
    image = photo()
    mask, _, _ = product_masks.mask_for(image, "e" * 64, None, "u2netp@test")
    assert mask.dtype == torch.float32 and float(mask.min()) >= 0 and float(mask.max()) <= 1
