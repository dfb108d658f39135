"""Colour space conversions in torch: sRGB <-> linear RGB <-> XYZ (D65) <-> CIE Lab.

All functions are differentiable, work on any float dtype/device and take the colour
channel at ``dim`` (default -3, i.e. images shaped (..., 3, H, W)); pass ``dim=-1`` for
tensors shaped (..., 3).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

__all__ = [
    "srgb_to_linear",
    "linear_to_srgb",
    "linear_rgb_to_xyz",
    "xyz_to_linear_rgb",
    "xyz_to_lab",
    "rgb_points_to_lab",
    "lab_to_xyz",
    "rgb_to_lab",
    "lab_to_rgb",
    "lab_to_rgb_in_gamut",
    "fit_in_gamut",
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

@lru_cache(maxsize=64)
def _cast(m: torch.Tensor, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A constant matrix in ``dtype`` on ``device``, made once: the figures of one render used
    to pay about a hundred of these small copies."""
    with torch.inference_mode(False):  # usable under autograd and inference mode alike
        return m.to(dtype=dtype, device=device)


def _like(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return _cast(m, x.dtype, x.device)


def _planes(x: torch.Tensor, dim: int) -> torch.Tensor:
    """(3, N) view (or copy) of ``x`` with the colour channel first: one row per channel, so
    the 3x3 products below are single matrix multiplies over contiguous rows."""
    return x.movedim(dim, 0).reshape(3, -1)


def _unplanes(y: torch.Tensor, like: torch.Tensor, dim: int) -> torch.Tensor:
    """Inverse of _planes: (3, N) back to the shape of ``like`` with the channel at ``dim``."""
    return y.reshape(like.movedim(dim, 0).shape).movedim(0, dim)


def _matmul(m: torch.Tensor, x: torch.Tensor, dim: int) -> torch.Tensor:
    y = _like(m, x) @ _planes(x, dim)
    return _unplanes(y, x, dim)

def _shape(v: torch.Tensor, x: torch.Tensor, dim: int) -> torch.Tensor:
    """Reshape a (3,) vector so it broadcasts along ``dim`` of ``x``."""
    dim = dim % x.ndim
    shape = [1] * x.ndim
    shape[dim] = 3
    return _like(v, x).reshape(shape)

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

# f = (fx, fy, fz) -> Lab is linear: L = 116 fy - 16, a = 500 (fx - fy), b = 200 (fy - fz).
_F_TO_LAB = torch.tensor([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]], dtype=torch.float64)
_LAB_OFFSET = torch.tensor([[-16.0], [0.0], [0.0]], dtype=torch.float64)
# linear RGB -> XYZ / white in one matrix (the white point folded into the rows), and back.
_RGB_TO_XYZ_REL = _RGB_TO_XYZ / _WHITE[:, None]
_XYZ_REL_TO_RGB = _XYZ_TO_RGB * _WHITE[None, :]


def _lab_f(t: torch.Tensor) -> torch.Tensor:
    """CIE's f(t): cube root above (6/29)^3, a line below."""
    return torch.where(t > _EPS, t.clamp(min=_EPS) ** (1.0 / 3.0), (_KAPPA * t + 16.0) / 116.0)


def _lab_finv(f: torch.Tensor) -> torch.Tensor:
    """Inverse of _lab_f (t relative to the white point)."""
    cube = f * f * f  # cheaper than a float pow, and needed twice
    return torch.where(cube > _EPS, cube, (116.0 * f - 16.0) / _KAPPA)


def _f_to_lab(f: torch.Tensor) -> torch.Tensor:
    """(3, N) f values -> (3, N) Lab, one matrix multiply."""
    return torch.addmm(_like(_LAB_OFFSET, f), _like(_F_TO_LAB, f), f)


def xyz_to_lab(xyz: torch.Tensor, dim: int = -3) -> torch.Tensor:
    t = _planes(xyz, dim) / _like(_WHITE, xyz)[:, None]
    return _unplanes(_f_to_lab(_lab_f(t)), xyz, dim)

def lab_to_xyz(lab: torch.Tensor, dim: int = -3) -> torch.Tensor:
    L, a, b = lab.unbind(dim)
    fy = (L + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    f = torch.stack([fx, fy, fz], dim=dim)
    return _lab_finv(f) * _shape(_WHITE, lab, dim)

def rgb_to_lab(rgb: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """sRGB (0..1) -> CIE Lab (L 0..100) under D65."""
    # Channel rows and the white point folded into the matrix: one matmul to XYZ/white,
    # one to Lab, the per-pixel work is only the two transfer curves.
    lin = srgb_to_linear(_planes(rgb, dim))
    t = _like(_RGB_TO_XYZ_REL, lin) @ lin
    return _unplanes(_f_to_lab(_lab_f(t)), rgb, dim)

def rgb_points_to_lab(rgb: np.ndarray) -> np.ndarray:
    """rgb_to_lab for a (3, N) float32 numpy array of sRGB points (the figures' few thousand
    sample points): the same formulas, in numpy, whose cost per operation is a fraction of
    torch's on arrays this small."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((np.maximum(rgb, 0.04045) + 0.055) / 1.055) ** 2.4)
    t = _np_constant("rgb_to_xyz_rel") @ lin.astype(np.float32, copy=False)
    f = np.where(t > _EPS, np.cbrt(np.maximum(t, _EPS)), (_KAPPA * t + 16.0) / 116.0)
    return (_np_constant("f_to_lab") @ f + _np_constant("lab_offset")).astype(np.float32, copy=False)


@lru_cache(maxsize=None)
def _np_constant(name: str) -> np.ndarray:
    matrix = {"rgb_to_xyz_rel": _RGB_TO_XYZ_REL, "f_to_lab": _F_TO_LAB, "lab_offset": _LAB_OFFSET}[name]
    return matrix.numpy().astype(np.float32)


def lab_to_rgb(lab: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """CIE Lab -> sRGB. Not clamped: out-of-gamut colours fall outside 0..1."""
    return linear_to_srgb(xyz_to_linear_rgb(lab_to_xyz(lab, dim), dim))

def delta_e2000(
    lab1: torch.Tensor | np.ndarray,
    lab2: torch.Tensor | np.ndarray,
    dim: int = -3,
    *,
    kL: float = 1.0,
    kC: float = 1.0,
    kH: float = 1.0,
) -> torch.Tensor | np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005); the channel dim is removed.
    Takes torch tensors or numpy arrays (same formulas): on a few thousand sampled points, as
    the figures use it, numpy's lower cost per operation made it about twice as fast."""
    xp = np if isinstance(lab1, np.ndarray) else torch
    # In radians throughout (the paper's degrees converted once in the constants): the
    # per-pixel work is a third smaller without the deg2rad/rad2deg round trips.
    if xp is np:  # plain indexing: np.moveaxis's axis normalisation showed in the figures' profile
        axis = dim % lab1.ndim
        L1, a1, b1 = (lab1[(slice(None),) * axis + (i,)] for i in range(3))
        L2, a2, b2 = (lab2[(slice(None),) * axis + (i,)] for i in range(3))
    else:
        L1, a1, b1 = lab1.unbind(dim)
        L2, a2, b2 = lab2.unbind(dim)
    C1 = xp.hypot(a1, b1)
    C2 = xp.hypot(a2, b2)
    Cbar7 = ((C1 + C2) / 2.0) ** 7
    G = 0.5 * (1.0 - xp.sqrt(Cbar7 / (Cbar7 + 25.0**7)))
    a1p = (1.0 + G) * a1
    a2p = (1.0 + G) * a2
    C1p = xp.hypot(a1p, b1)
    C2p = xp.hypot(a2p, b2)
    # hue angles in 0..2 pi; 0 by convention where chroma is 0
    two_pi = 2.0 * math.pi
    h1p = xp.arctan2(b1, a1p)
    h2p = xp.arctan2(b2, a2p)
    h1p = xp.where(C1p == 0, 0.0, xp.where(h1p < 0, h1p + two_pi, h1p))
    h2p = xp.where(C2p == 0, 0.0, xp.where(h2p < 0, h2p + two_pi, h2p))

    dLp = L2 - L1
    dCp = C2p - C1p
    prod = C1p * C2p
    prod_zero = prod == 0
    dh = h2p - h1p
    dh = xp.where(dh > math.pi, dh - two_pi, xp.where(dh < -math.pi, dh + two_pi, dh))
    dh = xp.where(prod_zero, 0.0, dh)
    dHp = 2.0 * xp.sqrt(prod) * xp.sin(dh / 2.0)

    Lbar = (L1 + L2) / 2.0
    Cbarp = (C1p + C2p) / 2.0
    hsum = h1p + h2p
    far = abs(h1p - h2p) > math.pi
    hbar = xp.where(far, xp.where(hsum < two_pi, hsum + two_pi, hsum - two_pi), hsum) / 2.0
    hbar = xp.where(prod_zero, hsum, hbar)

    T = (
        1.0
        - 0.17 * xp.cos(hbar - math.radians(30.0))
        + 0.24 * xp.cos(2.0 * hbar)
        + 0.32 * xp.cos(3.0 * hbar + math.radians(6.0))
        - 0.20 * xp.cos(4.0 * hbar - math.radians(63.0))
    )
    # 30 deg * exp(-((hbar - 275 deg) / 25 deg)^2), in radians
    dtheta = math.radians(30.0) * xp.exp(-(((hbar - math.radians(275.0)) / math.radians(25.0)) ** 2))
    Cbarp7 = Cbarp**7
    RC = 2.0 * xp.sqrt(Cbarp7 / (Cbarp7 + 25.0**7))
    Lm50 = (Lbar - 50.0) ** 2
    SL = 1.0 + 0.015 * Lm50 / xp.sqrt(20.0 + Lm50)
    SC = 1.0 + 0.045 * Cbarp
    SH = 1.0 + 0.015 * Cbarp * T
    RT = -xp.sin(2.0 * dtheta) * RC

    tl = dLp / (kL * SL)
    tc = dCp / (kC * SC)
    th = dHp / (kH * SH)
    return xp.sqrt(tl * tl + tc * tc + th * th + RT * tc * th)



def fit_in_gamut(
    lab: torch.Tensor, iterations: int = 10, only: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Linear RGB (3, N) of Lab pixels (3, N), out-of-gamut ones brought in by reducing their
    chroma at constant L and hue (bisection on the chroma scale, ``iterations`` halvings),
    and the Lab those pixels ended at (L clamped to 0..100, a/b scaled). ``only`` (N,) bool:
    fit those pixels, leave the others as converted (the caller clips them).

    The bisection runs on the out-of-gamut pixels alone, one row per quantity: L and so
    fy = (L + 16) / 116 stay fixed while the chroma scale s moves, so only fx = fy + s a/500
    and fz = fy - s b/200 change, and the Y column of the matrix is added once. Each step
    halves [lo, lo + step] exactly as (lo + hi) / 2 did."""
    L = lab[0].clamp(0.0, 100.0)
    fy = (L + 16.0) / 116.0
    fa, fb = lab[1] / 500.0, lab[2] / 200.0
    m = _like(_XYZ_REL_TO_RGB, lab)
    f = torch.stack([fy + fa, fy, fy - fb])
    lin = m @ _lab_finv(f)
    # Tested in linear RGB: the sRGB curve maps 0..1 onto 0..1 monotonically, so the same
    # pixels are in gamut, and its pow() was half the cost of every step.
    tol = 1e-6
    low, high = -tol / 12.92, 1 + tol * 2.4 / 1.055
    bad = (lin.amin(0) < low) | (lin.amax(0) > high)
    if only is not None:
        bad &= only
    fitted = torch.stack([L, lab[1], lab[2]])
    idx = bad.nonzero().squeeze(1)
    if idx.numel() == 0:
        return lin, fitted
    fy_s, fa_s, fb_s = fy[idx], fa[idx], fb[idx]
    mx, my, mz = m[:, 0:1], m[:, 1:2], m[:, 2:3]
    y_part = my * _lab_finv(fy_s)  # (3, K): the Y contribution does not depend on the scale
    lo = torch.zeros_like(fy_s)  # in gamut (grey)
    step = 1.0
    for _ in range(iterations):
        step /= 2
        mid = lo + step
        test = torch.addcmul(y_part, mx, _lab_finv(torch.addcmul(fy_s, fa_s, mid)))
        test.addcmul_(mz, _lab_finv(torch.addcmul(fy_s, fb_s, mid, value=-1.0)))
        ok = (test.amin(0) >= low) & (test.amax(0) <= high)
        lo = torch.where(ok, mid, lo)
    a_s, b_s = lab[1, idx] * lo, lab[2, idx] * lo
    f_s = torch.stack([fy_s + a_s / 500.0, fy_s, fy_s - b_s / 200.0])
    lin[:, idx] = m @ _lab_finv(f_s)
    fitted[1, idx] = a_s
    fitted[2, idx] = b_s
    return lin, fitted


def lab_to_rgb_in_gamut(lab: torch.Tensor, dim: int = -3, iterations: int = 10) -> torch.Tensor:
    """Lab -> sRGB in 0..1, bringing out-of-gamut colours in by reducing their chroma at
    constant L and hue (bisection, see fit_in_gamut). A plain RGB clamp shifts hue (saturated
    blues turn purple), which matters when a colour transfer pushes many pixels out of gamut."""
    lin, _ = fit_in_gamut(_planes(lab, dim), iterations)
    return _unplanes(linear_to_srgb(lin).clamp_(0.0, 1.0), lab, dim)
