"""Self-supervision for enhancement: turn the shop's own images into (low-res, original) pairs.

The standard one (``"bicubic"``, the default for training and the only one for evaluation,
as in super-resolution papers): the high-resolution crop reduced 4x with antialiased
bicubic (torch's, the same kernel as Pillow's BICUBIC reduce) and rounded to 8 bits, as a
saved thumbnail would be. ``EVAL_DEGRADATION`` is that setting.

The optional ``"camera"`` one adds what cheap cameras and re-saved uploads do: a Gaussian
blur before the reduction (sigma in high-res pixels) and a JPEG round trip after it
(Pillow, 4:2:0), drawn at random per image. A network trained on it sharpens and de-blocks
real uploads more, but scores lower on the standard protocol.
"""
from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image as PILImage

from ..networks.enhance import SCALE

__all__ = ["degrade", "random_degrade", "reduce", "EVAL_DEGRADATION", "DEGRADATIONS", "upscale_pil", "blur", "jpeg_round_trip"]

DEGRADATIONS = ("bicubic", "camera")
EVAL_DEGRADATION: dict = {"sigma": 0.0, "quality": None}  # antialiased bicubic 4x, 8 bits
SIGMA_RANGE = (0.2, 1.4)
QUALITY_RANGE = (60, 95)


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, C, H, W), reflect padding (also composites training pairs)."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def jpeg_round_trip(x: torch.Tensor, quality: int) -> torch.Tensor:
    """(3, H, W) 0..1 encoded as JPEG at ``quality`` and decoded again: its artefacts."""
    array = (x.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(array).save(buf, "JPEG", quality=int(quality))
    decoded = np.asarray(PILImage.open(io.BytesIO(buf.getvalue())).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(decoded).permute(2, 0, 1).to(x.device)


def reduce(hr: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in 0..1, sides divisible by 4 -> (N, 3, H/4, W/4): antialiased bicubic,
    rounded to 8 bits."""
    if hr.shape[-1] % SCALE or hr.shape[-2] % SCALE:
        raise ValueError(f"image sides must be divisible by {SCALE}, got {tuple(hr.shape[-2:])}")
    size = (hr.shape[-2] // SCALE, hr.shape[-1] // SCALE)
    low = F.interpolate(hr.float(), size=size, mode="bicubic", antialias=True, align_corners=False)
    return (low.clamp(0, 1) * 255).round() / 255


def degrade(hr: torch.Tensor, *, sigma: float = 0.0, quality: int | None = None) -> torch.Tensor:
    """One image (3, H, W) in 0..1, H and W divisible by 4 -> (3, H/4, W/4) in 0..1:
    optional blur, the standard reduction, optional JPEG round trip."""
    x = hr[None].float()
    if sigma > 0:
        x = blur(x, sigma)
    low = reduce(x)[0]
    return jpeg_round_trip(low, quality) if quality else low


def random_degrade(batch: torch.Tensor, g: torch.Generator, kind: str = "camera") -> torch.Tensor:
    """A batch (N, 3, H, W) degraded the ``kind`` way; "camera" draws blur and JPEG quality
    from ``g`` per image ("bicubic" draws nothing)."""
    if kind == "bicubic":
        return reduce(batch)
    if kind != "camera":
        raise ValueError(f"Unknown degradation {kind!r}; use one of {', '.join(DEGRADATIONS)}.")
    out = []
    for hr in batch:
        u = torch.rand(2, generator=g).tolist()
        sigma = SIGMA_RANGE[0] + u[0] * (SIGMA_RANGE[1] - SIGMA_RANGE[0])
        quality = round(QUALITY_RANGE[0] + u[1] * (QUALITY_RANGE[1] - QUALITY_RANGE[0]))
        out.append(degrade(hr, sigma=sigma, quality=quality))
    return torch.stack(out)


def upscale_pil(low: torch.Tensor, method: str) -> torch.Tensor:
    """Classical 4x upscaling with Pillow ("bicubic" or "lanczos") of (3, h, w) in 0..1."""
    resample = {"bicubic": PILImage.Resampling.BICUBIC, "lanczos": PILImage.Resampling.LANCZOS}[method]
    array = (low.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    pil = PILImage.fromarray(array)
    up = pil.resize((pil.width * SCALE, pil.height * SCALE), resample)
    return torch.from_numpy(np.asarray(up, dtype=np.float32) / 255.0).permute(2, 0, 1)
