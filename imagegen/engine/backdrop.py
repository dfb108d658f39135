"""Painting a new background for a product: plain colour, gradient or a photo cover-cropped to
the frame, and shadows synthesised from the product mask, grounded at the product's base.

Shadows are "darkness" maps in 0..1 applied to the background only (background x (1 - s));
the product is composited over them afterwards, so they never darken the product.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .blur import gaussian_blur
from .errors import DecodeError, ParameterError
from .framing import Box

__all__ = ["solid", "gradient", "photo", "contact_shadow", "drop_shadow", "darken"]


def _color(rgb: tuple[float, float, float], device: torch.device) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float32, device=device).view(3, 1, 1)


def solid(rgb: tuple[float, float, float], width: int, height: int, device: torch.device) -> torch.Tensor:
    return _color(rgb, device).expand(3, height, width).clone()


def gradient(
    kind: str, start: tuple[float, float, float], end: tuple[float, float, float], width: int, height: int, device: torch.device
) -> torch.Tensor:
    """'vertical': ``start`` at the top to ``end`` at the bottom; 'radial': ``start`` in the
    centre to ``end`` in the corners."""
    if kind == "vertical":
        t = torch.linspace(0, 1, height, device=device).view(1, height, 1).expand(1, height, width)
    else:
        ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5 - height / 2).view(height, 1)
        xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5 - width / 2).view(1, width)
        t = (torch.sqrt(xs**2 + ys**2) / math.hypot(width / 2, height / 2)).clamp(0, 1)[None]
    return _color(start, device) * (1 - t) + _color(end, device) * t


def photo(data: bytes, width: int, height: int, blur: float, under: tuple[float, float, float], device: torch.device) -> torch.Tensor:
    """The reference photo scaled to cover width x height and centre-cropped; a transparent
    photo is laid on ``under``; ``blur`` is a Gaussian sigma in px of a 1000 px frame."""
    from .io import decode

    try:
        image = decode(data)
    except DecodeError as exc:
        raise ParameterError(f"The style's reference file is not a usable background photo: {exc}") from exc
    rgb = image.rgb.float().to(device)
    if image.alpha is not None:
        a = image.alpha.float().to(device)
        rgb = rgb * a + _color(under, device) * (1 - a)
    h, w = rgb.shape[-2:]
    scale = max(width / w, height / h)
    size = (max(height, math.ceil(h * scale - 1e-6)), max(width, math.ceil(w * scale - 1e-6)))
    if size != (h, w):
        rgb = F.interpolate(rgb[None], size=size, mode="bilinear", antialias=True, align_corners=False)[0]
    top, left = (size[0] - height) // 2, (size[1] - width) // 2
    rgb = rgb[:, top : top + height, left : left + width]
    sigma = blur * max(width, height) / 1000.0
    if sigma >= 0.3:
        rgb = gaussian_blur(rgb.contiguous(), sigma)
    return rgb.clamp(0, 1).contiguous()


def _soft_ellipse(window: Box, cx: float, cy: float, ax: float, ay: float, sigma: float, device: torch.device) -> torch.Tensor:
    """A filled ellipse (semi-axes ax, ay) blurred by ``sigma``, over ``window`` of the frame."""
    l, t, r, b = window
    xs = (torch.arange(l, r, device=device, dtype=torch.float32) + 0.5 - cx).view(1, -1) / ax
    ys = (torch.arange(t, b, device=device, dtype=torch.float32) + 0.5 - cy).view(-1, 1) / ay
    shape = ((xs**2 + ys**2) <= 1).float()[None]
    return gaussian_blur(shape, sigma) if sigma >= 0.3 else shape


def darken(back: torch.Tensor, shadow: tuple[torch.Tensor, Box]) -> torch.Tensor:
    """``back`` (3, H, W) darkened in place by a shadow (darkness over its window)."""
    darkness, (l, t, r, b) = shadow
    back[:, t:b, l:r] *= 1 - darkness
    return back


def contact_shadow(mask: torch.Tensor, box: Box, opacity: float = 0.55) -> tuple[torch.Tensor, Box]:
    """The soft shadow where the product meets the floor: a flat ellipse as wide as the
    product's footprint (its bottom rows), centred just above the base line so only its lower
    part shows below the product, plus a thin darker core for the contact itself. Returns
    the darkness (0..opacity) over a window of the frame, and that window."""
    _, height, width = mask.shape
    l, t, r, b = box
    band = max(2, round(0.04 * (b - t)))
    rows = mask[0, max(t, b - band) : b, l:r] >= 0.5
    cols = torch.nonzero(rows.any(dim=0)).flatten()
    fl, fr = (l + int(cols[0]), l + int(cols[-1]) + 1) if cols.numel() else (l, r)
    cx = (fl + fr) / 2
    foot = max(fr - fl, 0.3 * (r - l))  # a product resting on a point (a tilted beanie) still casts a pool
    ay, ay2 = max(2.0, 0.045 * foot), max(1.0, 0.012 * foot)
    cy = b - 0.25 * ay
    # the wide ellipse's reach holds the thin one's too
    reach_x, reach_y = 0.52 * foot + 1.8 * ay + 2, 2.8 * ay + 2
    window = (
        max(0, int(cx - reach_x)), max(0, int(cy - reach_y)),
        min(width, math.ceil(cx + reach_x)), min(height, math.ceil(cy + reach_y)),
    )  # fmt: skip
    if window[0] >= window[2] or window[1] >= window[3]:
        return torch.zeros(1, 0, 0, device=mask.device), (0, 0, 0, 0)
    wide = _soft_ellipse(window, cx, cy, 0.52 * foot, ay, 0.6 * ay, mask.device)
    core = _soft_ellipse(window, cx, b - 0.3 * ay2, 0.47 * foot, ay2, 0.8 * ay2, mask.device)
    return (opacity * 0.7 * wide + opacity * 0.6 * core).clamp(0, opacity), window


def drop_shadow(mask: torch.Tensor, box: Box, opacity: float = 0.35) -> tuple[torch.Tensor, Box]:
    """The product's silhouette blurred and moved down and to the right (light from the
    top left), as if the product stood a little in front of the background; the darkness
    over a window of the frame, and that window."""
    l, t, r, b = box
    _, h, w = mask.shape
    long = max(r - l, b - t)
    dx, dy = round(0.02 * long), round(0.035 * long)
    sigma = max(1.0, 0.025 * long)
    reach = math.ceil(3 * sigma) + 1
    # the silhouette's bounds moved, plus the blur's reach
    ml, mt, mr, mb = _nonzero_box(mask) or box
    window = (max(0, ml + dx - reach), max(0, mt + dy - reach), min(w, mr + dx + reach), min(h, mb + dy + reach))
    wl, wt, wr, wb = window
    if wl >= wr or wt >= wb:
        return torch.zeros(1, 0, 0, device=mask.device), (0, 0, 0, 0)
    moved = torch.zeros(1, wb - wt, wr - wl, device=mask.device)
    # moved[y, x] = mask[y - dy, x - dx] over the window
    sl, st = max(wl - dx, 0), max(wt - dy, 0)
    sr, sb = min(wr - dx, w), min(wb - dy, h)
    if sl < sr and st < sb:
        moved[:, st + dy - wt : sb + dy - wt, sl + dx - wl : sr + dx - wl] = mask[:, st:sb, sl:sr]
    return (opacity * gaussian_blur(moved, sigma)).clamp(0, 1), window


def _nonzero_box(mask: torch.Tensor) -> Box | None:
    m = mask[0] > 0
    rows, cols = torch.nonzero(m.any(dim=1)).flatten(), torch.nonzero(m.any(dim=0)).flatten()
    if rows.numel() == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
