""""crop": a smart crop to an aspect ratio around the product (see framing.plan_crop).

The largest crop of that aspect inside the photo, placed to contain the whole product (with
``padding`` x its long side around it when there is room) and as centred on the product's
centroid as that allows. When the product is larger than that crop it is centred on the
product and info['note'] says it is cut. The product mask is the alpha, the worker's
``Image.mask``, or the engine's computed backdrop mask (masks.product_mask).
"""

from __future__ import annotations

from typing import Any

from ..framing import smart_crop
from ..io import Image
from ..masks import product_mask
from .base import Aspect, Number, Processor

__all__ = ["CropProcessor"]


class CropProcessor(Processor):
    name = "crop"
    needs_reference = False
    changes_size = True
    description = "Crop to an aspect ratio around the product, never cutting it when it fits."
    param_specs = {
        "aspect": Aspect(default="1:1", help="Aspect ratio of the crop ('1:1', '4:5', '3:4', '16:9' or any W:H)."),
        "padding": Number(default=0.05, minimum=0.0, maximum=1.0, help="Room kept around the product, as a share of its long side."),
    }

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        mask, kind = product_mask(image)
        out = smart_crop(image, mask, params["aspect"], float(params["padding"]))
        out.info["mask_kind"] = kind
        return out
