"""The "cutout" processor: alpha = the product mask, product colours untouched, trim."""

from pathlib import Path

import pytest
import torch

from imagegen.engine import Image, ParameterError, ProcessorError, decode, encode, render, resize_to_fit
from imagegen.engine.pipeline import validate

PRODUCTS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "products"
PHOTOS = ["saleor-blue-hoodie.png", "saleor-beanie-1.png", "saleor-dash-force-1.png", "saleor-cushion-blue.png"]


def drawn(h: int = 50, w: int = 70, box=(20, 10, 50, 40), soft: bool = True) -> Image:
    """A textured product with a soft edge on a transparent background."""
    g = torch.Generator().manual_seed(3)
    rgb = torch.rand(3, h, w, generator=g)
    alpha = torch.zeros(1, h, w)
    l, t, r, b = box
    alpha[:, t:b, l:r] = 1.0
    if soft:
        alpha[:, t:b, l - 1] = 0.5
        alpha[:, b, l:r] = 0.25
    return Image(rgb=rgb, alpha=alpha, info={"format": "PNG"})


@pytest.mark.skipif(not PRODUCTS.is_dir(), reason="../shared/datasets/products is absent (dev/CI only)")
@pytest.mark.parametrize("name", PHOTOS)
def test_cutout_of_a_transparent_photo_is_its_alpha_and_colours(name):
    src = resize_to_fit(decode((PRODUCTS / name).read_bytes()), 512)
    out = render(src, "cutout", {})
    assert out.alpha is not None and torch.equal(out.alpha, src.alpha)
    inside = (src.alpha > 0).expand(3, -1, -1)
    assert torch.equal(out.rgb[inside], src.rgb[inside])  # never tinted
    assert float(out.rgb[~inside].abs().max()) == 0.0  # nothing hidden under alpha 0
    assert out.info["mask_kind"] == "alpha" and out.info["processor"] == "cutout"
    assert encode(out, "PNG")[:4] == b"\x89PNG"


def test_cutout_of_an_opaque_photo_uses_the_attached_mask():
    src = drawn()
    opaque = Image(rgb=src.rgb, alpha=None, mask=src.alpha.clone())
    out = render(opaque, "cutout", {})
    assert torch.equal(out.alpha, src.alpha) and out.info["mask_kind"] == "segmented"
    keep = (src.alpha >= 1).expand(3, -1, -1)
    assert torch.equal(out.rgb[keep], src.rgb[keep])  # the product itself: exact
    jpeg = decode(encode(out, "JPEG", quality=95))  # composited on white, no alpha
    assert jpeg.alpha is None and float(jpeg.rgb[:, 0, 0].min()) > 0.97


def test_trim_to_the_product_with_a_margin():
    src = drawn()  # visible bounds (19, 10, 50, 41): the soft column and row count
    out = render(src, "cutout", {"trim": True, "margin": 0.1})
    pad = round(0.1 * 31)
    assert out.info["trim"] == [19 - pad, 10 - pad, 50 + pad, 41 + pad]
    assert (out.width, out.height) == (31 + 2 * pad, 31 + 2 * pad)
    assert torch.equal(out.alpha[:, pad:-pad, pad:-pad], src.alpha[:, 10:41, 19:50])
    assert torch.equal(out.rgb[:, pad + 1 : pad + 31, pad + 1 : pad + 30], src.rgb[:, 11:41, 20:49])
    none = render(src, "cutout", {"trim": True, "margin": 0})
    assert (none.width, none.height) == (31, 31)
    # a product touching the photo's edge: the margin beyond the photo is transparent
    edge = drawn(box=(1, 10, 30, 40), soft=False)
    edge.alpha[:, 10:40, 0] = 1.0
    out = render(edge, "cutout", {"trim": True, "margin": 0.1})
    assert out.info["trim"][0] == -3 and float(out.alpha[:, :, :3].max()) == 0.0
    assert float(out.alpha[:, 3:-3, 3].min()) == 1.0  # the photo's first column


def test_no_product_is_a_clear_error():
    empty = Image(rgb=torch.ones(3, 40, 40), alpha=torch.zeros(1, 40, 40))
    with pytest.raises(ProcessorError, match="No product found in this photo"):
        render(empty, "cutout", {})
    white = Image(rgb=torch.ones(3, 40, 40), mask=torch.full((1, 40, 40), 0.3))  # nothing confident
    with pytest.raises(ProcessorError, match="No product found"):
        render(white, "cutout", {})
    speck = torch.zeros(1, 100, 100)
    speck[0, 50, 50] = 1.0  # 0.01 % of the photo
    with pytest.raises(ProcessorError, match="No product found"):
        render(Image(rgb=torch.ones(3, 100, 100), alpha=speck), "cutout", {})


def test_tiny_image():
    alpha = torch.zeros(1, 3, 3)
    alpha[0, 1, 1] = 1.0
    out = render(Image(rgb=torch.rand(3, 3, 3), alpha=alpha), "cutout", {"trim": True, "margin": 0})
    assert (out.width, out.height) == (1, 1) and float(out.alpha) == 1.0


def test_cutout_parameters():
    assert validate("cutout", {})["trim"] is False and validate("cutout", {})["margin"] == 0.05
    with pytest.raises(ParameterError, match="'margin' must be a number >= 0 and <= 1"):
        validate("cutout", {"margin": 2})
    with pytest.raises(ParameterError, match="'trim' must be true or false"):
        validate("cutout", {"trim": "maybe"})
    with pytest.raises(ParameterError, match="changes the image size, so preserve_colors cannot be used"):
        render(drawn(), "cutout", {"preserve_colors": True})


def test_edges_of_an_opaque_photo_lose_the_old_background():
    """A green product photographed on magenta with a soft edge: the edge pixels of the
    cut-out are green again (no magenta halo), the product's own pixels exact."""
    h, w = 40, 60
    alpha = torch.zeros(1, h, w)
    alpha[:, 10:30, 20:40] = 1.0
    alpha[:, 10:30, 40] = 0.5
    alpha[:, 10:30, 41] = 0.2
    green, magenta = torch.tensor([0.1, 0.7, 0.2]).view(3, 1, 1), torch.tensor([0.9, 0.1, 0.8]).view(3, 1, 1)
    photo = green * alpha + magenta * (1 - alpha)
    out = render(Image(rgb=photo, mask=alpha), "cutout", {})
    assert torch.allclose(out.rgb[:, 10:30, 40:42], green.expand(3, 20, 2), atol=0.02)
    assert torch.equal(out.rgb[:, 10:30, 20:40], photo[:, 10:30, 20:40])
    on_white = render(Image(rgb=photo, mask=alpha), "background", {"shadow": "none", "aspect": "1:1", "fill": 0.5})
    l, t, r, b = on_white.info["product_box"]
    expected = 0.5 * green[:, 0, 0] + 0.5  # half green, half the new white
    assert torch.allclose(on_white.rgb[:, t + 5, l + 20], expected, atol=0.02)


@pytest.mark.skipif(not PRODUCTS.is_dir(), reason="../shared/datasets/products is absent (dev/CI only)")
def test_opaque_photo_without_a_mask_is_segmented_and_an_empty_one_refused():
    """No alpha and no attached mask: the cut-out asks the segmentation network (built-in
    U²-Net-p). A real product photographed on white comes out with its true shape; an
    all-white photo has nothing to cut out and says so."""
    prod = resize_to_fit(decode((PRODUCTS / "saleor-blue-plimsolls-1.png").read_bytes()), 320)
    photo = Image(rgb=prod.rgb * prod.alpha + (1 - prod.alpha), info={"format": "JPEG"})
    out = render(photo, "cutout", {})
    truth, got = prod.alpha >= 0.5, out.alpha >= 0.5
    iou = float((truth & got).sum()) / float((truth | got).sum())
    assert iou >= 0.9 and out.info["mask_kind"] == "segmented"
    with pytest.raises(ProcessorError, match="No product found in this photo"):
        render(Image(rgb=torch.ones(3, 96, 128)), "cutout", {})
