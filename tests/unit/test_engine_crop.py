"""Smart crops (imagegen.engine.framing, the "crop" processor) and the generic ``aspect``
option of render() on any processor."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegen.engine import Image, ParameterError, render
from imagegen.engine.framing import (
    centroid,
    crop_box,
    largest_crop,
    parse_aspect,
    plan_crop,
    product_bounds,
    visible_bounds,
)
from imagegen.engine.pipeline import validate

RATIOS = ["1:1", "4:5", "3:4", "16:9", "9:16", "21:9"]


def rect_mask(h: int, w: int, box: tuple[int, int, int, int]) -> torch.Tensor:
    m = torch.zeros(1, h, w)
    l, t, r, b = box
    m[:, t:b, l:r] = 1.0
    return m


def product_image(h: int = 60, w: int = 90, box=(50, 10, 80, 40)) -> Image:
    """A red product on a transparent background, alpha = the true mask."""
    rgb = torch.full((3, h, w), 0.2)
    rgb[0] = 0.9
    return Image(rgb=rgb, alpha=rect_mask(h, w, box), info={"format": "PNG"})


def contains(outer, inner) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def test_bounds_centroid_and_aspects():
    m = rect_mask(20, 30, (5, 4, 15, 10))
    assert product_bounds(m) == (5, 4, 15, 10)
    assert centroid(m) == pytest.approx((10.0, 7.0))
    m[0, 10, 5:15] = 0.2  # a soft edge row below: visible, not confident
    m[0, 19, 29] = 0.3  # a faint speck far away: ignored
    assert product_bounds(m) == (5, 4, 15, 10)
    assert visible_bounds(m) == (5, 4, 15, 11)
    assert product_bounds(torch.zeros(1, 5, 5)) is None
    assert parse_aspect("16:9") == pytest.approx(16 / 9)
    assert parse_aspect("4/5") == pytest.approx(0.8)
    assert parse_aspect("original", 300, 200) == pytest.approx(1.5)
    with pytest.raises(ParameterError, match="Unknown aspect"):
        parse_aspect("wide")
    assert largest_crop(90, 60, 1.0) == (60, 60)
    assert largest_crop(90, 60, 16 / 9) == (90, 51)


@settings(max_examples=150, deadline=None)
@given(
    w=st.integers(8, 160),
    h=st.integers(8, 160),
    fx=st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
    ratio=st.sampled_from(RATIOS),
    padding=st.sampled_from([0.0, 0.05, 0.2]),
    ellipse=st.booleans(),
)
def test_crop_never_cuts_a_product_that_fits(w, h, fx, ratio, padding, ellipse):
    l, r = sorted((int(fx[0] * (w - 1)), int(fx[1] * (w - 1))))
    t, b = sorted((int(fx[2] * (h - 1)), int(fx[3] * (h - 1))))
    r, b = r + 1, b + 1
    m = rect_mask(h, w, (l, t, r, b))
    if ellipse and r - l > 2 and b - t > 2:  # a round product: bounds from the mask, not the box
        ys = (torch.arange(h).view(-1, 1) + 0.5 - (t + b) / 2) / ((b - t) / 2)
        xs = (torch.arange(w).view(1, -1) + 0.5 - (l + r) / 2) / ((r - l) / 2)
        m = ((xs**2 + ys**2) <= 1).float()[None]
    bounds = product_bounds(m)
    if bounds is None or float((m >= 0.5).float().mean()) < 0.001:
        return
    box = crop_box(m, ratio, padding)
    cw, ch = largest_crop(w, h, parse_aspect(ratio))
    assert (box[2] - box[0], box[3] - box[1]) == (cw, ch)  # the largest crop of that aspect
    assert 0 <= box[0] and 0 <= box[1] and box[2] <= w and box[3] <= h
    assert abs(cw / ch - parse_aspect(ratio)) <= max(1 / ch, cw / ch**2) + 1e-9  # rounding only
    fits = bounds[2] - bounds[0] <= cw and bounds[3] - bounds[1] <= ch
    plan = plan_crop(m, parse_aspect(ratio), padding)
    assert plan.fits == fits
    if fits:
        assert contains(box, bounds), (box, bounds)
        pad = round(padding * max(bounds[2] - bounds[0], bounds[3] - bounds[1]))
        padded = (max(0, bounds[0] - pad), max(0, bounds[1] - pad), min(w, bounds[2] + pad), min(h, bounds[3] + pad))
        if padded[2] - padded[0] <= cw and padded[3] - padded[1] <= ch:
            assert contains(box, padded)


def test_crop_centres_on_the_product_when_there_is_room():
    m = rect_mask(100, 400, (180, 40, 220, 60))  # a small product in a wide photo
    box = crop_box(m, "1:1", 0.05)
    assert box == (150, 0, 250, 100)  # centred on it


def test_crop_processor_keeps_the_product_and_notes_when_it_cannot():
    img = product_image()
    out = render(img, "crop", {"aspect": "1:1"})
    assert (out.width, out.height) == (60, 60)
    l, t, r, b = out.info["crop"]
    assert contains((l, t, r, b), (50, 10, 80, 40)) and "note" not in out.info
    assert torch.equal(out.rgb, img.rgb[:, t:b, l:r]) and torch.equal(out.alpha, img.alpha[:, t:b, l:r])
    # a product wider than any 9:16 crop of this photo: centred on it, cut, and said so
    wide = product_image(60, 90, (5, 20, 85, 40))
    out = render(wide, "crop", {"aspect": "9:16"})
    assert (out.width, out.height) == (34, 60)
    assert "larger than the largest 9:16 crop" in out.info["note"]
    assert abs((out.info["crop"][0] + out.info["crop"][2]) / 2 - 45) <= 1


def test_crop_of_a_photo_without_product_is_centred_and_noted():
    white = Image(rgb=torch.ones(3, 40, 80))
    out = render(white, "crop", {"aspect": "1:1"})
    assert out.info["crop"] == [20, 0, 60, 40] and "no product found" in out.info["note"]


def test_crop_tiny_and_extreme_images():
    tiny = Image(rgb=torch.rand(3, 3, 3), alpha=torch.ones(1, 3, 3))
    out = render(tiny, "crop", {"aspect": "16:9"})
    assert (out.width, out.height) == (3, 2)
    strip = product_image(4, 400, (190, 0, 210, 4))  # 100:1 panorama, 1:1 crop
    out = render(strip, "crop", {"aspect": "1:1"})
    assert (out.width, out.height) == (4, 4) and "larger than" in out.info["note"]


def test_crop_parameters_are_validated():
    with pytest.raises(ParameterError, match="'aspect' must be an aspect ratio"):
        validate("crop", {"aspect": "original"})
    with pytest.raises(ParameterError, match="'aspect' must be an aspect ratio"):
        validate("crop", {"aspect": "100:1"})
    with pytest.raises(ParameterError, match="'padding'"):
        validate("crop", {"padding": -0.1})
    assert validate("crop", {"aspect": "16x9"})["aspect"] == "16:9"


def test_generic_aspect_on_any_processor():
    img = product_image()
    plain = render(img, "sketch", {})
    assert (plain.width, plain.height) == (90, 60) and "crop" not in plain.info  # default: unchanged
    for ratio, size in (("1:1", (60, 60)), ("16:9", (90, 51)), ("4:5", (48, 60))):
        out = render(img, "sketch", {"aspect": ratio})
        assert (out.width, out.height) == size, ratio
        l, t, r, b = out.info["crop"]
        assert contains((l, t, r, b), (50, 10, 80, 40))
        assert torch.equal(out.alpha, img.alpha[:, t:b, l:r])
    assert validate("look", {"aspect": ""})["aspect"] is None
    with pytest.raises(ParameterError, match="'aspect'"):
        validate("look", {"aspect": "square"})


def test_generic_aspect_on_size_changing_processors():
    img = product_image()
    out = render(img, "cutout", {"trim": False, "aspect": "1:1"})  # cropped around the cut-out's alpha
    assert (out.width, out.height) == (60, 60) and contains(tuple(out.info["crop"]), (50, 10, 80, 40))
    with pytest.raises(ParameterError, match="strength cannot be used"):
        render(img, "cutout", {"strength": 0.5, "aspect": "1:1"})
    # the background processor's own aspect wins: a 16:9 frame, not a crop
    bg = render(img, "background", {"aspect": "16:9", "shadow": "none"})
    assert math.isclose(bg.width / bg.height, 16 / 9, rel_tol=0.03) and "crop" not in bg.info


PRODUCTS = __import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "datasets" / "products"


@pytest.mark.skipif(not PRODUCTS.is_dir(), reason="../shared/datasets/products is absent (dev/CI only)")
@pytest.mark.parametrize("name", ["saleor-beanie-2.png", "saleor-blue-hoodie.png", "saleor-dash-force-1.png"])
def test_crops_of_real_products_keep_them_whole(name):
    """A real product, off-centre in a wide photo: every aspect keeps it whole when it fits."""
    from imagegen.engine import decode, resize_to_fit

    prod = resize_to_fit(decode((PRODUCTS / name).read_bytes()), 200)
    rgb, alpha = torch.ones(3, 200, 420), torch.zeros(1, 200, 420)
    rgb[:, :, 200:400], alpha[:, :, 200:400] = prod.rgb, prod.alpha
    img = Image(rgb=rgb, alpha=None, mask=alpha)  # an opaque photo with the worker's mask
    bounds = visible_bounds(alpha)
    for ratio in RATIOS:
        out = render(img, "crop", {"aspect": ratio})
        box = tuple(out.info["crop"])
        cw, ch = largest_crop(420, 200, parse_aspect(ratio))
        assert (out.width, out.height) == (cw, ch)
        if bounds[2] - bounds[0] <= cw and bounds[3] - bounds[1] <= ch:
            assert contains(box, bounds) and "note" not in out.info, ratio
        else:
            assert "larger than" in out.info["note"], ratio


def test_generic_aspect_after_a_processor_that_only_enlarges():
    """A size-changing processor that returns neither alpha nor mask (like "enhance"): the
    crop follows the source's product mask scaled to the result."""
    from imagegen.engine.processors import Processor, register, unregister

    class Double(Processor):
        name = "test-double"
        changes_size = True

        def process(self, image, params, reference):
            up = torch.nn.functional.interpolate(image.rgb[None], scale_factor=2, mode="nearest")[0]
            return Image(rgb=up, info=dict(image.info))

    register(Double())
    try:
        img = product_image()  # product at (50, 10, 80, 40) of 90 x 60
        out = render(img, "test-double", {"aspect": "1:1"})
        assert (out.width, out.height) == (120, 120)
        assert contains(tuple(out.info["crop"]), (100, 20, 160, 80))
        assert render(img, "test-double", {}).width == 180  # no aspect: unchanged
    finally:
        unregister("test-double")
