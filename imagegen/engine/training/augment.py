"""Augmentations on batches (N, 3, H, W). Every random draw comes from the ``torch.Generator``
passed in (a CPU generator the trainer owns and checkpoints), so a resumed run draws exactly
the same augmentations as an uninterrupted one.

- Data augmentation (``flip``, ``random_crop``, ``color_jitter``) changes what the model
  sees as *data*: for a GAN only flips are safe (a product mirrored is still a product);
  crops and colour jitter would leak into the generated images, so the GAN uses them only
  through DiffAugment.
- DiffAugment (Zhao et al. 2020) augments real *and* generated images, differentiably,
  every time the discriminator looks at them, so D cannot memorise a small catalogue and
  the augmentation does not leak into G. Policy "color,translation,cutout".

``shard=(rank, world)``: in a distributed run each process holds a slice of the batch; it
draws the random numbers of the whole batch (world x its rows, from the generator every
process seeded alike) and uses its slice, so the augmentations are those of one process
augmenting the whole batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["flip", "random_crop", "color_jitter", "diff_augment"]


Shard = tuple[int, int]


def _rand(n: int, g: torch.Generator, device: torch.device, shard: Shard = (0, 1)) -> torch.Tensor:
    rank, world = shard
    return torch.rand(n * world, generator=g)[rank * n : (rank + 1) * n].to(device)


def _randint(low: int, high: int, n: int, g: torch.Generator, device: torch.device, shard: Shard = (0, 1)) -> torch.Tensor:
    rank, world = shard
    return torch.randint(low, high, (n * world, 1, 1), generator=g)[rank * n : (rank + 1) * n].to(device)


def flip(x: torch.Tensor, g: torch.Generator, *, shard: Shard = (0, 1)) -> torch.Tensor:
    """Mirror left-right half of the batch, at random."""
    mask = (_rand(len(x), g, x.device, shard) < 0.5).view(-1, 1, 1, 1)
    return torch.where(mask, x.flip(3), x)


def random_crop(x: torch.Tensor, g: torch.Generator, *, scale: tuple[float, float] = (0.8, 1.0)) -> torch.Tensor:
    """Zoom into a random square covering ``scale`` of each side, resized back to the input size."""
    n = len(x)
    s = scale[0] + (scale[1] - scale[0]) * _rand(n, g, x.device)
    tx = (1 - s) * (2 * _rand(n, g, x.device) - 1)
    ty = (1 - s) * (2 * _rand(n, g, x.device) - 1)
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, 0, 2], theta[:, 1, 2] = s, s, tx, ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def color_jitter(x: torch.Tensor, g: torch.Generator, *, amount: float = 0.1) -> torch.Tensor:
    """Brightness, contrast and saturation each scaled by a factor in 1 +- amount (0..1 images)."""
    n = len(x)
    b, c, s = (1 + amount * (2 * _rand(n, g, x.device) - 1).view(-1, 1, 1, 1) for _ in range(3))
    x = x * b
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * c + mean
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * s + grey
    return x.clamp(0, 1)


def diff_augment(x: torch.Tensor, g: torch.Generator, policy: str = "color,translation,cutout", *, shard: Shard = (0, 1)) -> torch.Tensor:
    """DiffAugment on images in -1..1; differentiable with respect to ``x``."""
    for op in filter(None, (p.strip() for p in policy.split(","))):
        x = _DIFF_OPS[op](x, g, shard)
    return x


def _color(x: torch.Tensor, g: torch.Generator, shard: Shard) -> torch.Tensor:
    n, dev = len(x), x.device
    x = x + (_rand(n, g, dev, shard) - 0.5).view(-1, 1, 1, 1)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(n, g, dev, shard) * 2).view(-1, 1, 1, 1) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(n, g, dev, shard) + 0.5).view(-1, 1, 1, 1) + mean  # contrast


def _translation(x: torch.Tensor, g: torch.Generator, shard: Shard, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(-sh, sh + 1, n, g, x.device, shard)
    dx = _randint(-sw, sw + 1, n, g, x.device, shard)
    yy = torch.arange(h, device=x.device).view(1, h, 1)
    xx = torch.arange(w, device=x.device).view(1, 1, w)
    # Pixels shifted in from outside are zero (padding), as in the paper.
    src_y = (yy + dy).clamp(-1, h) + 1
    src_x = (xx + dx).clamp(-1, w) + 1
    padded = F.pad(x, (1, 1, 1, 1))
    idx = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[idx, src_y, src_x].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, g: torch.Generator, shard: Shard, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(0, h + (1 - ch % 2), n, g, x.device, shard)
    cx = _randint(0, w + (1 - cw % 2), n, g, x.device, shard)
    yy = torch.arange(h, device=x.device).view(1, h, 1)
    xx = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = cy - ch // 2, cx - cw // 2
    inside = (yy >= top) & (yy < top + ch) & (xx >= left) & (xx < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_DIFF_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}
