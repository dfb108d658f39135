"""Clean product edges of an opaque photo: the colour of a semi-transparent edge pixel of a
segmented product is a mix of the product and the old background (I = a F + (1 - a) B), and
put on a new background as is it shows a fringe of the old one (a halo). ``decontaminate``
estimates B from the nearby background pixels and solves for F at those edge pixels only;
pixels whose mask is 1 keep the photo's colour exactly. Not needed for an upload with real
transparency, whose colours are already the product's own."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


__all__ = ["decontaminate"]

_TILE, _CHUNK = 64, 256  # tile side (px), tiles blurred per call


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
    radius = max(1, math.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=rgb.dtype, device=rgb.device) / sigma) ** 2)
    k = k / k.sum()
    a = mask.clamp(0, 1)
    weight = ((0.1 - a) / 0.1).clamp(0, 1)  # (nearly) pure background pixels tell its colour
    # (rgb x weight, weight) with the edges replicated (as gaussian_blur does), padded to whole tiles
    stack = F.pad(torch.cat([rgb * weight, weight])[None], (radius,) * 4, mode="replicate")[0]
    stack = F.pad(stack, (0, (-w) % _TILE, 0, (-h) % _TILE))
    # The edge is a thin outline: blur only the tiles it crosses, all at once, each with its
    # ``radius`` px of context (so the result is what a blur of the whole image would give).
    hits = torch.nonzero(F.max_pool2d(partial.float()[None], _TILE, ceil_mode=True)[0, 0]).tolist()
    out = rgb.clone()
    span = _TILE + 2 * radius
    for first in range(0, len(hits), _CHUNK):
        chunk = hits[first : first + _CHUNK]
        tiles = torch.stack([stack[:, ty * _TILE : ty * _TILE + span, tx * _TILE : tx * _TILE + span] for ty, tx in chunk])
        tiles = F.conv2d(tiles, k.view(1, 1, 1, -1).expand(4, 1, 1, -1), groups=4)
        tiles = F.conv2d(tiles, k.view(1, 1, -1, 1).expand(4, 1, -1, 1), groups=4)
        for (ty, tx), blurred in zip(chunk, tiles):
            y0, x0 = ty * _TILE, tx * _TILE
            y1, x1 = min(h, y0 + _TILE), min(w, x0 + _TILE)
            near = blurred[3:, : y1 - y0, : x1 - x0]
            back = blurred[:3, : y1 - y0, : x1 - x0] / near.clamp(min=1e-4)
            win, aw = rgb[:, y0:y1, x0:x1], a[:, y0:y1, x0:x1]
            fg = ((win - (1 - aw) * back) / aw.clamp(min=1e-3)).clamp(0, 1)
            # an edge pixel with no background pixel near it (a wide soft edge) keeps its colour
            known = partial[:, y0:y1, x0:x1] & (near > 0.02)
            out[:, y0:y1, x0:x1] = torch.where(known, fg, win)
    return out
