"""Issue 14, bug 1: a restyle's figures describe what a viewer sees.

The RGB under fully transparent pixels is invisible (and often black or noise); content SSIM
and the product colour difference must not be computed on it. The Vintage LUT on a
transparent product is near-identical to the eye and must score near 1.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from imagegen.engine import Image, render
from imagegen.engine.io import from_pil
from imagegen.engine.restyle import figures
from shop.catalogue.drawing import make_cube_lut

VINTAGE = make_cube_lut("vintage").encode()
PRODUCTS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "products"


def transparent_product(under: str, size: int = 192, seed: int = 0) -> Image:
    """A drawn product (a shaded disc with stripes) on a fully transparent backdrop whose
    hidden RGB is ``under``: "black" (what most PNG exporters write) or "noise"."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    disc = ((xx**2 + yy**2) < 0.55).float()[None]
    stripes = 0.5 + 0.35 * torch.sin(xx * 18)[None]
    product = torch.cat([stripes * 0.9, stripes * 0.55 + 0.2, 0.25 + 0.3 * (yy[None] + 1) / 2])
    hidden = torch.zeros(3, size, size) if under == "black" else torch.rand(3, size, size, generator=g)
    rgb = product * disc + hidden * (1 - disc)
    return Image(rgb=rgb.clamp(0, 1), alpha=disc, info={"format": "PNG", "mode": "RGBA"})


def composite(img: Image, background=(1.0, 1.0, 1.0)) -> torch.Tensor:
    bg = torch.tensor(background).view(3, 1, 1)
    return img.rgb * img.alpha + bg * (1 - img.alpha)


@pytest.mark.parametrize("under", ["black", "noise"])
def test_vintage_on_a_transparent_product_scores_what_the_eye_sees(under):
    src = transparent_product(under)
    out = render(src, "lut", {}, reference=VINTAGE)
    ssim_seen = out.info["metrics"]["content_ssim"]
    # what a viewer sees: both composited on white; SSIM of luminance of those, by hand
    from imagegen.engine.metrics.restyle import content_ssim

    expected = content_ssim(composite(src), composite(Image(rgb=out.rgb, alpha=out.alpha)))
    assert expected > 0.9  # the look keeps the product's structure
    assert ssim_seen == pytest.approx(expected, abs=1e-3)
    if under == "black":  # the LUT lifts hidden black to grey: the raw RGB alone scored low (the bug)
        assert content_ssim(src.rgb, out.rgb) < ssim_seen - 0.1


def test_hidden_rgb_does_not_change_the_figures():
    """Two images a viewer cannot tell apart get the same figures."""
    black, noise = transparent_product("black"), transparent_product("noise")
    result = render(black, "lut", {}, reference=VINTAGE).rgb
    mask = black.alpha
    a = figures(black, result, mask, "alpha")
    noisy_result = result * mask + torch.rand(result.shape, generator=torch.Generator().manual_seed(3)) * (1 - mask)
    b = figures(noise, noisy_result, mask, "alpha")
    assert a["content_ssim"] == pytest.approx(b["content_ssim"], abs=1e-4)
    assert a["product_delta_e"] == pytest.approx(b["product_delta_e"], abs=1e-3)


def test_figures_use_the_output_background():
    """On a black output background a white-ish product edge reads differently than on white:
    the figure follows the background the variant is shown on."""
    src = transparent_product("noise")
    out = render(src, "lut", {}, reference=VINTAGE, background=(0, 0, 0))
    from imagegen.engine.metrics.restyle import content_ssim

    expected = content_ssim(composite(src, (0.0, 0.0, 0.0)), composite(Image(rgb=out.rgb, alpha=out.alpha), (0.0, 0.0, 0.0)))
    assert out.info["metrics"]["content_ssim"] == pytest.approx(expected, abs=1e-3)


def test_opaque_images_are_unchanged():
    src = transparent_product("black")
    opaque = Image(rgb=src.rgb, alpha=None, info={})
    out = render(opaque, "lut", {}, reference=VINTAGE)
    from imagegen.engine.metrics.restyle import content_ssim

    assert out.info["metrics"]["content_ssim"] == pytest.approx(round(content_ssim(opaque.rgb, out.rgb), 4), abs=1e-4)


@pytest.mark.skipif(not PRODUCTS.is_dir(), reason="../shared/datasets/products is absent (the shared product photos)")
def test_vintage_on_a_real_transparent_product_photo():
    from PIL import Image as PILImage

    with PILImage.open(PRODUCTS / "saleor-blue-plimsolls-1.png") as im:
        src = from_pil(im.convert("RGBA").resize((384, 384), PILImage.LANCZOS))
    assert src.alpha is not None and float((src.alpha == 0).float().mean()) > 0.5
    out = render(src, "lut", {}, reference=VINTAGE)
    assert out.info["metrics"]["content_ssim"] > 0.95, out.info["metrics"]
    assert np.isfinite(out.info["metrics"]["product_delta_e"])
