"""DCGAN-style generator and discriminator for product images (Radford et al. 2016).

Generator: z (and a category embedding when conditional) -> 4x4 feature map -> stride-2
transposed convolutions doubling the size until ``size`` -> tanh, so images are in -1..1.
Discriminator: the mirror image, stride-2 convolutions down to 4x4, then one logit per
image (no sigmoid: the losses work on logits, which is numerically safe).

The same networks serve both training configurations:
- baseline (the article's): batch norm in both networks, as DCGAN;
- strong: spectral norm on every discriminator layer and no batch norm there (Miyato et al.
  2018), which bounds D's Lipschitz constant and keeps the hinge loss from exploding.
Conditioning on a category uses a learned embedding concatenated to z in G and a projection
term <embed(y), features> added to D's logit (Miyato & Koyama 2018).

Batch norm is ``DistributedBatchNorm2d``: plain ``nn.BatchNorm2d`` (same weights file) in one
process, statistics over the whole batch when the batch is split over processes.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .syncnorm import DistributedBatchNorm2d

__all__ = ["Generator", "Discriminator", "SIZES", "depth_for"]

SIZES = (32, 64, 128)
MAX_CHANNELS = 512


def depth_for(size: int) -> int:
    """Number of x2 stages between 4x4 and ``size``."""
    if size not in SIZES:
        raise ValueError(f"GAN image size must be one of {SIZES}, got {size}")
    return int(math.log2(size // 4))


def _channels(base: int, depth: int, i: int) -> int:
    """Channels at stage i (0 = the 4x4 end): wide at low resolution, narrow at high."""
    return min(MAX_CHANNELS, base * 2 ** (depth - 1 - i))


class Generator(nn.Module):
    def __init__(self, size: int = 64, *, z_dim: int = 128, base: int = 64, num_classes: int = 0, embed_dim: int = 32) -> None:
        super().__init__()
        self.size, self.z_dim, self.num_classes = size, z_dim, num_classes
        depth = depth_for(size)
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        in_dim = z_dim + (embed_dim if num_classes else 0)
        c0 = _channels(base, depth, 0)
        # A 4x4 "transposed conv" from a 1x1 input is exactly a linear layer to 4x4xc0.
        self.project = nn.Sequential(nn.ConvTranspose2d(in_dim, c0, 4, 1, 0, bias=False), DistributedBatchNorm2d(c0), nn.ReLU(True))
        blocks = []
        for i in range(depth - 1):
            cin, cout = _channels(base, depth, i), _channels(base, depth, i + 1)
            blocks += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), DistributedBatchNorm2d(cout), nn.ReLU(True)]
        self.blocks = nn.Sequential(*blocks)
        self.to_rgb = nn.Sequential(nn.ConvTranspose2d(_channels(base, depth, depth - 1), 3, 4, 2, 1), nn.Tanh())
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is category-conditional: pass labels")
            z = torch.cat([z, self.embed(labels)], dim=1)
        return self.to_rgb(self.blocks(self.project(z[:, :, None, None])))


class Discriminator(nn.Module):
    def __init__(self, size: int = 64, *, base: int = 64, num_classes: int = 0, spectral: bool = False, batch_norm: bool = True) -> None:
        super().__init__()
        self.size, self.num_classes = size, num_classes
        depth = depth_for(size)
        wrap = spectral_norm if spectral else (lambda m: m)
        layers: list[nn.Module] = []
        cin = 3
        for i in range(depth):
            cout = _channels(base, depth, depth - 1 - i)
            layers.append(wrap(nn.Conv2d(cin, cout, 4, 2, 1, bias=not batch_norm or i == 0)))
            if batch_norm and i > 0:  # DCGAN: no batch norm on the first layer
                layers.append(DistributedBatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, True))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = wrap(nn.Conv2d(cin, 1, 4, 1, 0))
        self.embed = wrap(nn.Embedding(num_classes, cin)) if num_classes else None
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        logit = self.head(h).flatten(1).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is category-conditional: pass labels")
            logit = logit + (self.embed(labels) * h.sum(dim=(2, 3))).sum(1)
        return logit


def dcgan_init(module: nn.Module) -> None:
    # DCGAN's initialisation: N(0, 0.02) weights, batch norm scale N(1, 0.02).
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
        weight = getattr(module, "parametrizations", None)
        target = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
