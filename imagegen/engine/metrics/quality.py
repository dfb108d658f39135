"""PSNR and SSIM in torch, on batches (N,C,H,W) or single images (C,H,W), data range stated."""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from ..blur import depthwise


def _batched(x: torch.Tensor) -> torch.Tensor:
    if x.dim() == 3:
        return x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"expected (C,H,W) or (N,C,H,W), got shape {tuple(x.shape)}")
    return x


def psnr(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image (shape (N,)); inf for identical images."""
    x, y = _batched(x).double(), _batched(y).double()
    mse = (x - y).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range**2 / mse)).float()


def _gaussian_1d(size: int, sigma: float, dtype, device) -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


@lru_cache(maxsize=16)
def _windows(win: int, sigma: float, groups: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The two 1-D Gaussian passes as grouped-convolution weights, made once per shape."""
    with torch.inference_mode(False):  # usable under autograd and inference mode alike
        g = _gaussian_1d(win, sigma, torch.float32, device)
        return depthwise(g.view(1, 1, 1, win), groups), depthwise(g.view(1, 1, win, 1), groups)


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    data_range: float = 1.0,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    stride: int = 1,
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, valid
    region only), mean over channels and pixels, per image (shape (N,)). ``stride`` > 1
    averages the SSIM map over every stride-th window position along each side only (an
    estimate of the full mean: the map is smooth at the window's scale).

    The Gaussian is applied as two 1-D passes (22 taps instead of 121), and the blurred maps
    are computed in one grouped convolution, in float32. SSIM needs the variances only as
    their sum, so x^2 + y^2 is blurred as one map: four maps, not five. (With torch 2.13,
    oneDNN's depthwise kernels run as fast on NCHW as on channels-last, and the channels-last
    copy of the stack cost as much as a convolution pass.)"""
    x, y = _batched(x).float(), _batched(y).float()
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    # Centre on the joint mean first: float32 then keeps the variances exact enough.
    shift = 0.5 * (float(x.mean()) + float(y.mean()))  # any shift is exact in theory: float32 means suffice
    xc, yc = x - shift, y - shift
    stack = torch.cat([xc, yc, torch.addcmul(xc * xc, yc, yc), xc * yc], dim=1)
    return ssim_of_stack(stack, shift, window=window, sigma=sigma, data_range=data_range, k1=k1, k2=k2, stride=stride)


def ssim_of_stack(
    stack: torch.Tensor, shift: float, *, window: int = 11, sigma: float = 1.5, data_range: float = 1.0,
    k1: float = 0.01, k2: float = 0.03, stride: int = 1,
) -> torch.Tensor:
    """SSIM per image from the maps ssim() builds, (N, 4C, H, W): x - shift, y - shift,
    (x - shift)^2 + (y - shift)^2 and (x - shift)(y - shift), each C channels (for callers
    that can build them in fewer passes, e.g. both lumas of a fitted pair in one product)."""
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    channels = stack.shape[1] // 4
    win = min(window, stack.shape[-1], stack.shape[-2])
    groups = stack.shape[1]  # 4C
    across, down = _windows(win, float(sigma), groups, stack.device)
    blurred = F.conv2d(F.conv2d(stack, across, stride=(1, stride), groups=groups), down, stride=(stride, 1), groups=groups)
    mu_x, mu_y, e2, exy = blurred.split(channels, dim=1)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    # Few passes over the maps: the centred products first, then the shift put back into
    # mu_x mu_y and mu_x^2 + mu_y^2 (mu + shift, expanded).
    mxy = mu_x * mu_y
    m2 = torch.addcmul(mu_x * mu_x, mu_y, mu_y)
    cov = (exy - mxy).mul_(2.0).add_(c2)  # 2 sxy + c2
    var = (e2 - m2).add_(c2)  # sxx + syy + c2
    sum_mu = mu_x + mu_y
    num = torch.add(mxy, sum_mu, alpha=shift).mul_(2.0).add_(2.0 * shift * shift + c1).mul_(cov)
    den = torch.add(m2, sum_mu, alpha=2.0 * shift).add_(2.0 * shift * shift + c1).mul_(var)
    ssim_map = num.div_(den)
    return ssim_map.mean(dim=(1, 2, 3), dtype=torch.float64).float()
