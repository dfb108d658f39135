"""Figures for a backdrop generator: memorisation, diversity and KID.

Samples are ``crop`` px squares (the training scale), one look each, compared with crops of
the training photos:

- Memorisation ("nearest crop"): every sample is reduced to a 16x16 thumbnail (area
  downscale) and compared, by RMS pixel difference in 0..1, with the thumbnails of *all*
  crops of the training photos at the training scales on a ``stride`` px grid. A generator
  that copies parts of its photos scores like a real crop taken off that grid. The reference
  scale is measured the same way: real crops at random positions (not on the grid) and their
  nearest grid crop ("copy level"). The threshold is that figure's 90th percentile; a run is
  flagged when more than half its samples are closer than it. A flat sample (thumbnail
  contrast below ``FLAT``, 3% grey) is not counted as a copy, since a plain patch "matches"
  any plain patch of its colour: such samples are reported as ``flat_share``, and a generator
  that only makes them has collapsed (diversity near 0), it has not memorised.
- Diversity: mean pairwise RMS distance between the samples' thumbnails of the same look,
  next to the same figure for real crops of that photo (a collapsed generator scores ~0).
- KID in the documented embedding (metrics/embedding.py, randconv64-v1): samples vs real
  random crops, with the floor real vs other real crops.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..metrics.embedding import EMBEDDING_NAME, embed
from ..metrics.generative import kid
from .backdrop import BackdropConfig, BackdropData, random_crops

__all__ = ["evaluate_backdrops", "generator_sampler", "grid_crops", "nearest_crop", "MEMORISATION_SPACE", "THUMB"]

THUMB = 16
FLAT = 0.03
_EPS = 0.02
MEMORISATION_SPACE = f"crop thumbnails {THUMB}x{THUMB} RGB, contrast-normalised distance"
SampleFn = Callable[[torch.Tensor, torch.Generator], torch.Tensor]  # looks (N,) -> (N, 3, crop, crop) 0..1


def _thumbs(x: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(x.float(), THUMB).flatten(1)


def grid_crops(photos: list[torch.Tensor], crop: int, scales: tuple[float, ...], stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Thumbnails (M, 3*THUMB*THUMB) of every crop on a ``stride`` grid (in training-crop px)
    at every scale, and the photo index of each."""
    thumbs, owners = [], []
    for k, p in enumerate(photos):
        x = p.float()[None] / 255
        for scale in scales:
            # at scale s a crop of crop px covers crop/s photo px: shrink the photo by s instead
            xs = x if scale == 1 else F.interpolate(x, scale_factor=scale, mode="bilinear", antialias=True, align_corners=False)
            # pooling by crop/THUMB px then taking every THUMB x THUMB window = crops' thumbnails
            cell = crop // THUMB
            pooled = F.avg_pool2d(xs, cell)
            step = max(1, stride // cell)
            windows = pooled.unfold(2, THUMB, step).unfold(3, THUMB, step)  # (1, 3, nh, nw, T, T)
            windows = windows.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3 * THUMB * THUMB)
            thumbs.append(windows)
            owners.append(torch.full((len(windows),), k))
    return torch.cat(thumbs), torch.cat(owners)


def nearest_crop(samples: torch.Tensor, refs: torch.Tensor, *, chunk: int = 256) -> torch.Tensor:
    """Contrast-normalised distance of each sample (N, 3, S, S) 0..1 to its nearest reference
    thumbnail: ||a - b|| / sqrt(||a - mean a||^2 + ||b - mean b||^2 + D eps^2). About 1 (or
    more) for two unrelated textures, 0 for a copy; ``eps`` (2% grey) keeps two flat patches of
    different colours apart and is what flat patches of the same colour are measured against."""
    q = _thumbs(samples).double()
    r = refs.double()
    dim = r.shape[1]
    r_var = ((r - r.mean(dim=1, keepdim=True)) ** 2).sum(dim=1)
    q_var = ((q - q.mean(dim=1, keepdim=True)) ** 2).sum(dim=1)
    out = []
    for i in range(0, len(q), chunk):
        d = torch.cdist(q[i : i + chunk], r)
        scale = (q_var[i : i + chunk, None] + r_var[None, :] + dim * _EPS**2).sqrt()
        out.append((d / scale).min(dim=1).values.float())
    return torch.cat(out)


def _pairwise_mean(x: torch.Tensor) -> float:
    t = _thumbs(x).double()
    if len(t) < 2:
        return 0.0
    d = torch.cdist(t, t) / (t.shape[1] ** 0.5)
    return float(d.sum() / (len(t) * (len(t) - 1)))


def _per_look_diversity(x: torch.Tensor, looks: torch.Tensor) -> float:
    values = [_pairwise_mean(x[looks == k]) for k in looks.unique().tolist() if int((looks == k).sum()) >= 2]
    return sum(values) / len(values) if values else 0.0


@torch.no_grad()
def evaluate_backdrops(sample: SampleFn, data: BackdropData, config: BackdropConfig, *, samples: int = 256,
                       stride: int = 4, seed: int = 2026) -> dict[str, Any]:
    """The figures for ``sample`` (a generator, or anything that makes crops for looks)."""
    g = torch.Generator().manual_seed(seed)
    n = max(len(data) * 2, samples)
    looks = torch.arange(n) % len(data)
    fake = sample(looks, g).float().clamp(0, 1)
    refs, _ = grid_crops(data.photos, config.crop, config.scales, stride)
    real, real_looks = random_crops(data.photos, g, n, config.crop, config.scales[:1])
    real_b, _ = random_crops(data.photos, g, n, config.crop, config.scales[:1])
    fake_near = nearest_crop(fake, refs)
    copy_near = nearest_crop(real, refs)  # a literal crop off the grid: what copying scores
    threshold = float(torch.quantile(copy_near, 0.9))
    flat = _thumbs(fake).view(len(fake), 3, -1).std(dim=2).mean(dim=1) < FLAT
    share = float(((fake_near < threshold) & ~flat).float().mean())
    e_fake, e_real, e_real_b = embed(fake), embed(real), embed(real_b)
    return {
        "generated": n,
        "looks": list(data.names),
        "crop": config.crop,
        "memorisation_space": MEMORISATION_SPACE,
        "grid_stride": stride,
        "reference_crops": len(refs),
        "nearest_crop_median": float(fake_near.median()),
        "nearest_crop_min": float(fake_near.min()),
        "copy_level_median": float(copy_near.median()),
        "memorisation_threshold": threshold,
        "memorised_share": share,
        "memorised": share > 0.5,
        "flat_share": float(flat.float().mean()),
        "diversity": _per_look_diversity(fake, looks),
        "diversity_real": _per_look_diversity(real, real_looks),
        "embedding": EMBEDDING_NAME,
        "kid": kid(e_fake, e_real),
        "kid_real_floor": kid(e_real_b, e_real),
    }


def generator_sampler(net: torch.nn.Module, config: BackdropConfig, *, batch: int = 64) -> SampleFn:
    """A SampleFn drawing ``config.crop`` px crops from a backdrop generator (noise from ``g``)."""
    cells = config.crop // net.factor

    @torch.no_grad()
    def sample(looks: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        device = next(net.parameters()).device
        out = []
        for i in range(0, len(looks), batch):
            part = looks[i : i + batch]
            z = torch.randn(len(part), net.z_channels, cells, cells, generator=g).to(device)
            out.append(((net(z, part.to(device)).float() + 1) / 2).cpu())
        return torch.cat(out)

    return sample
