"""Running a fully convolutional network on a large image in overlapping tiles.

Each tile is processed on its own, and the tiles are blended with weights that ramp linearly
across the overlap (1 in a tile's interior, falling towards edges shared with a neighbour, 1 on
the image's own border), so no tile edge shows. The outer quarter of each overlap gets no
weight at all: a filter whose radius fits in it gives exactly the untiled result, and a
network's padding effects at tile borders are hidden.

Networks that normalise by whole-image statistics must also share those statistics across
tiles (see networks/norm.py); ``run_tiled`` only does the geometry.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["tile_starts", "run_tiled"]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``length`` with at least ``overlap``."""
    if tile >= length:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be in [0, tile), got {overlap} for tile {tile}")
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _ramp(length: int, start: int, tile: int, overlap: int, total: int, device, dtype) -> torch.Tensor:
    """Per-pixel weight along one axis: 0 for the first quarter of an overlap at a tile edge
    shared with a neighbour (where the tile's own padding shows), then a linear ramp to 1."""
    w = torch.ones(tile, device=device, dtype=dtype)
    if overlap <= 0:
        return w
    margin = overlap // 4
    ramp = torch.zeros(overlap, device=device, dtype=dtype)
    ramp[margin:] = torch.linspace(0.0, 1.0, overlap - margin + 2, device=device, dtype=dtype)[1:-1]
    if start > 0:
        w[:overlap] = ramp
    if start + tile < total:
        w[-overlap:] = torch.minimum(w[-overlap:], ramp.flip(0))
    return w


def run_tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int) -> torch.Tensor:
    """``fn`` applied to (B, C, H, W) ``x`` tile by tile, blended; fn must keep H and W."""
    b, _, h, w = x.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    if len(ys) == 1 and len(xs) == 1:
        return fn(x)
    th, tw = min(tile, h), min(tile, w)
    out: torch.Tensor | None = None
    weight = torch.zeros(1, 1, h, w, device=x.device, dtype=torch.float32)
    for y0 in ys:
        wy = _ramp(h, y0, th, overlap, h, x.device, torch.float32)
        for x0 in xs:
            wx = _ramp(w, x0, tw, overlap, w, x.device, torch.float32)
            piece = fn(x[..., y0 : y0 + th, x0 : x0 + tw]).float()
            if out is None:
                out = torch.zeros(b, piece.shape[1], h, w, device=x.device, dtype=torch.float32)
            win = (wy[:, None] * wx[None, :])[None, None]
            out[..., y0 : y0 + th, x0 : x0 + tw] += piece * win
            weight[..., y0 : y0 + th, x0 : x0 + tw] += win
    assert out is not None
    return out / weight
