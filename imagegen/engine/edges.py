"""Clean product edges of an opaque photo: the colour of a semi-transparent edge pixel of a
segmented product is a mix of the product and the old background (I = a F + (1 - a) B), and
put on a new background as is it shows a fringe of the old one (a halo). ``decontaminate``
estimates B from the nearby background pixels and solves for F at those edge pixels only;
pixels whose mask is 1 keep the photo's colour exactly. Not needed for an upload with real
transparency, whose colours are already the product's own."""

from __future__ import annotations

import math

import torch

from .blur import gaussian_blur

__all__ = ["decontaminate"]


def decontaminate(rgb: torch.Tensor, mask: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
    """(3, H, W) colours with the old background removed from the pixels where 0 < mask < 1;
    ``sigma`` (px): how far around an edge the background colour is taken from (default 2 px,
    0.1% of the long side above 2000 px: on the shared products composited on the shared
    backgrounds, wider estimates mixed in more of a textured background's detail)."""
    partial = (mask > 0) & (mask < 1)
    if not bool(partial.any()):
        return rgb
    h, w = rgb.shape[-2:]
    sigma = sigma or max(2.0, 0.001 * max(h, w))
    # only the region around the edge pixels needs the blur
    ys, xs = torch.nonzero(partial[0], as_tuple=True)
    reach = math.ceil(4 * sigma)
    t, b = max(0, int(ys.min()) - reach), min(h, int(ys.max()) + 1 + reach)
    l, r = max(0, int(xs.min()) - reach), min(w, int(xs.max()) + 1 + reach)
    win, a = rgb[:, t:b, l:r], mask[:, t:b, l:r].clamp(0, 1)
    weight = ((0.1 - a) / 0.1).clamp(0, 1)  # (nearly) pure background pixels tell its colour
    near = gaussian_blur(weight.contiguous(), sigma)
    back = gaussian_blur((win * weight).contiguous(), sigma) / near.clamp(min=1e-4)
    fg = ((win - (1 - a) * back) / a.clamp(min=1e-3)).clamp(0, 1)
    # an edge pixel with no background pixel near it (a wide soft edge) keeps its colour
    known = partial[:, t:b, l:r] & (near > 0.02)
    out = rgb.clone()
    out[:, t:b, l:r] = torch.where(known, fg, win)
    return out
