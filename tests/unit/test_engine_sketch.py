"""The "sketch" processor: pencil sketch in torch."""

import math
from pathlib import Path

import pytest
import torch

from imagegen.engine import Image, ParameterError, decode, render
from imagegen.engine.io import from_pil, resize_to_fit
from imagegen.engine.blur import gaussian_blur
from shop.catalogue.drawing import draw_product

PRODUCTS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "products"


def square_on_plain(bg: float = 0.8) -> Image:
    rgb = torch.full((3, 80, 100), bg)
    rgb[:, 20:60, 30:70] = torch.tensor([0.2, 0.3, 0.6]).view(3, 1, 1)
    return Image(rgb=rgb, alpha=None, info={})


def test_sketch_is_grey_light_with_dark_edges():
    img = square_on_plain()
    out = render(img, "sketch", {"sigma": 3})
    assert out.rgb.shape == img.rgb.shape
    assert torch.equal(out.rgb[0], out.rgb[1]) and torch.equal(out.rgb[1], out.rgb[2])
    grey = out.rgb[0]
    flat_bg = grey[2:10, 2:20]
    assert flat_bg.min() > 0.9  # plain background stays light
    assert float((grey > 0.8).float().mean()) > 0.6  # mostly light
    edge = grey[19:22, 35:65]  # just inside/along the square's top edge
    assert edge.min() < flat_bg.mean() - 0.3  # edges darker


def test_sketch_defaults_and_alpha():
    img = square_on_plain()
    img.alpha = torch.zeros(1, 80, 100)
    img.alpha[:, 10:70, 20:80] = 1
    out = render(img, "sketch", {})
    assert torch.equal(out.alpha, img.alpha)
    assert 0 <= float(out.rgb.min()) and float(out.rgb.max()) <= 1
    assert float(out.rgb[0, 0, 0]) == 1.0  # transparent area drawn as white paper


def test_gaussian_blur_preserves_constant_and_mass():
    x = torch.full((1, 10, 12), 0.3)
    assert torch.allclose(gaussian_blur(x, 2.0), x, atol=1e-6)
    spike = torch.zeros(1, 41, 41)
    spike[0, 20, 20] = 1
    assert abs(float(gaussian_blur(spike, 3.0).sum()) - 1.0) < 1e-4


def test_a_colour_blur_equals_each_channel_blurred_on_its_own():
    """Colour images take the channels-last path, a single channel the plain one: same result."""
    image = from_pil(draw_product("mug", color=(200, 60, 40), size=97, seed=1)).rgb[:, :, :83]
    for sigma in (0.8, 3.0, 12.0):
        together = gaussian_blur(image, sigma)
        apart = torch.cat([gaussian_blur(image[c : c + 1], sigma) for c in range(3)])
        assert together.shape == image.shape
        assert torch.allclose(together, apart, atol=1e-6), sigma


def test_a_wide_blur_at_reduced_resolution_matches_the_exact_one():
    from imagegen.engine.blur import _exact_blur

    # a hard-edged shape (the worst case for the shortcut), odd sizes (padding and cropping)
    image = from_pil(draw_product("shoe", color=(30, 60, 200), size=301, seed=2)).rgb[:, :, :277]
    for sigma in (4.0, 9.5, 20.0):
        fast, exact = gaussian_blur(image, sigma), _exact_blur(image, sigma)
        assert fast.shape == exact.shape == image.shape
        assert float((fast - exact).abs().max()) < 0.02 and float((fast - exact).abs().mean()) < 0.002, sigma
    ys, xs = torch.meshgrid(torch.arange(121.0), torch.arange(121.0), indexing="ij")
    disc = (((ys - 60) ** 2 + (xs - 60) ** 2) <= 100).float()[None]  # radius 10 around (60, 60)
    blurred = gaussian_blur(disc, 12.0)
    mass = float(blurred.sum())
    centre_y, centre_x = float((blurred[0] * ys).sum()) / mass, float((blurred[0] * xs).sum()) / mass
    spread = math.sqrt(float((blurred[0] * ((ys - centre_y) ** 2)).sum()) / mass - 25.0)  # minus the disc's own 10^2/4
    assert abs(mass / float(disc.sum()) - 1) < 1e-3 and abs(centre_y - 60) < 0.05 and abs(centre_x - 60) < 0.05  # not shifted
    assert abs(spread - 12.0) < 0.3  # the width asked for


@pytest.mark.parametrize(
    "params, key",
    [({"sigma": 0}, "sigma"), ({"sigma": -1}, "sigma"), ({"darkness": 99}, "darkness"), ({"blur": 3}, "blur")],
)
def test_sketch_bad_params(params, key):
    with pytest.raises(ParameterError, match=key):
        render(square_on_plain(), "sketch", params)


def test_sketch_real_photo():
    if not PRODUCTS.is_dir():
        pytest.skip(f"product photos not found at {PRODUCTS} (only present in development/CI)")
    img = decode((PRODUCTS / "saleor-dash-force-1.png").read_bytes())
    out = render(img, "sketch", {}, max_size=256)
    assert max(out.width, out.height) == 256
    grey = out.rgb[0]
    assert torch.equal(out.alpha, resize_to_fit(img, 256).alpha)
    assert float((grey > 0.85).float().mean()) > 0.5
    product = out.alpha[0] > 0.5
    assert float(grey[product].min()) < 0.5  # strokes on the product
