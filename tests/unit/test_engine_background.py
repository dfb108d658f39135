"""The "background" processor and the marketplace preset: framing, backgrounds, shadows."""

import io
from pathlib import Path

import pytest
import torch
from PIL import Image as PILImage

from imagegen.engine import Image, ParameterError, ProcessorError, decode, render
from imagegen.engine.framing import product_bounds
from imagegen.engine.pipeline import validate
from imagegen.engine.presets import MARKETPLACE_MAX_SIZE, MARKETPLACE_PARAMS, MARKETPLACE_PROCESSOR

PRODUCTS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "products"
needs_products = pytest.mark.skipif(not PRODUCTS.is_dir(), reason="../shared/datasets/products is absent (dev/CI only)")
NO_SHADOW = {"shadow": "none"}


def drawn(h: int = 60, w: int = 80, box=(30, 10, 50, 50), soft: bool = False) -> Image:
    """A textured 20x40 product (bright, so a shadow on it would show) on transparency."""
    g = torch.Generator().manual_seed(5)
    rgb = torch.rand(3, h, w, generator=g) * 0.5 + 0.5
    alpha = torch.zeros(1, h, w)
    l, t, r, b = box
    alpha[:, t:b, l:r] = 1.0
    if soft:
        alpha[:, t:b, r] = 0.5
    return Image(rgb=rgb, alpha=alpha, info={"format": "PNG"})


def placed(out: Image) -> tuple[int, int, int, int]:
    return tuple(out.info["product_box"])


def test_product_is_copied_exactly_and_framed_by_fill():
    src = drawn()
    out = render(src, "background", {**NO_SHADOW, "aspect": "1:1", "fill": 0.5, "color": "#336699"})
    assert out.alpha is None and (out.width, out.height) == (80, 80)  # 40 px product = half of 80
    l, t, r, b = placed(out)
    assert (r - l, b - t) == (20, 40) and (l, t) == (30, 20)  # centred
    assert torch.equal(out.rgb[:, t:b, l:r], src.rgb[:, 10:50, 30:50])  # bit for bit
    back = torch.tensor([0x33, 0x66, 0x99]) / 255.0
    assert torch.equal(out.rgb[:, 0, 0], back) and torch.equal(out.rgb[:, -1, -1], back)
    assert torch.equal(out.mask[:, t:b, l:r], src.alpha[:, 10:50, 30:50]) and float(out.mask.sum()) == 800


def test_soft_edges_are_composited():
    src = drawn(soft=True)
    out = render(src, "background", {**NO_SHADOW, "color": "#000000", "aspect": "1:1", "fill": 0.5})
    l, t, r, b = placed(out)
    assert r - l == 21  # the half-transparent column is part of the product's box
    assert torch.allclose(out.rgb[:, t:b, r - 1], 0.5 * src.rgb[:, 10:50, 50], atol=1e-6)


def test_aspects_and_alignment():
    src = drawn()  # 20 x 40, tall
    for aspect, ratio in (("16:9", 16 / 9), ("4:5", 0.8), ("3:4", 0.75), ("original", 80 / 60)):
        out = render(src, "background", {**NO_SHADOW, "aspect": aspect, "fill": 0.8})
        assert abs(out.width / out.height - ratio) < 0.03, aspect
        l, t, r, b = placed(out)
        assert max((r - l) / out.width, (b - t) / out.height) == pytest.approx(0.8, abs=0.03), aspect
    out = render(src, "background", {**NO_SHADOW, "aspect": "1:1", "fill": 0.8, "align": "bottom"})
    l, t, r, b = placed(out)
    assert out.height - b == round(0.1 * out.height)  # the floor margin = the side margins of a centred product
    wide = drawn(box=(5, 25, 75, 35))  # 70 x 10 in a square: placed low, on the same floor margin
    out = render(wide, "background", {**NO_SHADOW, "aspect": "1:1", "fill": 0.8, "align": "bottom"})
    l, t, r, b = placed(out)
    assert out.height - b == round(0.1 * out.height) and t > out.height / 2


def test_gradients():
    src = drawn()
    params = {**NO_SHADOW, "aspect": "1:1", "fill": 0.4, "color": "#ffffff", "color2": "#000000"}
    out = render(src, "background", {**params, "gradient": "vertical"})
    column = out.rgb[0, :, 0]
    assert float(column[0]) == pytest.approx(1.0) and float(column[-1]) == pytest.approx(0.0, abs=1e-6)
    assert bool((column[1:] <= column[:-1] + 1e-6).all())  # monotonic, top to bottom
    out = render(src, "background", {**params, "gradient": "radial"})
    corner, edge = float(out.rgb[0, 0, 0]), float(out.rgb[0, 0, out.width // 2])
    assert corner < 0.05 and edge == pytest.approx(1 - 0.5**0.5, abs=0.05)  # white centre to black corners


def png(pil: PILImage.Image) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, "PNG")
    return buf.getvalue()


def test_reference_photo_is_cover_cropped():
    # a 300x100 photo in three vertical bands: a square frame covers it by its middle band
    photo = PILImage.new("RGB", (300, 100), (255, 0, 0))
    photo.paste((0, 255, 0), (100, 0, 200, 100))
    photo.paste((0, 0, 255), (200, 0, 300, 100))
    out = render(drawn(), "background", {**NO_SHADOW, "aspect": "1:1"}, reference=png(photo))
    for y, x in ((3, 3), (3, -4), (-4, 3), (-4, -4)):  # corners, 3 px in (the resized bands' edges blend)
        assert out.rgb[:, y, x].tolist() == pytest.approx([0.0, 1.0, 0.0], abs=0.02)
    # a tall photo in a 16:9 frame: its middle horizontal band
    tall = PILImage.new("RGB", (100, 300), (255, 0, 0))
    tall.paste((0, 0, 255), (0, 100, 100, 200))
    out = render(drawn(), "background", {**NO_SHADOW, "aspect": "16:9", "blur": 5}, reference=png(tall))
    assert out.rgb[:, out.height // 2, 0].tolist() == pytest.approx([0.0, 0.0, 1.0], abs=0.02)
    with pytest.raises(ParameterError, match="not a usable background photo"):
        render(drawn(), "background", {}, reference=b"not an image")


def shadow_of(src: Image, kind: str, **params) -> tuple[Image, torch.Tensor]:
    base = {"aspect": "1:1", "fill": 0.6, "color": "#ffffff", **params}
    with_shadow = render(src, "background", {**base, "shadow": kind})
    without = render(src, "background", {**base, "shadow": "none"})
    assert placed(with_shadow) == placed(without)
    return with_shadow, (without.rgb - with_shadow.rgb).amax(dim=0)


@pytest.mark.parametrize("kind", ["contact", "drop"])
def test_shadows_lie_below_the_product_and_never_darken_it(kind):
    src = drawn(120, 160, (60, 20, 100, 100))  # 40 x 80
    out, dark = shadow_of(src, kind)
    l, t, r, b = placed(out)
    assert torch.equal(out.rgb[:, t:b, l:r], src.rgb[:, 20:100, 60:100])  # the product itself: untouched
    outside = out.mask[0] < 1
    shade = dark * outside
    assert float(shade.max()) > 0.1  # there is a shadow
    ys = torch.arange(out.height, dtype=torch.float32).view(-1, 1).expand_as(shade)
    centre_y = float((shade * ys).sum() / shade.sum())
    if kind == "contact":
        rows = torch.nonzero(shade.amax(dim=1) > 2 / 255).flatten()
        assert int(rows[0]) >= b - 0.1 * (b - t)  # grounded: nothing above the product's base
        assert b - 1 <= centre_y <= b + 0.05 * (b - t)  # centred on the base line, hugging it
        assert float(shade[b - 1 :, l:r].amax(dim=0).min()) > 0.05  # under the whole footprint
    else:
        assert centre_y > (t + b) / 2  # below the product's centre
        xs = torch.arange(out.width, dtype=torch.float32).view(1, -1).expand_as(shade)
        assert float((shade * xs).sum() / shade.sum()) > (l + r) / 2  # light from the top left


@needs_products
def test_marketplace_preset_is_exact():
    names = ["saleor-blue-plimsolls-1.png", "saleor-beanie-1.png", "saleor-white-hoodie.png", "saleor-cushion-blue.png"]
    fills = []
    for name in names:
        out = render(decode((PRODUCTS / name).read_bytes()), MARKETPLACE_PROCESSOR, MARKETPLACE_PARAMS, max_size=MARKETPLACE_MAX_SIZE)
        u8 = (out.rgb * 255).round().to(torch.uint8)
        assert out.alpha is None and out.width == out.height >= 1600, name  # square, large enough
        for y, x in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
            assert u8[:, y, x].tolist() == [255, 255, 255], name
        border = torch.cat([u8[:, :20].flatten(1), u8[:, -20:].flatten(1), u8[:, :, :20].flatten(1), u8[:, :, -20:].flatten(1)], 1)
        assert bool((border == 255).all()), name  # a pure white frame all around
        box = product_bounds((u8 < 230).any(dim=0, keepdim=True).float())  # measured on the output: 10% off white
        fill = max(box[2] - box[0], box[3] - box[1]) / out.width
        assert fill == pytest.approx(0.85, abs=0.02), name
        fills.append(fill)
        assert "note" not in out.info
    assert max(fills) - min(fills) < 0.01  # the grid looks uniform


def test_min_size_enlarges_the_product_at_most_to_the_photo_size():
    out = render(drawn(), MARKETPLACE_PROCESSOR, MARKETPLACE_PARAMS)  # a 40 px product in an 80 px photo
    assert out.width == out.height == 80  # 40 / 0.85 = 48 at scale 1, enlarged to the photo's 80
    l, t, r, b = placed(out)
    assert max(r - l, b - t) / 80 == pytest.approx(0.85, abs=0.02)
    assert "too small for a 1600 px frame" in out.info["note"]
    assert torch.equal(out.rgb[:, :, 0], torch.ones(3, 80))
    same = render(drawn(), "background", {**NO_SHADOW, "aspect": "1:1", "fill": 0.85, "min_size": 40})
    assert same.width == 48 and "note" not in same.info and "scaled" not in same.info


def test_no_product_tiny_and_bad_parameters():
    with pytest.raises(ProcessorError, match="No product found in this photo"):
        render(Image(rgb=torch.ones(3, 50, 50), alpha=torch.zeros(1, 50, 50)), "background", {})
    with pytest.raises(ProcessorError, match="No product found"):  # an all-white photo, empty segmentation
        render(Image(rgb=torch.ones(3, 50, 50), mask=torch.zeros(1, 50, 50)), "background", {})
    tiny = Image(rgb=torch.rand(3, 3, 3), alpha=torch.ones(1, 3, 3))
    for shadow in ("none", "contact", "drop"):
        out = render(tiny, "background", {"shadow": shadow, "aspect": "16:9"})
        assert out.height >= 3 and out.width >= 5 and bool(torch.isfinite(out.rgb).all())
    assert validate("background", {"color": "#ABC"})["color"] == "#aabbcc"
    for params, words in (
        ({"color": "white"}, "'color' must be a colour like '#ffffff'"),
        ({"color2": "#12345"}, "'color2' must be a colour"),
        ({"fill": 0}, "'fill' must be a number >= 0.1 and <= 1"),
        ({"blur": 51}, "'blur'"),
        ({"aspect": "2:1:1"}, "'aspect' must be an aspect ratio"),
        ({"shadow": "soft"}, "'shadow' must be one of 'none', 'contact', 'drop'"),
        ({"min_size": 1.5}, "'min_size' must be an integer"),
        ({"align": "top"}, "'align' must be one of"),
    ):
        with pytest.raises(ParameterError, match=words):
            validate("background", params)


def test_faint_fringes_are_kept_but_not_framed():
    """A baked-in faint shadow under the product: pasted (nothing cut), but the product is
    framed by its solid pixels, so products with and without one are framed alike."""
    src = drawn()  # solid 20 x 40 at (30, 10)
    src.alpha[:, 50, 30:50] = 0.1  # a faint row under it
    out = render(src, "background", {**NO_SHADOW, "aspect": "1:1", "fill": 0.5, "color": "#000000"})
    l, t, r, b = placed(out)
    assert (r - l, b - t) == (20, 40) and out.width == 80  # framed by the solid part
    assert torch.allclose(out.rgb[:, b, l:r], 0.1 * src.rgb[:, 50, 30:50], atol=1e-6)  # the fringe is there
