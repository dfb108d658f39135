"""4x super-resolution networks: a convolutional generator and a patch discriminator.

Generator (SRResNet-like, Ledig et al. 2017, without batch norm as in EDSR):
conv -> residual blocks -> two x2 stages (conv to 4x channels + pixel shuffle) -> conv.
Its output is added to a bicubic upscale of the input (a global residual): the network only
learns what bicubic gets wrong (edges, texture, undoing blur and JPEG), so it starts at
about bicubic quality instead of at noise and trains in far fewer steps.

Patch discriminator (pix2pix, Isola et al. 2017): a few stride-2 convolutions giving one
logit per overlapping patch, so it judges local texture rather than the whole image.
Both work on images in 0..1.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

__all__ = ["EnhanceGenerator", "PatchDiscriminator", "SCALE"]

SCALE = 4


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(True), nn.Conv2d(channels, channels, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.body(x)  # residual scaling keeps deep stacks stable (EDSR)


class EnhanceGenerator(nn.Module):
    def __init__(self, *, channels: int = 48, blocks: int = 6) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[_Residual(channels) for _ in range(blocks)], nn.Conv2d(channels, channels, 3, padding=1))
        up = []
        for _ in range(2):  # two x2 stages = x4
            up += [nn.Conv2d(channels, channels * 4, 3, padding=1), nn.PixelShuffle(2), nn.LeakyReLU(0.2, True)]
        self.upsample = nn.Sequential(*up)
        self.tail = nn.Conv2d(channels, 3, 3, padding=1)
        # Start close to bicubic (a small, not zero, tail so gradients reach every layer at once).
        nn.init.normal_(self.tail.weight, 0.0, 1e-3)
        nn.init.zeros_(self.tail.bias)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        h = self.head(low)
        h = h + self.body(h)
        residual = self.tail(self.upsample(h))
        base = F.interpolate(low, scale_factor=SCALE, mode="bicubic", align_corners=False)
        return base + residual


class PatchDiscriminator(nn.Module):
    def __init__(self, *, channels: int = 64, layers: int = 3) -> None:
        super().__init__()
        mods: list[nn.Module] = [spectral_norm(nn.Conv2d(3, channels, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        c = channels
        for _ in range(layers - 1):
            mods += [spectral_norm(nn.Conv2d(c, min(c * 2, 256), 4, 2, 1)), nn.LeakyReLU(0.2, True)]
            c = min(c * 2, 256)
        mods.append(spectral_norm(nn.Conv2d(c, 1, 3, 1, 1)))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)  # (N, 1, H/8, W/8) patch logits
