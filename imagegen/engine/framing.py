"""Where the product is in the frame: bounds, centroid, aspect ratios, smart crops and
placement on a new frame. Shared by the cutout, background and crop processors and by the
pipeline's generic ``aspect`` option.

Boxes are ``(left, top, right, bottom)`` in pixels, right/bottom exclusive (like Pillow's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .errors import ParameterError, ProcessorError
from .io import Image

__all__ = [
    "Box",
    "ASPECTS",
    "parse_aspect",
    "product_bounds",
    "visible_bounds",
    "centroid",
    "require_product",
    "is_empty",
    "largest_crop",
    "crop_box",
    "plan_crop",
    "CropPlan",
    "crop_image",
    "smart_crop",
    "add_note",
    "frame_size",
    "NO_PRODUCT_MESSAGE",
]

Box = tuple[int, int, int, int]

# the common ones (offered as choices); any W:H between 1:10 and 10:1 is accepted
ASPECTS: dict[str, tuple[int, int]] = {"1:1": (1, 1), "4:5": (4, 5), "3:4": (3, 4), "16:9": (16, 9)}

# A mask is "no product" below these: nothing confidently product, or a speck
EMPTY_MAX, EMPTY_COVERAGE = 0.5, 0.001

NO_PRODUCT_MESSAGE = (
    "No product found in this photo: the product mask is empty (nothing stands out from the background). "
    "Upload a photo where the product is clearly visible against its background, or a PNG with a transparent background."
)

# soft edges kept by visible_bounds: pixels above this alpha, at most this far (share of the
# product's long side) outside the confident (>= 0.5) bounds, so faint specks far away do not count
_VISIBLE, _EDGE_REACH = 1.0 / 255.0, 0.02


def parse_aspect(text: str, width: int | None = None, height: int | None = None) -> float:
    """Width / height of an aspect written 'W:H' ('1:1', '4:5', '16:9'; '16/9', '16x9' too);
    'original' needs the image's ``width`` and ``height``."""
    key = str(text).strip().lower()
    if key == "original" and width and height:
        return width / height
    w, _, h = key.replace("/", ":").replace("x", ":").partition(":")
    if w.strip().isdigit() and h.strip().isdigit() and int(w) > 0 and int(h) > 0:
        return int(w) / int(h)
    raise ParameterError(f"Unknown aspect {text!r}; use one of {', '.join(repr(a) for a in (*ASPECTS, 'original'))}.")


def _span(hits: torch.Tensor) -> tuple[int, int] | None:
    idx = torch.nonzero(hits).flatten()
    if idx.numel() == 0:
        return None
    return int(idx[0]), int(idx[-1]) + 1


def product_bounds(mask: torch.Tensor, threshold: float = 0.5) -> Box | None:
    """Bounding box of the pixels of (1, H, W) ``mask`` at or above ``threshold``; None if none."""
    m = mask.reshape(mask.shape[-2], mask.shape[-1]) >= threshold
    rows, cols = _span(m.any(dim=1)), _span(m.any(dim=0))
    if rows is None or cols is None:
        return None
    return cols[0], rows[0], cols[1], rows[1]


def visible_bounds(mask: torch.Tensor) -> Box | None:
    """The product's bounds including its soft (semi-transparent) edges: what a trim or a
    crop must never cut. The confident bounds (>= 0.5) grown to the visible pixels (> 1/255)
    within 2% of the product's long side."""
    core = product_bounds(mask, 0.5)
    if core is None:
        return None
    h, w = mask.shape[-2:]
    reach = max(2, math.ceil(_EDGE_REACH * max(core[2] - core[0], core[3] - core[1])))
    l, t = max(0, core[0] - reach), max(0, core[1] - reach)
    r, b = min(w, core[2] + reach), min(h, core[3] + reach)
    soft = product_bounds(mask.reshape(h, w)[t:b, l:r], _VISIBLE)
    assert soft is not None  # the core is inside
    return l + soft[0], t + soft[1], l + soft[2], t + soft[3]


def centroid(mask: torch.Tensor) -> tuple[float, float]:
    """Mask-weighted centre (x, y) in pixel coordinates (a pixel's centre is at +0.5); the
    image's centre for an empty mask."""
    h, w = mask.shape[-2:]
    m = mask.reshape(h, w).double().clamp(0, 1)
    total = float(m.sum())
    if total <= 0:
        return w / 2.0, h / 2.0
    xs = torch.arange(w, dtype=torch.float64, device=m.device) + 0.5
    ys = torch.arange(h, dtype=torch.float64, device=m.device) + 0.5
    return float((m.sum(dim=0) * xs).sum()) / total, float((m.sum(dim=1) * ys).sum()) / total


def is_empty(mask: torch.Tensor) -> bool:
    """No product: nothing at 0.5 or more, or under 0.1% of the image."""
    m = mask.float()
    return m.numel() == 0 or float(m.max()) < EMPTY_MAX or float((m >= 0.5).float().mean()) < EMPTY_COVERAGE


def require_product(mask: torch.Tensor) -> Box:
    """The product's visible bounds, or a ProcessorError an admin understands."""
    box = None if is_empty(mask) else visible_bounds(mask)
    if box is None:
        raise ProcessorError(NO_PRODUCT_MESSAGE)
    return box


def largest_crop(width: int, height: int, ratio: float) -> tuple[int, int]:
    """(w, h) of the largest crop of width/height ``ratio`` inside a width x height image."""
    if width / height > ratio:
        return max(1, min(width, round(height * ratio))), height
    return width, max(1, min(height, round(width / ratio)))


def _place(length: int, size: int, lo: int, hi: int, pad: int, focus: float) -> tuple[int, bool]:
    """Start of a window of ``length`` inside [0, size) that contains [lo, hi) (with ``pad``
    more on each side when possible), as close to centred on ``focus`` as that allows.
    Returns (start, contains [lo, hi))."""
    top = size - length
    start = min(max(round(focus - length / 2), 0), top)
    plo, phi = max(0, lo - pad), min(size, hi + pad)
    if phi - plo <= length:  # the product with its padding fits: keep it all
        return min(max(start, phi - length), plo), True
    if hi - lo <= length:  # only without padding: share the room out evenly around it
        even = round((lo + hi) / 2 - length / 2)
        return min(max(even, hi - length, 0), lo, top), True
    return start, False  # does not fit: centred on the focus, cut on both sides


@dataclass(frozen=True)
class CropPlan:
    box: Box
    fits: bool  # False: the product is larger than the largest crop of that aspect
    found: bool  # False: no product in the mask (the crop is centred)


def plan_crop(mask: torch.Tensor, ratio: float, padding: float = 0.05) -> CropPlan:
    """The largest crop of width/height ``ratio`` in the mask's image, placed so that it
    contains the product (plus ``padding`` x its long side on each side when there is room)
    and is as centred on the product's centroid as that allows. When the product is larger
    than that crop it is centred on the centroid and ``fits`` is False."""
    h, w = mask.shape[-2:]
    cw, ch = largest_crop(w, h, ratio)
    bounds = None if is_empty(mask) else visible_bounds(mask)
    if bounds is None:
        left, top = (w - cw) // 2, (h - ch) // 2
        return CropPlan((left, top, left + cw, top + ch), True, False)
    fx, fy = centroid(mask)
    pad = round(padding * max(bounds[2] - bounds[0], bounds[3] - bounds[1]))
    left, fits_x = _place(cw, w, bounds[0], bounds[2], pad, fx)
    top, fits_y = _place(ch, h, bounds[1], bounds[3], pad, fy)
    return CropPlan((left, top, left + cw, top + ch), fits_x and fits_y, True)


def crop_box(mask: torch.Tensor, aspect: str | float, padding: float = 0.05) -> Box:
    """The smart crop's box (see plan_crop); ``aspect`` a name ('16:9') or a width/height ratio."""
    h, w = mask.shape[-2:]
    ratio = aspect if isinstance(aspect, (int, float)) else parse_aspect(aspect, w, h)
    return plan_crop(mask, float(ratio), padding).box


def crop_image(image: Image, box: Box) -> Image:
    """``image`` cut to ``box``; parts of the box outside the image are transparent (an
    alpha is added then) so a trim with a margin keeps the margin."""
    l, t, r, b = box
    h, w = image.height, image.width
    inside = (max(0, l), max(0, t), min(w, r), min(h, b))

    def cut(x: torch.Tensor, fill: float) -> torch.Tensor:
        out = torch.full((x.shape[0], b - t, r - l), fill, dtype=x.dtype, device=x.device)
        out[:, inside[1] - t : inside[3] - t, inside[0] - l : inside[2] - l] = x[:, inside[1] : inside[3], inside[0] : inside[2]]
        return out

    outside = inside != (l, t, r, b)
    alpha = image.alpha
    if alpha is None and outside:
        alpha = torch.ones(1, h, w, dtype=image.rgb.dtype, device=image.rgb.device)
    return Image(
        rgb=cut(image.rgb, 0.0),
        alpha=None if alpha is None else cut(alpha, 0.0),
        info=dict(image.info),
        mask=None if image.mask is None else cut(image.mask, 0.0),
    )


def smart_crop(image: Image, mask: torch.Tensor, aspect: str, padding: float = 0.05) -> Image:
    """``image`` cropped to ``aspect`` around the product in ``mask`` (same size as the
    image); info['crop'] is the box, info['note'] says when the product could not be kept whole."""
    ratio = parse_aspect(aspect, image.width, image.height)
    plan = plan_crop(mask, ratio, padding)
    out = crop_image(image, plan.box)
    out.info["crop"] = list(plan.box)
    note = None
    if not plan.found:
        note = f"no product found for the {aspect} crop; centred crop"
    elif not plan.fits:
        note = f"the product is larger than the largest {aspect} crop of this photo; it is cut, centred on the product"
    if note:
        add_note(out.info, note)
    return out


def add_note(info: dict, note: str) -> None:
    """Append ``note`` to ``info['note']`` (notes an admin sees on the variant, '; '-joined)."""
    info["note"] = f"{info['note']}; {note}" if info.get("note") else note


def frame_size(box_w: int, box_h: int, ratio: float, fill: float) -> tuple[int, int]:
    """(width, height) of the smallest frame of width/height ``ratio`` in which a product box
    of ``box_w`` x ``box_h`` takes ``fill`` of the side that limits it (for a square frame,
    the product's long side is ``fill`` of the frame's side)."""
    height = max(box_h / fill, box_w / (fill * ratio))
    fh = max(1, math.ceil(height - 1e-6))
    fw = max(1, round(fh * ratio))
    if fw < box_w:  # rounding: never narrower than the product
        fw = box_w
    return fw, fh
