"""What every restyle shares after its processor ran: blending with the source (strength,
preserve_product) and the quality figures stored on the Variant, plus the shop's thresholds.

preserve_product:
- "off": the whole image is restyled;
- "product": the product (alpha mask, or a computed foreground mask) keeps ``preserve_amount``
  of its original look, the background is fully restyled;
- "background": the reverse: the product is restyled, the backdrop keeps its look.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .errors import ProcessorError
from .io import Image
from .masks import MASK_ALPHA, MASK_NONE, product_mask
from .metrics.restyle import fit, fit_premultiplied_stacked, fitted_pair, pair_delta_e, pair_ssim

__all__ = ["PRESERVE_CHOICES", "QualityError", "as_seen", "blend_with_source", "figures", "check_thresholds", "THRESHOLD_KEYS"]

PRESERVE_CHOICES = ("off", "product", "background")
MIN_METRIC_SIDE = 8  # below this SSIM's window has nothing to compare
WHITE = (255, 255, 255)


class QualityError(ProcessorError):
    """The result is below a quality threshold the shop set (e.g. the product is unrecognisable)."""


def blend_with_source(
    source: Image, rgb: torch.Tensor, strength: float, preserve_product: str, preserve_amount: float
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """source + w * (rgb - source) with w = strength, lowered by the mask where preserved.
    Returns the blended rgb, the product mask and where the mask came from."""
    mask, kind = product_mask(source)
    weight: torch.Tensor | float = strength
    if preserve_product != "off" and preserve_amount > 0:
        region = mask if preserve_product == "product" else 1.0 - mask
        weight = strength * (1.0 - preserve_amount * region)
    if isinstance(weight, float) and weight >= 1.0:
        return rgb, mask, kind
    return source.rgb + weight * (rgb - source.rgb), mask, kind


def as_seen(rgb: torch.Tensor, alpha: torch.Tensor | None, background: tuple[int, int, int] = WHITE) -> torch.Tensor:
    """``rgb`` as a viewer sees it: composited over ``background`` (0..255) by ``alpha``.
    The RGB under fully transparent pixels is invisible (often black, sometimes noise), so
    figures computed on it would describe nothing anyone sees."""
    if alpha is None:
        return rgb
    bg = torch.tensor(background, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1) / 255.0
    a = alpha.to(rgb.dtype)
    return rgb * a + bg * (1.0 - a)


def _seen_small(
    source: Image, rgb: torch.Tensor, mask: torch.Tensor, mask_kind: str, background: tuple[int, int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """as_seen(source) and as_seen(result) at the figures' size (fit) as one (6, h, w) pair,
    and the product region (1, h, w). Compositing is linear in the premultiplied colour and in
    alpha, and so is fit(): fitting rgb * alpha and alpha, then adding the background, is
    fitting the composite, with each full-size image read once (the composite, then its
    downscale, read them three times)."""
    alpha = source.alpha
    if alpha is None:
        pair = fitted_pair(source.rgb, rgb)
        a_small = None
    else:
        pair, a_small = fit_premultiplied_stacked([source.rgb, rgb], alpha)
        bg = torch.tensor(background, dtype=a_small.dtype, device=rgb.device).view(1, 3, 1, 1) / 255.0
        pair.view(2, 3, *pair.shape[-2:]).add_(bg * (1.0 - a_small))
    if mask_kind == MASK_NONE:
        region = torch.ones_like(pair[:1])
    elif mask_kind == MASK_ALPHA and a_small is not None:
        region = a_small  # product_mask's alpha mask is the clamped alpha: pair_delta_e clamps its grid
    else:
        region = fit(mask)
    return pair, region


def figures(
    source: Image,
    rgb: torch.Tensor,
    mask: torch.Tensor,
    mask_kind: str,
    background: tuple[int, int, int] = WHITE,
) -> dict[str, Any]:
    """Content SSIM (luminance) and mean dE2000 in the product region; empty for tiny images.
    A transparent source and its result (which keeps the source's alpha) are both composited
    on ``background``, the colour the variant is shown or encoded on, first."""
    if min(rgb.shape[-2:]) < MIN_METRIC_SIDE:
        return {}
    pair, region = _seen_small(source, rgb, mask, mask_kind, background)
    return {
        "content_ssim": round(pair_ssim(pair), 4),
        "product_delta_e": round(pair_delta_e(pair, region), 3),
        "product_mask": mask_kind,
    }


# threshold key -> (metric, comparison, what it means for an admin)
THRESHOLD_KEYS: dict[str, tuple[str, str, str]] = {
    "content_ssim_min": ("content_ssim", "min", "the product's shapes are no longer recognisable"),
    "product_delta_e_max": ("product_delta_e", "max", "the product's colours changed too much"),
    "style_distance_max": ("style_distance", "max", "the result is too far from the reference style"),
}


def check_thresholds(metrics: dict[str, Any], thresholds: dict[str, float] | None) -> None:
    """Raise QualityError, with a message for the shop admin, when a figure is out of bounds.
    Figures a render did not produce (e.g. style distance without a reference) are skipped."""
    for key, limit in (thresholds or {}).items():
        if key not in THRESHOLD_KEYS:
            raise ValueError(f"unknown quality threshold {key!r}; known: {', '.join(THRESHOLD_KEYS)}")
        metric, kind, meaning = THRESHOLD_KEYS[key]
        value = metrics.get(metric)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if (kind == "min" and value < limit) or (kind == "max" and value > limit):
            bound = "at least" if kind == "min" else "at most"
            raise QualityError(
                f"Rejected: {meaning} ({metric} = {value:.3g}; the shop requires {bound} {limit:g}). "
                "Try a lower strength, preserve_product='product', or another style."
            )
