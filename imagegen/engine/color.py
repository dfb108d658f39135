"""Colour space conversions in torch: sRGB <-> linear RGB <-> XYZ (D65) <-> CIE Lab.

All functions are differentiable, work on any float dtype/device and take the colour
channel at ``dim`` (default -3, i.e. images shaped (..., 3, H, W)); pass ``dim=-1`` for
tensors shaped (..., 3).
"""

from __future__ import annotations

import torch

__all__ = [
    "srgb_to_linear",
    "linear_to_srgb",
    "linear_rgb_to_xyz",
    "xyz_to_linear_rgb",
    "xyz_to_lab",
    "lab_to_xyz",
    "rgb_to_lab",
    "lab_to_rgb",
    "lab_to_rgb_in_gamut",
    "delta_e2000",
]

# sRGB (IEC 61966-2-1) linear RGB -> XYZ, D65.
_RGB_TO_XYZ = torch.tensor(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ],
    dtype=torch.float64,
)
_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_XYZ)
# White point taken from the matrix itself so that sRGB white maps to exactly L=100, a=b=0.
_WHITE = _RGB_TO_XYZ.sum(dim=1)

_EPS = 216.0 / 24389.0  # (6/29)^3
_KAPPA = 24389.0 / 27.0

def _matmul(m: torch.Tensor, x: torch.Tensor, dim: int) -> torch.Tensor:
    x = x.movedim(dim, -1)
    y = x @ m.to(dtype=x.dtype, device=x.device).T
    return y.movedim(-1, dim)

def _shape(v: torch.Tensor, x: torch.Tensor, dim: int) -> torch.Tensor:
    """Reshape a (3,) vector so it broadcasts along ``dim`` of ``x``."""
    dim = dim % x.ndim
    shape = [1] * x.ndim
    shape[dim] = 3
    return v.to(dtype=x.dtype, device=x.device).reshape(shape)

def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """Undo the sRGB transfer curve (values 0..1)."""
    # clamp inside pow keeps gradients finite for values <= 0.04045
    high = ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4
    return torch.where(rgb <= 0.04045, rgb / 12.92, high)

def linear_to_srgb(lin: torch.Tensor) -> torch.Tensor:
    """Apply the sRGB transfer curve."""
    high = 1.055 * lin.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055
    return torch.where(lin <= 0.0031308, lin * 12.92, high)

def linear_rgb_to_xyz(lin: torch.Tensor, dim: int = -3) -> torch.Tensor:
    return _matmul(_RGB_TO_XYZ, lin, dim)

def xyz_to_linear_rgb(xyz: torch.Tensor, dim: int = -3) -> torch.Tensor:
    return _matmul(_XYZ_TO_RGB, xyz, dim)

def xyz_to_lab(xyz: torch.Tensor, dim: int = -3) -> torch.Tensor:
    t = xyz / _shape(_WHITE, xyz, dim)
    f = torch.where(t > _EPS, t.clamp(min=_EPS) ** (1.0 / 3.0), (_KAPPA * t + 16.0) / 116.0)
    fx, fy, fz = f.unbind(dim)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=dim)

def lab_to_xyz(lab: torch.Tensor, dim: int = -3) -> torch.Tensor:
    L, a, b = lab.unbind(dim)
    fy = (L + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    f = torch.stack([fx, fy, fz], dim=dim)
    cube = f * f * f  # cheaper than a float pow, and needed twice
    t = torch.where(cube > _EPS, cube, (116.0 * f - 16.0) / _KAPPA)
    return t * _shape(_WHITE, lab, dim)

def rgb_to_lab(rgb: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """sRGB (0..1) -> CIE Lab (L 0..100) under D65."""
    return xyz_to_lab(linear_rgb_to_xyz(srgb_to_linear(rgb), dim), dim)

def lab_to_rgb(lab: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """CIE Lab -> sRGB. Not clamped: out-of-gamut colours fall outside 0..1."""
    return linear_to_srgb(xyz_to_linear_rgb(lab_to_xyz(lab, dim), dim))

def delta_e2000(
    lab1: torch.Tensor,
    lab2: torch.Tensor,
    dim: int = -3,
    *,
    kL: float = 1.0,
    kC: float = 1.0,
    kH: float = 1.0,
) -> torch.Tensor:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005); the channel dim is removed."""
    L1, a1, b1 = lab1.unbind(dim)
    L2, a2, b2 = lab2.unbind(dim)
    C1 = torch.sqrt(a1**2 + b1**2)
    C2 = torch.sqrt(a2**2 + b2**2)
    Cbar7 = ((C1 + C2) / 2.0) ** 7
    G = 0.5 * (1.0 - torch.sqrt(Cbar7 / (Cbar7 + 25.0**7)))
    a1p = (1.0 + G) * a1
    a2p = (1.0 + G) * a2
    C1p = torch.sqrt(a1p**2 + b1**2)
    C2p = torch.sqrt(a2p**2 + b2**2)
    # hue angles in degrees 0..360; 0 by convention where chroma is 0
    h1p = torch.rad2deg(torch.atan2(b1, a1p)) % 360.0
    h2p = torch.rad2deg(torch.atan2(b2, a2p)) % 360.0
    h1p = torch.where(C1p == 0, torch.zeros_like(h1p), h1p)
    h2p = torch.where(C2p == 0, torch.zeros_like(h2p), h2p)

    dLp = L2 - L1
    dCp = C2p - C1p
    prod_zero = (C1p * C2p) == 0
    dh = h2p - h1p
    dh = torch.where(dh > 180.0, dh - 360.0, torch.where(dh < -180.0, dh + 360.0, dh))
    dh = torch.where(prod_zero, torch.zeros_like(dh), dh)
    dHp = 2.0 * torch.sqrt(C1p * C2p) * torch.sin(torch.deg2rad(dh) / 2.0)

    Lbar = (L1 + L2) / 2.0
    Cbarp = (C1p + C2p) / 2.0
    hsum = h1p + h2p
    far = (h1p - h2p).abs() > 180.0
    hbar = torch.where(far, torch.where(hsum < 360.0, hsum + 360.0, hsum - 360.0), hsum) / 2.0
    hbar = torch.where(prod_zero, hsum, hbar)

    T = (
        1.0
        - 0.17 * torch.cos(torch.deg2rad(hbar - 30.0))
        + 0.24 * torch.cos(torch.deg2rad(2.0 * hbar))
        + 0.32 * torch.cos(torch.deg2rad(3.0 * hbar + 6.0))
        - 0.20 * torch.cos(torch.deg2rad(4.0 * hbar - 63.0))
    )
    dtheta = 30.0 * torch.exp(-(((hbar - 275.0) / 25.0) ** 2))
    Cbarp7 = Cbarp**7
    RC = 2.0 * torch.sqrt(Cbarp7 / (Cbarp7 + 25.0**7))
    SL = 1.0 + 0.015 * (Lbar - 50.0) ** 2 / torch.sqrt(20.0 + (Lbar - 50.0) ** 2)
    SC = 1.0 + 0.045 * Cbarp
    SH = 1.0 + 0.015 * Cbarp * T
    RT = -torch.sin(torch.deg2rad(2.0 * dtheta)) * RC

    tl = dLp / (kL * SL)
    tc = dCp / (kC * SC)
    th = dHp / (kH * SH)
    return torch.sqrt(tl**2 + tc**2 + th**2 + RT * tc * th)



def lab_to_rgb_in_gamut(lab: torch.Tensor, dim: int = -3, iterations: int = 10) -> torch.Tensor:
    """Lab -> sRGB in 0..1, bringing out-of-gamut colours in by reducing their chroma at
    constant L and hue (bisection). A plain RGB clamp shifts hue (saturated blues turn
    purple), which matters when a colour transfer pushes many pixels out of gamut."""
    lab = lab.movedim(dim, -1)
    shape = lab.shape
    flat = lab.reshape(-1, 3).clone()
    flat[:, 0] = flat[:, 0].clamp(0.0, 100.0)
    rgb = lab_to_rgb(flat, dim=-1)
    tol = 1e-6
    out = ((rgb < -tol) | (rgb > 1 + tol)).any(-1)
    if bool(out.any()):
        sub = flat[out]
        lo = torch.zeros(sub.shape[0], 1, dtype=sub.dtype, device=sub.device)  # in gamut (grey)
        hi = torch.ones_like(lo)  # out of gamut
        scale = torch.tensor([0.0, 1.0, 1.0], dtype=sub.dtype, device=sub.device)
        # The search tests linear RGB: the sRGB curve maps 0..1 onto 0..1 monotonically, so
        # the same pixels are in gamut, and its pow() was half the cost of every step.
        low, high = -tol / 12.92, 1 + tol * 2.4 / 1.055
        for _ in range(iterations):
            mid = (lo + hi) / 2
            test = sub * (1 - scale) + sub * scale * mid
            test_lin = xyz_to_linear_rgb(lab_to_xyz(test, dim=-1), dim=-1)
            bad = ((test_lin < low) | (test_lin > high)).any(-1, keepdim=True)
            hi = torch.where(bad, mid, hi)
            lo = torch.where(bad, lo, mid)
        rgb = rgb.clone()
        rgb[out] = lab_to_rgb(sub * (1 - scale) + sub * scale * lo, dim=-1)
    return rgb.clamp(0.0, 1.0).reshape(shape).movedim(-1, dim)
