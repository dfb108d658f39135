"""Where the product is: the alpha channel when the photo has one; else the segmentation
network's mask the worker attached (``Image.mask``, see segment.py); otherwise, for an
engine used on its own, a foreground mask computed from how far each pixel's colour is
from the backdrop's.

Product photos are mostly shot on a plain backdrop, so the backdrop's colour is estimated
from the image border (median in Lab) and a pixel belongs to the product when it differs
from it by more than a few dE. When the border is not uniform (a lifestyle shot), there is
no backdrop to find and the whole image counts as product.
"""

from __future__ import annotations

import torch

from .color import rgb_to_lab
from .io import Image
from .blur import gaussian_blur

__all__ = ["product_mask", "MASK_ALPHA", "MASK_SEGMENTED", "MASK_COMPUTED", "MASK_NONE"]

MASK_ALPHA, MASK_SEGMENTED, MASK_COMPUTED, MASK_NONE = "alpha", "segmented", "computed", "none"

_NEAR, _FAR = 6.0, 14.0  # dE from the backdrop: below NEAR backdrop, above FAR product
_UNIFORM_BORDER = 8.0  # median dE of the border to its median colour: above this, no backdrop


def _border(x: torch.Tensor, width: int) -> torch.Tensor:
    """(C, N) pixels of a frame ``width`` wide around (C, H, W) ``x``."""
    top, bottom = x[:, :width, :], x[:, -width:, :]
    left, right = x[:, width:-width, :width], x[:, width:-width, -width:]
    return torch.cat([p.reshape(x.shape[0], -1) for p in (top, bottom, left, right)], dim=1)


def product_mask(image: Image) -> tuple[torch.Tensor, str]:
    """(1, H, W) mask in 0..1 (1 = product) and where it came from
    (alpha/segmented/computed/none)."""
    if image.alpha is not None:
        return image.alpha.float().clamp(0, 1), MASK_ALPHA
    if image.mask is not None:
        return image.mask.float().clamp(0, 1), MASK_SEGMENTED
    rgb = image.rgb.float()
    h, w = rgb.shape[-2:]
    width = max(1, min(h, w) // 50)
    if min(h, w) <= 4 * width:
        return torch.ones(1, h, w, device=rgb.device), MASK_NONE
    lab = rgb_to_lab(rgb)
    border = _border(lab, width)
    backdrop = border.median(dim=1).values
    spread = (border - backdrop[:, None]).norm(dim=0).median()
    if float(spread) > _UNIFORM_BORDER:
        return torch.ones(1, h, w, device=rgb.device), MASK_NONE
    distance = (lab - backdrop[:, None, None]).norm(dim=0, keepdim=True)
    mask = ((distance - _NEAR) / (_FAR - _NEAR)).clamp(0, 1)
    # soften: a restyle blended by this mask must not show a hard cut-out line
    mask = gaussian_blur(mask, max(1.0, 0.004 * min(h, w))).clamp(0, 1)
    return mask, MASK_COMPUTED
