import math

import numpy as np
import pytest
import torch

from imagegen.engine.metrics import psnr, ssim


def test_psnr_matches_the_formula():
    x = torch.zeros(3, 8, 8)
    y = torch.full((3, 8, 8), 0.1)
    assert psnr(x, y).item() == pytest.approx(10 * math.log10(1 / 0.01), abs=1e-4)  # 20 dB
    assert psnr(x * 255, y * 255, data_range=255).item() == pytest.approx(20.0, abs=1e-4)
    assert math.isinf(psnr(x, x).item())


def test_ssim_is_one_for_identical_images_and_falls_with_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 64, 64, generator=g)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    very_noisy = (x + 0.4 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-6)
    assert 1.0 > ssim(x, noisy).item() > ssim(x, very_noisy).item()


def test_ssim_of_constant_images_by_hand():
    # Constant images: variances and covariance are 0, so SSIM = (2ab + c1) / (a^2 + b^2 + c1).
    a, b = 0.2, 0.6
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    got = ssim(torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b)).item()
    assert got == pytest.approx(expected, rel=1e-5)


def test_ssim_agrees_with_a_direct_numpy_computation():
    rng = np.random.default_rng(1)
    x = rng.random((11, 11))
    y = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1)
    coords = np.arange(11) - 5
    g = np.exp(-(coords**2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    mx, my = (w * x).sum(), (w * y).sum()
    sxx, syy, sxy = (w * x * x).sum() - mx**2, (w * y * y).sum() - my**2, (w * x * y).sum() - mx * my
    c1, c2 = 0.01**2, 0.03**2
    expected = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    got = ssim(torch.from_numpy(x)[None, None], torch.from_numpy(y)[None, None]).item()
    assert got == pytest.approx(expected, rel=1e-5)


def test_the_numpy_lab_of_sample_points_matches_the_torch_conversion():
    from imagegen.engine.color import rgb_points_to_lab, rgb_to_lab

    g = torch.Generator().manual_seed(3)
    rgb = torch.rand(3, 5000, generator=g)
    rgb[:, :50] = torch.rand(3, 50, generator=g) * 0.04  # the linear part of the sRGB curve
    rgb[:, 50:60] = 0.0  # black: the linear part of Lab's f
    got = rgb_points_to_lab(rgb.numpy())
    assert got.dtype == np.float32 and got.shape == (3, 5000)
    assert np.abs(got - rgb_to_lab(rgb.double(), dim=0).numpy()).max() < 2e-3


def test_ssim_on_every_second_window_estimates_the_full_mean():
    g = torch.Generator().manual_seed(5)
    base = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 136, 136, generator=g), 5, stride=1)  # photo-like: smooth
    noisy = (base + 0.05 * torch.randn(base.shape, generator=g)).clamp(0, 1)
    full, strided = float(ssim(base, noisy)), float(ssim(base, noisy, stride=2))
    assert full < 0.95 and abs(strided - full) < 2e-3
    assert float(ssim(base, base, stride=2)) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="stride"):
        ssim(base, noisy, stride=0)


def test_the_pair_ssim_equals_the_ssim_of_the_two_lumas():
    from imagegen.engine.metrics.restyle import SSIM_STRIDE, fitted_pair, luma, pair_ssim

    g = torch.Generator().manual_seed(9)
    source = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 90, 124, generator=g), 3, stride=1)[0]
    result = (source * 0.7 + 0.3 * torch.rand(source.shape, generator=g)).clamp(0, 1)
    expected = float(ssim(luma(source), luma(result), stride=SSIM_STRIDE))
    assert expected < 0.9
    assert pair_ssim(fitted_pair(source, result)) == pytest.approx(expected, abs=1e-6)
