""""cutout": the product alone, on a transparent background (RGBA).

The alpha is the product mask: the upload's own alpha when it has one, else the mask the
worker attached (``Image.mask``), else the segmentation network's (``segment``, with the
style's fine-tuned weights as ``reference`` when there are some). Where the product is, the
colour is the source's, bit for bit; the semi-transparent edge pixels of an opaque photo
lose the old background's colour (edges.decontaminate) so no halo shows on a new one. ``trim`` cuts the image to the product's bounds plus a
``margin`` (a share of the product's long side; room beyond the photo stays transparent).
Formats without alpha (JPEG) are composited on the encoder's background colour.
"""

from __future__ import annotations

from typing import Any

import torch

from ..framing import crop_image, require_product
from ..edges import decontaminate
from ..io import Image
from ..masks import MASK_ALPHA, MASK_SEGMENTED
from .base import Flag, Number, Processor

__all__ = ["CutoutProcessor", "find_product"]


def find_product(image: Image, weights: bytes | None = None) -> tuple[torch.Tensor, str]:
    """(1, H, W) product mask and its kind: the alpha, the attached mask, or segmented now."""
    if image.alpha is not None:
        return image.alpha.float().clamp(0, 1), MASK_ALPHA
    if image.mask is not None:
        return image.mask.float().clamp(0, 1), MASK_SEGMENTED
    from ..segment import segment  # lazy: the network loads only when a mask is really needed

    return segment(image, weights).float().clamp(0, 1).to(image.rgb.device), MASK_SEGMENTED


class CutoutProcessor(Processor):
    name = "cutout"
    needs_reference = False  # reference: optional fine-tuned segmentation weights
    changes_size = True  # trim changes it; the pipeline's restyle options do not apply
    description = "Background removal: the product on a transparent background (optionally trimmed)."
    param_specs = {
        "trim": Flag(default=False, help="Cut the image to the product's bounds (plus the margin)."),
        "margin": Number(default=0.05, minimum=0.0, maximum=1.0, help="Margin around a trimmed product, as a share of its long side."),
    }

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        mask, kind = find_product(image, reference)
        bounds = require_product(mask)
        rgb = image.rgb.float() if kind == MASK_ALPHA else decontaminate(image.rgb.float(), mask)  # no halo
        rgb = torch.where(mask > 0, rgb, torch.zeros_like(rgb))
        info = {**image.info, "mask_kind": kind}
        out = Image(rgb=rgb, alpha=mask.clone(), info=info)
        if params["trim"]:
            l, t, r, b = bounds
            pad = round(float(params["margin"]) * max(r - l, b - t))
            box = (l - pad, t - pad, r + pad, b + pad)
            out = crop_image(out, box)
            out.info["trim"] = list(box)
        return out
