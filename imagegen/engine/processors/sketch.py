""""sketch": classical pencil sketch, written in torch.

grey = luma of the image (transparent areas composited over white first, so the
product's silhouette is drawn); colour-dodge the grey with its inverted blur, which is
grey / blur(grey): flat areas go white, edges and fine detail stay dark. ``darkness``
deepens the strokes (a gamma), ``shading`` mixes back some of the original tone.
"""

from __future__ import annotations

from typing import Any

import torch

from ..blur import gaussian_blur
from ..io import Image
from .base import Number, Processor

__all__ = ["SketchProcessor", "pencil_sketch", "auto_sigma"]

_LUMA = (0.2126, 0.7152, 0.0722)


def auto_sigma(height: int, width: int) -> float:
    """Default blur: 2% of the short side, so the look does not depend on resolution."""
    return float(min(max(0.02 * min(height, width), 1.0), 50.0))


def pencil_sketch(grey: torch.Tensor, sigma: float, darkness: float, shading: float) -> torch.Tensor:
    """(1, H, W) grey 0..1 -> (1, H, W) sketch 0..1."""
    blurred = gaussian_blur(grey, sigma)
    # colour dodge of grey with inverted blur: grey / (1 - (1 - blurred))
    dodge = (grey / blurred.clamp(min=1e-3)).clamp(0, 1)
    lines = dodge**darkness
    tone = 1.0 - shading * (1.0 - grey)
    return (lines * tone).clamp(0, 1)


class SketchProcessor(Processor):
    name = "sketch"
    needs_reference = False
    description = "Pencil sketch (grey lines on white)."
    param_specs = {
        "sigma": Number(
            default=None,
            minimum=0.0,
            exclusive_minimum=True,
            maximum=200.0,
            allow_none=True,
            help="Blur radius in pixels; wider gives softer, broader strokes. Null: 2% of the short side.",
        ),
        "darkness": Number(default=1.5, minimum=0.5, maximum=5.0, help="Stroke darkness (a gamma)."),
        "shading": Number(default=0.15, minimum=0.0, maximum=1.0, help="How much original tone to keep."),
    }

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        rgb = image.rgb.float()
        if image.alpha is not None:
            rgb = rgb * image.alpha + (1.0 - image.alpha)  # over white
        w = torch.tensor(_LUMA, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
        grey = (rgb * w).sum(0, keepdim=True)
        sigma = params["sigma"] or auto_sigma(image.height, image.width)
        out = pencil_sketch(grey, float(sigma), float(params["darkness"]), float(params["shading"]))
        return Image(rgb=out.expand(3, -1, -1).contiguous(), alpha=image.alpha, info=dict(image.info))
