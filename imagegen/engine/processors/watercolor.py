""""watercolor": classical watercolour painting effect, written in torch.

1. Abstraction: a Kuwahara filter (each pixel takes the mean of the least varied of its four
   quadrant windows) flattens texture into washes while keeping edges sharp; run twice.
2. Wash: colours are softened toward the paper (pigment is transparent) by ``wash``.
3. Edge darkening: pigment collects at the rim of a wet area, so edges of the abstraction are
   darkened by ``edges``.
4. Granulation: paper texture from seeded multi-scale noise modulates the pigment by
   ``granulation``; the same seed always gives the same paper.
Transparent areas are composited over white paper first (like the sketch filter).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..io import Image
from .base import Number, Processor
from ..blur import gaussian_blur

__all__ = ["WatercolorProcessor", "kuwahara", "paper_texture", "watercolor"]


def _box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over (2r+1)^2... here: over r+1 x r+1 windows anchored at each pixel (see kuwahara)."""
    k = radius + 1
    return F.avg_pool2d(x, kernel_size=k, stride=1)


def kuwahara(rgb: torch.Tensor, radius: int) -> torch.Tensor:
    """(3, H, W) -> (3, H, W) Kuwahara filter with quadrant windows of (radius+1)^2 pixels."""
    if radius < 1:
        return rgb
    x = F.pad(rgb[None], (radius, radius, radius, radius), mode="replicate")
    lum = x.mean(dim=1, keepdim=True)
    mean = _box_mean(x, radius)  # (1, 3, H + r, W + r): window starting at each padded pixel
    var = _box_mean(lum * lum, radius) - _box_mean(lum, radius) ** 2
    h, w = rgb.shape[-2:]
    best_mean = best_var = None
    for dy in (0, radius):  # the four quadrants: window offsets (0 or r) in y and x
        for dx in (0, radius):
            m = mean[..., dy : dy + h, dx : dx + w]
            v = var[..., dy : dy + h, dx : dx + w]
            if best_var is None:
                best_mean, best_var = m, v
            else:
                better = v < best_var
                best_mean = torch.where(better, m, best_mean)
                best_var = torch.where(better, v, best_var)
    assert best_mean is not None
    return best_mean[0]


def paper_texture(height: int, width: int, seed: int, device: torch.device) -> torch.Tensor:
    """(1, H, W) in about 0..1, mean ~0.5: the sum of smoothed noise at a few scales."""
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    total = torch.zeros(1, 1, height, width)
    weight = 0.0
    for cell, amp in ((2, 0.5), (6, 0.3), (24, 0.2)):
        coarse = torch.rand(1, 1, max(2, height // cell + 2), max(2, width // cell + 2), generator=g)
        total += amp * F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)
        weight += amp
    return (total / weight).clamp(0, 1)[0].to(device)


def watercolor(
    rgb: torch.Tensor, *, radius: int, wash: float, edges: float, granulation: float, seed: int
) -> torch.Tensor:
    """(3, H, W) 0..1 -> (3, H, W) 0..1."""
    h, w = rgb.shape[-2:]
    abstract = kuwahara(kuwahara(rgb, radius), max(1, radius // 2))
    # the wet look: a soft bleed of the washes into each other
    abstract = 0.7 * abstract + 0.3 * gaussian_blur(abstract, max(0.5, radius / 3))
    washed = 1.0 - (1.0 - wash) * (1.0 - abstract)  # lighter: transparent pigment on paper
    lum = washed.mean(0, keepdim=True)
    gy = lum[:, 1:, :] - lum[:, :-1, :]
    gx = lum[:, :, 1:] - lum[:, :, :-1]
    grad = torch.zeros_like(lum)
    grad[:, :-1, :] += gy.abs()
    grad[:, :, :-1] += gx.abs()
    grad = gaussian_blur(grad, 1.0)
    rim = (grad / grad.amax().clamp(min=1e-6)).clamp(0, 1)
    out = washed * (1.0 - edges * rim)
    if granulation > 0:
        paper = paper_texture(h, w, seed, rgb.device)
        pigment = 1.0 - out  # granulation varies the pigment, not the white paper
        out = 1.0 - pigment * (1.0 + granulation * (paper - 0.5) * 2.0)
    return out.clamp(0, 1)


class WatercolorProcessor(Processor):
    name = "watercolor"
    needs_reference = False
    description = "Watercolour painting: flat washes, darker rims, paper grain."
    param_specs = {
        "radius": Number(
            default=None, minimum=1, maximum=64, integer=True, allow_none=True,
            help="Size of the washes in pixels. Null: 0.6% of the short side.",
        ),
        "wash": Number(default=0.15, minimum=0.0, maximum=0.9, help="How much lighter (more transparent) the pigment is."),
        "edges": Number(default=0.35, minimum=0.0, maximum=1.0, help="Darkening of the rims of washes."),
        "granulation": Number(default=0.25, minimum=0.0, maximum=1.0, help="Strength of the paper grain."),
        "seed": Number(default=7, minimum=0, maximum=2**31 - 1, integer=True, help="Paper grain pattern."),
    }  # fmt: skip

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        rgb = image.rgb.float()
        if image.alpha is not None:
            rgb = rgb * image.alpha + (1.0 - image.alpha)  # over white paper
        radius = params["radius"] or max(1, round(0.006 * min(image.height, image.width)))
        out = watercolor(
            rgb,
            radius=int(radius),
            wash=float(params["wash"]),
            edges=float(params["edges"]),
            granulation=float(params["granulation"]),
            seed=int(params["seed"]),
        )
        return Image(rgb=out, alpha=image.alpha, info=dict(image.info))
