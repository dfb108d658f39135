"""The procedural product photos, reference palettes and .cube LUTs of the demo catalogue.

Pure Pillow/numpy: runs without Django (``-p no:django``) and without any download.
"""

from __future__ import annotations

import colorsys
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image

from shop.catalogue.drawing import (
    CATEGORIES,
    KINDS,
    LUT_LOOKS,
    REFERENCE_PALETTES,
    demo_catalogue,
    draw_product,
    draw_reference_palette,
    make_cube_lut,
)

SIZE = 192  # small and quick; the geometry is resolution independent
RED = (200, 30, 40)
BLUE = (30, 60, 200)


def _draw(kind: str, color=RED, transparent: bool = False, seed: int = 0, size: int = SIZE) -> Image.Image:
    return draw_product(kind, color=color, size=size, transparent=transparent, seed=seed)


def _alpha(image: Image.Image) -> np.ndarray:
    return np.asarray(image.getchannel("A"), dtype=np.float64) / 255.0


def _corners(a: np.ndarray, k: int = 8) -> np.ndarray:
    return np.concatenate([a[:k, :k].ravel(), a[:k, -k:].ravel(), a[-k:, :k].ravel(), a[-k:, -k:].ravel()])


def _product_mask(kind: str, seed: int = 0) -> np.ndarray:
    """Where the product itself is (opaque), not the soft shadow."""
    return _alpha(_draw(kind, transparent=True, seed=seed)) > 0.9


def _mean_hue(image: Image.Image, mask: np.ndarray) -> float:
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)[mask] / 255.0
    return colorsys.rgb_to_hsv(*rgb.mean(axis=0))[0]


def _hue_distance(a: float, b: float) -> float:
    d = abs(a - b) % 1.0
    return min(d, 1.0 - d)


def _parse_cube(text: str) -> tuple[dict[str, str], np.ndarray]:
    header: dict[str, str] = {}
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line[0].isalpha():
            key, _, value = line.partition(" ")
            header[key] = value.strip()
        else:
            rows.append([float(v) for v in line.split()])
    return header, np.array(rows)


# ---------------------------------------------------------------------------------------------
# product shots
# ---------------------------------------------------------------------------------------------


def test_kinds_cover_garments_mugs_bottles_shoes():
    assert {"tshirt", "hoodie", "mug", "bottle", "shoe"} <= set(KINDS)
    assert {"cap", "beanie"} & set(KINDS)
    assert set(CATEGORIES) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("transparent", [False, True])
def test_size_and_mode(kind, transparent):
    image = _draw(kind, transparent=transparent, size=150)
    assert image.size == (150, 150)
    assert image.mode == ("RGBA" if transparent else "RGB")


def test_default_size_is_768():
    image = draw_product("mug", color=RED)
    assert image.size == (768, 768) and image.mode == "RGB"


@pytest.mark.parametrize("kind", KINDS)
def test_transparent_background_and_solid_product(kind):
    a = _alpha(_draw(kind, transparent=True))
    assert _corners(a).max() == 0.0, "the background must be fully transparent"
    c = SIZE // 2
    r = SIZE // 20
    centre = a[c - r : c + r, c - r : c + r]
    assert (centre > 0.5).mean() > 0.9, "the product must cover the centre"
    # the shadow stays, semi-transparent: some pixels are neither background nor product
    assert ((a > 0.03) & (a < 0.6)).mean() > 0.005


@pytest.mark.parametrize("kind", KINDS)
def test_opaque_studio_background_is_light(kind):
    rgb = np.asarray(_draw(kind), dtype=np.float64)
    for ch in range(3):
        assert _corners(rgb[..., ch]).mean() > 200
    assert _corners(rgb.min(axis=2)).min() > 185


@pytest.mark.parametrize("kind", KINDS)
def test_product_covers_a_sensible_fraction(kind):
    fraction = _product_mask(kind).mean()
    assert 0.10 <= fraction <= 0.70, fraction


@pytest.mark.parametrize("kind", KINDS)
def test_product_is_shaded_not_flat(kind):
    image = _draw(kind, color=(120, 140, 160), transparent=True)
    mask = _alpha(image) > 0.99
    luma = np.asarray(image.convert("L"), dtype=np.float64)[mask]
    assert luma.std() > 8, "3-D shading should spread the product's brightness"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("transparent", [False, True])
def test_deterministic(kind, transparent):
    a = _draw(kind, transparent=transparent, seed=7)
    b = _draw(kind, transparent=transparent, seed=7)
    assert a.tobytes() == b.tobytes()


def test_seed_varies_the_shot():
    assert _draw("tshirt", seed=1).tobytes() != _draw("tshirt", seed=2).tobytes()


@pytest.mark.parametrize("kind", KINDS)
def test_colour_drives_the_product_hue(kind):
    mask = _product_mask(kind)
    red = _mean_hue(_draw(kind, color=RED), mask)
    blue = _mean_hue(_draw(kind, color=BLUE), mask)
    assert _hue_distance(red, blue) > 0.2
    assert _hue_distance(red, colorsys.rgb_to_hsv(*(c / 255 for c in RED))[0]) < 0.08
    assert _hue_distance(blue, colorsys.rgb_to_hsv(*(c / 255 for c in BLUE))[0]) < 0.08


def test_transparent_and_opaque_agree_on_the_product():
    opaque = np.asarray(_draw("bottle"), dtype=np.float64)
    rgba = _draw("bottle", transparent=True)
    mask = _alpha(rgba) > 0.999
    diff = np.abs(opaque[mask] - np.asarray(rgba.convert("RGB"), dtype=np.float64)[mask])
    assert diff.mean() < 6


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        draw_product("spaceship", color=RED)
    with pytest.raises(ValueError):
        draw_product("mug", color=(300, 0, 0))


# ---------------------------------------------------------------------------------------------
# demo catalogue
# ---------------------------------------------------------------------------------------------


def test_demo_catalogue():
    entries = demo_catalogue(24)
    assert len(entries) == 24
    names = [e["name"] for e in entries]
    assert len(set(names)) == 24
    assert {e["kind"] for e in entries} == set(KINDS)
    assert 8 <= sum(e["transparent"] for e in entries) <= 16
    assert len({e["color"] for e in entries}) >= 12
    for e in entries:
        assert set(e) >= {"name", "kind", "category", "color", "transparent", "price", "description", "seed"}
        assert e["category"] == CATEGORIES[e["kind"]]
        assert isinstance(e["price"], Decimal) and e["price"] > 0
        assert e["price"] == e["price"].quantize(Decimal("0.01"))
        assert len(e["color"]) == 3 and all(0 <= c <= 255 for c in e["color"])
        assert e["description"]
        assert isinstance(e["seed"], int)
    assert demo_catalogue(24) == entries  # deterministic


def test_demo_catalogue_names_stay_unique_when_large():
    names = [e["name"] for e in demo_catalogue(400)]
    assert len(set(names)) == 400
    assert demo_catalogue(0) == []


# ---------------------------------------------------------------------------------------------
# reference palettes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REFERENCE_PALETTES)
def test_reference_palette(name):
    image = draw_reference_palette(name, size=96)
    assert image.size == (96, 96) and image.mode == "RGB"
    assert np.asarray(image).std() > 10  # a picture, not a flat fill
    assert draw_reference_palette(name, size=96).tobytes() == image.tobytes()


def test_reference_palettes_have_their_colours():
    mean = {n: np.asarray(draw_reference_palette(n, size=96), dtype=np.float64).reshape(-1, 3).mean(0) for n in ("sunset", "forest", "ocean")}
    r, g, b = mean["sunset"]
    assert r > b and r > g
    r, g, b = mean["forest"]
    assert g > r and g > b
    r, g, b = mean["ocean"]
    assert b > r and g > r
    with pytest.raises(ValueError):
        draw_reference_palette("mars")


# ---------------------------------------------------------------------------------------------
# .cube LUTs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LUT_LOOKS)
@pytest.mark.parametrize("n", [2, 17])
def test_cube_lut_parses(name, n):
    text = make_cube_lut(name, size=n)
    header, rows = _parse_cube(text)
    assert text.startswith("TITLE")
    assert header["TITLE"].strip('"') == name
    assert header["LUT_3D_SIZE"] == str(n)
    assert rows.shape == (n**3, 3)
    assert rows.min() >= 0.0 and rows.max() <= 1.0
    data_lines = [ln for ln in text.splitlines() if ln and (ln[0].isdigit() or ln[0] == "-")]
    assert all(len(v.split(".")[1]) == 6 for ln in data_lines[:20] for v in ln.split())


def test_cube_lut_red_changes_fastest():
    n = 5
    _, rows = _parse_cube(make_cube_lut("cool", size=n))
    table = rows.reshape(n, n, n, 3)  # [blue][green][red]
    assert (np.diff(table[0, 0, :, 0]) > 0).all(), "red output rises along the fastest index"
    assert (np.diff(table[0, :, 0, 1]) > 0).all(), "green output rises along the middle index"
    assert (np.diff(table[:, 0, 0, 2]) > 0).all(), "blue output rises along the slowest index"


def test_vintage_changes_colours_but_keeps_tone_order():
    n = 17
    _, rows = _parse_cube(make_cube_lut("vintage", size=n))
    table = rows.reshape(n, n, n, 3)
    v = np.linspace(0, 1, n)
    b, g, r = np.meshgrid(v, v, v, indexing="ij")
    identity = np.stack([r, g, b], axis=-1)
    assert np.abs(table - identity).max() > 0.05, "vintage must not be the identity"
    grey = table[np.arange(n), np.arange(n), np.arange(n)]
    assert np.abs(grey - v[:, None]).max() > 0.03  # faded blacks / warm highlights
    luma = grey @ np.array([0.2126, 0.7152, 0.0722])
    assert (np.diff(luma) > 0).all(), "luminance must rise monotonically along the grey axis"
    assert grey[0].min() > 0.02, "blacks are faded"
    assert grey[-1][0] > grey[-1][2], "highlights are warm"
    # saturation goes down
    sat_in = identity.max(-1) - identity.min(-1)
    sat_out = table.max(-1) - table.min(-1)
    assert sat_out.mean() < sat_in.mean()


def test_cool_and_mono_warm_looks():
    n = 9
    _, cool = _parse_cube(make_cube_lut("cool", size=n))
    _, sepia = _parse_cube(make_cube_lut("mono-warm", size=n))
    mid_grey = (n // 2) * (1 + n + n * n)  # index of (0.5, 0.5, 0.5)
    assert cool[mid_grey][2] > cool[mid_grey][0], "cool shifts greys towards blue"
    assert sepia[mid_grey][0] > sepia[mid_grey][1] > sepia[mid_grey][2], "mono-warm is sepia"
    # mono: every colour of the same luminance maps to nearly the same tone
    # mono: every output has the same sepia tint, whatever the input colour
    bright = sepia[sepia.sum(1) > 0.3]
    ratio = bright[:, 2] / bright[:, 0]
    assert ratio.std() < 0.08
    with pytest.raises(ValueError):
        make_cube_lut("nope")
