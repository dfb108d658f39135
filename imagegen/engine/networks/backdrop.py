"""The backdrop GAN's networks: a fully convolutional generator and a patch discriminator.

Generator: a spatial noise field z (N, z_channels, h, w) plus a per-photo "look" vector
(learned embedding of which training photo to resemble) broadcast over the field; a 3x3 conv,
then ``levels`` blocks of (nearest x2 upsampling, two 3x3 convs, LeakyReLU), then a 3x3 conv
to RGB with tanh. No normalisation layer (batch statistics would differ between 64 px
training crops and a full frame) and no fully connected layer, so the output is any size:
noise h x w gives (h * 2^levels) x (w * 2^levels). Reflect padding keeps borders free of the
dark rim zero padding leaves. Plain convs, interpolate and activations: ONNX-exportable.

Discriminator: a PatchGAN (strided 4x4 convs, spectral norm, LeakyReLU) giving one logit per
overlapping patch, plus a projection term (Miyato & Koyama 2018) for the look: the inner
product of each patch's features with the look's embedding, so D judges "is this a real patch
of photo k", and each look stays that photo's texture instead of a blend of all of them.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

__all__ = ["BackdropGenerator", "PatchDiscriminator"]


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")


class _UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = _conv(cin, cout)
        self.conv2 = _conv(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = F.leaky_relu(self.conv1(x), 0.2)
        return F.leaky_relu(self.conv2(x), 0.2)


class BackdropGenerator(nn.Module):
    def __init__(self, looks: int, *, z_channels: int = 16, look_dim: int = 16, widths: tuple[int, ...] = (96, 64, 48, 32)) -> None:
        super().__init__()
        self.looks, self.z_channels, self.look_dim = looks, z_channels, look_dim
        self.levels = len(widths) - 1
        self.look = nn.Embedding(max(1, looks), look_dim)
        self.stem = _conv(z_channels + look_dim, widths[0])
        self.blocks = nn.ModuleList(_UpBlock(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.to_rgb = _conv(widths[-1], 3)

    @property
    def factor(self) -> int:
        """Output pixels per noise cell along each side."""
        return 2**self.levels

    def forward(self, z: torch.Tensor, look: torch.Tensor) -> torch.Tensor:
        """z (N, z_channels, h, w), look (N,) int64 -> (N, 3, h * factor, w * factor) in -1..1."""
        n, _, h, w = z.shape
        v = self.look(look).view(n, self.look_dim, 1, 1).expand(n, self.look_dim, h, w)
        x = F.leaky_relu(self.stem(torch.cat([z, v], dim=1)), 0.2)
        for block in self.blocks:
            x = block(x)
        return torch.tanh(self.to_rgb(x))


class PatchDiscriminator(nn.Module):
    def __init__(self, looks: int, *, widths: tuple[int, ...] = (32, 64, 128)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for cout in widths:
            layers += [spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.out = spectral_norm(nn.Conv2d(cin, 1, 3, padding=1))
        self.look = spectral_norm(nn.Embedding(max(1, looks), cin))

    def forward(self, x: torch.Tensor, look: torch.Tensor) -> torch.Tensor:
        """x (N, 3, S, S) in -1..1 -> patch logits (N, 1, S/8, S/8)."""
        f = self.features(x)
        projection = (f * self.look(look)[:, :, None, None]).sum(dim=1, keepdim=True)
        return self.out(f) + projection
