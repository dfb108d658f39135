"""The classical "watercolor" processor: numeric properties, not looks."""
from __future__ import annotations

import torch

from imagegen.engine import render, validate
from imagegen.engine.io import Image
from imagegen.engine.processors.watercolor import kuwahara, paper_texture


def disc(size: int = 96, noise: float = 0.0) -> Image:
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    inside = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size / 3) ** 2
    rgb = torch.ones(3, size, size)
    rgb[:, inside] = torch.tensor([0.2, 0.4, 0.8])[:, None]
    if noise:
        rgb = (rgb + noise * torch.randn(rgb.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    return Image(rgb=rgb)


def total_variation(x: torch.Tensor) -> float:
    return float((x[:, 1:, :] - x[:, :-1, :]).abs().mean() + (x[:, :, 1:] - x[:, :, :-1]).abs().mean())


def test_output_is_an_image_of_the_same_size_in_range_and_deterministic():
    image = disc()
    a, b = render(image, "watercolor", {}), render(image, "watercolor", {})
    assert a.rgb.shape == image.rgb.shape and float(a.rgb.min()) >= 0 and float(a.rgb.max()) <= 1
    assert torch.equal(a.rgb, b.rgb)
    c = render(image, "watercolor", {"seed": 8})
    assert not torch.equal(a.rgb, c.rgb)  # another sheet of paper


def test_washes_are_flat_where_the_photo_is_noisy():
    noisy = disc(noise=0.08)
    out = render(noisy, "watercolor", {"granulation": 0.0, "edges": 0.0, "wash": 0.0})
    assert total_variation(out.rgb) < 0.4 * total_variation(noisy.rgb)


def test_kuwahara_keeps_edges_sharp_while_smoothing():
    image = disc(noise=0.05).rgb
    out = kuwahara(image, 3)
    blurred = torch.nn.functional.avg_pool2d(image[None], 7, stride=1, padding=3)[0]
    column = out[2, 48, :]  # across the disc's edge, blue channel: white 1.0 -> 0.8
    assert total_variation(out) < total_variation(image)
    assert float((out[:, 48, 10:14] - 1).abs().mean()) < float((blurred[:, 48, 10:14] - 1).abs().mean()) + 0.05
    assert float(column.max() - column.min()) > 0.15


def test_rims_are_darker_than_the_inside_of_a_wash():
    out = render(disc(), "watercolor", {"granulation": 0.0, "edges": 0.6, "wash": 0.0}).rgb
    lum = out.mean(0)
    rim = lum[48, 16:19].min()  # the disc's left edge is at x = 48 - 32 = 16
    inside = lum[48, 40:56].mean()
    assert float(rim) < float(inside) - 0.05


def test_paper_stays_white_and_grain_only_touches_pigment():
    out = render(disc(), "watercolor", {"granulation": 0.8}).rgb
    assert float(out[:, :6, :6].min()) > 0.99  # blank paper
    centre = out[:, 40:56, 40:56]
    assert float(centre.std()) > 0.005  # grain in the wash
    flat = render(disc(), "watercolor", {"granulation": 0.0}).rgb[:, 40:56, 40:56]
    assert float(flat.std()) < float(centre.std())


def test_paper_texture_is_reproducible_and_centred():
    a = paper_texture(64, 80, 3, torch.device("cpu"))
    assert torch.equal(a, paper_texture(64, 80, 3, torch.device("cpu"))) and a.shape == (1, 64, 80)
    assert 0.35 < float(a.mean()) < 0.65


def test_transparent_products_are_painted_over_white_and_keep_their_mask():
    image = disc()
    alpha = (image.rgb[2:3] > 0.9).float() * 0 + (image.rgb[0:1] < 0.5).float()
    out = render(Image(rgb=image.rgb, alpha=alpha), "watercolor", {})
    assert out.alpha is not None and torch.equal(out.alpha, alpha)


def test_parameters_are_validated():
    import pytest

    from imagegen.engine import ParameterError

    assert validate("watercolor", {})["radius"] is None
    with pytest.raises(ParameterError, match="'edges'"):
        validate("watercolor", {"edges": 2})
