""""background": the product on a new background, framed the same way for every product.

The product (its mask: the upload's alpha, the worker's ``Image.mask`` or the segmentation
network's) is cut out and placed, at its own resolution (scale 1: product pixels are copied
bit for bit, never resampled) unless ``min_size`` asks for more, in a new frame:
- ``aspect``: '1:1', '4:5', '3:4', '16:9' or 'original' (the photo's own);
- ``fill``: the product's bounding box takes this share of the frame along the side that
  limits it; for a square frame, the product's long side is ``fill`` of the frame's side.
  Measured on the bounding box, so every product of a catalogue is framed alike;
- ``align``: 'center', or 'bottom' (standing on a floor margin as wide as the side margins);
- the frame's size follows from the product's size at scale 1. When that is below
  ``min_size`` (px, the frame's long side), the product is enlarged (resampled, premultiplied
  bicubic) until the frame reaches ``min_size``, but never beyond the photo's own long side:
  a 2160 px photo of a small beanie gives a 1600 px marketplace frame, a 300 px photo stays
  small and info['note'] says the photo is too small. The spec's max size then scales the
  result down (max size below min_size wins);
- the background: ``color``, a ``gradient`` from ``color`` to ``color2``, or, when the style
  has a reference file, that photo cover-cropped to the frame (``blur``: sigma in px of a
  1000 px frame); when the reference file is a backdrop generator (``imagegen_train
  backdrop``), a new backdrop generated at the frame's size, its seed taken from the upload's
  content (the same photo always gets the same scene, each product its own);
- ``shadow``: 'contact' (soft, under the base), 'drop' (silhouette, offset) or 'none'.
The semi-transparent edge pixels of a segmented (opaque) photo lose the old background's
colour first (edges.decontaminate), so no halo of it shows on the new one.
The result is opaque RGB; its ``mask`` is the product's place in the new frame.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .. import backdrop
from ..framing import Box, add_note, frame_size, parse_aspect, product_bounds, require_product
from ..edges import decontaminate
from ..io import Image
from ..masks import MASK_ALPHA
from .base import Aspect, Choice, Color, Number, Processor, color_rgb
from .cutout import find_product

__all__ = ["BackgroundProcessor", "MAX_FRAME"]

MAX_FRAME = 8192  # px, frame's long side; beyond it the product is scaled down (memory)
_SOLID = 0.25  # alpha from which a pixel counts for the product's framed box


class BackgroundProcessor(Processor):
    name = "background"
    needs_reference = False  # a reference file, when there is one, is the background photo
    changes_size = True
    description = "The product on a new background (colour, gradient or photo), with a shadow, framed consistently."
    param_specs = {
        "color": Color(default="#ffffff", help="Background colour (the gradient's start)."),
        "gradient": Choice(default="none", choices=("none", "vertical", "radial"), help="Gradient from color to color2."),
        "color2": Color(default="#e9ecef", help="The gradient's end colour."),
        "blur": Number(default=0.0, minimum=0.0, maximum=50.0, help="Blur of the background photo (px of a 1000 px frame)."),
        "shadow": Choice(default="contact", choices=("none", "contact", "drop"), help="Shadow synthesised under the product."),
        "scene": Choice(default="flat", choices=("flat", "tabletop"), help="The background as a flat wall, or as a wall and a table top in perspective the product stands on."),
        "fill": Number(default=0.8, minimum=0.1, maximum=1.0, help="The product's share of the frame (long side for a square frame)."),
        "aspect": Aspect(default="original", original=True, help="Frame aspect ratio ('1:1', '4:5', '3:4', '16:9', any W:H, or 'original')."),
        "align": Choice(default="center", choices=("center", "bottom"), help="Product centred, or standing on a floor margin."),
        "min_size": Number(default=0, minimum=0, maximum=4096, integer=True, help="Frame's long side at least this (px), enlarging the product up to the photo's own size."),
    }

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        mask, kind = find_product(image)
        vl, vt, vr, vb = require_product(mask)  # everything visible: pasted, never cut
        l, t, r, b = _solid_box(mask, (vl, vt, vr, vb))  # what the eye sees as the product: framed
        rgb = image.rgb.float() if kind == MASK_ALPHA else decontaminate(image.rgb.float(), mask)  # no halo
        rgb, alpha = rgb[:, vt:vb, vl:vr], mask[:, vt:vb, vl:vr]
        bw, bh = r - l, b - t
        fill = float(params["fill"])
        ratio = parse_aspect(params["aspect"], image.width, image.height)
        fw, fh = frame_size(bw, bh, ratio, fill)
        wanted = int(params["min_size"])
        target, s = None, 1.0
        if max(fw, fh) > MAX_FRAME:  # a tiny fill of a huge product: scale down, not run out of memory
            target = MAX_FRAME
        elif wanted and max(fw, fh) < wanted and max(fw, fh) < max(image.width, image.height):
            target = min(wanted, max(image.width, image.height))  # enlarged, at most to the photo's own size
        if target is not None:
            s = target / max(fw, fh)
            bw, bh = max(1, round(bw * s)), max(1, round(bh * s))
            rgb, alpha = _resample(rgb, alpha, max(1, round((vb - vt) * s)), max(1, round((vr - vl) * s)))
            fw, fh = frame_size(bw, bh, ratio, fill)
            if max(fw, fh) < target:  # the product's size was rounded down: the frame still reaches it
                fw, fh = (target, max(fh, round(target / ratio))) if fw >= fh else (max(fw, round(target * ratio)), target)
        x0 = (fw - bw) // 2
        if params["align"] == "bottom":
            floor = round((1 - fill) / 2 * min(fw, fh))
            y0 = max(0, fh - floor - bh)
        else:
            y0 = (fh - bh) // 2
        box = (x0, y0, x0 + bw, y0 + bh)
        # the visible window around the framed box (faint edges), clipped to the frame
        wx, wy = x0 - round((l - vl) * s), y0 - round((t - vt) * s)
        cx0, cy0 = max(0, wx), max(0, wy)
        cx1, cy1 = min(fw, wx + alpha.shape[-1]), min(fh, wy + alpha.shape[-2])
        rgb = rgb[:, cy0 - wy : cy1 - wy, cx0 - wx : cx1 - wx]
        alpha = alpha[:, cy0 - wy : cy1 - wy, cx0 - wx : cx1 - wx]
        placed = torch.zeros(1, fh, fw, device=rgb.device)
        placed[:, cy0:cy1, cx0:cx1] = alpha

        device = rgb.device
        color = color_rgb(params["color"])
        info_extra: dict[str, Any] = {}
        if backdrop.is_generator(reference):
            back = backdrop.generated(reference, fw, fh, float(params["blur"]), image.rgb, device)
            info_extra = {"backdrop_seed": backdrop.seed_for(image.rgb)}
        elif reference:
            back = backdrop.photo(reference, fw, fh, float(params["blur"]), color, device)
        elif params["gradient"] != "none":
            back = backdrop.gradient(params["gradient"], color, color_rgb(params["color2"]), fw, fh, device)
        else:
            back = backdrop.solid(color, fw, fh, device)
        if params["scene"] == "tabletop":
            # the table's back edge a third of the way up the product (bottom-aligned: above the floor margin)
            back = backdrop.tabletop(back, box[3] - round(0.3 * bh))
        if params["shadow"] == "contact":
            back = backdrop.darken(back, backdrop.contact_shadow(placed, box))
        elif params["shadow"] == "drop":
            back = backdrop.darken(back, backdrop.drop_shadow(placed, box))

        # composite with the soft mask; where alpha is 1 this is the product's pixel exactly
        window = back[:, cy0:cy1, cx0:cx1]
        back[:, cy0:cy1, cx0:cx1] = torch.where(alpha >= 1, rgb, rgb * alpha + window * (1 - alpha))
        info = {**image.info, "mask_kind": kind, "frame": [fw, fh], "product_box": list(box), **info_extra}
        info["fill"] = round(max(bw / fw, bh / fh), 4)
        if target is not None and target != MAX_FRAME:
            info["scaled"] = round(s, 4)
        if wanted and max(fw, fh) < wanted:
            note = (
                f"the photo is too small for a {wanted} px frame: the frame is {fw}x{fh} px (the product is "
                f"enlarged at most to the photo's own size); upload a larger photo"
            )
            add_note(info, note)
        return Image(rgb=back.clamp(0, 1), alpha=None, info=info, mask=placed)


def _solid_box(mask: torch.Tensor, visible: Box) -> Box:
    """The product's box for framing: its pixels of alpha >= 0.25 within the visible bounds.
    Faint fringes (a baked-in shadow, antialiasing) barely show on the new background, so
    framing by them would make products look smaller by a varying amount."""
    l, t, r, b = visible
    inner = product_bounds(mask[:, t:b, l:r], _SOLID)
    if inner is None:
        return visible
    return l + inner[0], t + inner[1], l + inner[2], t + inner[3]


def _resample(rgb: torch.Tensor, alpha: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The product cut-out at a new size; colour resampled premultiplied, so whatever lies
    under the transparent pixels does not bleed into the edges."""
    size = (height, width)
    a = F.interpolate(alpha[None], size=size, mode="bicubic", antialias=True, align_corners=False)[0].clamp(0, 1)
    premul = F.interpolate((rgb * alpha)[None], size=size, mode="bicubic", antialias=True, align_corners=False)[0]
    return (premul / a.clamp(min=1e-4)).clamp(0, 1) * (a > 1e-4), a
