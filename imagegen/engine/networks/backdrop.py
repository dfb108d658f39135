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

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

__all__ = ["BackdropGenerator", "PatchDiscriminator"]


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")


def _up(x: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "nearest":
        return F.interpolate(x, scale_factor=2.0, mode="nearest")
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class _UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int, upsample: str) -> None:
        super().__init__()
        self.upsample = upsample
        self.conv1 = _conv(cin, cout)
        self.conv2 = _conv(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _up(x, self.upsample)
        x = F.leaky_relu(self.conv1(x), 0.2)
        return F.leaky_relu(self.conv2(x), 0.2)


class BackdropGenerator(nn.Module):
    def __init__(
        self, looks: int, *, z_channels: int = 16, look_dim: int = 16, widths: tuple[int, ...] = (96, 64, 48, 32),
        upsample: str = "nearest", rgb_skips: bool = False, periodic: int = 0,
    ) -> None:
        super().__init__()
        if upsample not in ("nearest", "bilinear"):
            raise ValueError(f"upsample must be 'nearest' or 'bilinear', got {upsample!r}")
        self.looks, self.z_channels, self.look_dim = looks, z_channels, look_dim
        self.levels = len(widths) - 1
        self.upsample, self.rgb_skips, self.periodic = upsample, rgb_skips, periodic
        if periodic > z_channels:
            raise ValueError(f"periodic ({periodic}) takes its phases from z's channels: at most z_channels ({z_channels})")
        self.look = nn.Embedding(max(1, looks), look_dim)
        # PSGAN's periodic channels (Bergmann et al. 2017): sin(k . (x, y) + phase) with a wave
        # vector k learned per look, so bricks, planks and weaves repeat regularly across any
        # size instead of only as far as the convolutions see.
        self.waves = nn.Linear(look_dim, 2 * periodic) if periodic else None
        self.stem = _conv(z_channels + look_dim + periodic, widths[0])
        self.blocks = nn.ModuleList(_UpBlock(a, b, upsample) for a, b in zip(widths[:-1], widths[1:]))
        self.to_rgb = _conv(widths[-1], 3)
        # StyleGAN2's skip generator: every level adds its own RGB, upsampled, to the output,
        # so the coarse levels paint the colour fields and the fine ones only add detail.
        self.skips = nn.ModuleList(nn.Conv2d(w, 3, 1) for w in widths[:-1]) if rgb_skips else None

    @property
    def factor(self) -> int:
        """Output pixels per noise cell along each side."""
        return 2**self.levels

    def forward(self, z: torch.Tensor, look: torch.Tensor) -> torch.Tensor:
        """z (N, z_channels, h, w), look (N,) int64 -> (N, 3, h * factor, w * factor) in -1..1."""
        n, _, h, w = z.shape
        e = self.look(look)
        v = e.view(n, self.look_dim, 1, 1).expand(n, self.look_dim, h, w)
        parts = [z, v]
        if self.waves is not None:
            parts.append(self._periodic(z, e))
        x = F.leaky_relu(self.stem(torch.cat(parts, dim=1)), 0.2)
        rgb: torch.Tensor | None = None
        for i, block in enumerate(self.blocks):
            if self.skips is not None:
                rgb = self.skips[i](x) if rgb is None else rgb + self.skips[i](x)
                rgb = _up(rgb, "bilinear")
            x = block(x)
        out = self.to_rgb(x)
        return torch.tanh(out if rgb is None else out + rgb)


    def _periodic(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """(N, periodic, h, w): one plane wave per channel, k in radians per noise cell (up to
        pi: a period of two cells), phases from z's first cell (so a seed fixes them, any size)."""
        n, _, h, w = z.shape
        k = torch.tanh(self.waves(e)).view(n, self.periodic, 2, 1, 1) * math.pi
        ys = torch.arange(h, dtype=z.dtype, device=z.device).view(1, 1, h, 1)
        xs = torch.arange(w, dtype=z.dtype, device=z.device).view(1, 1, 1, w)
        phase = (z[:, : self.periodic, :1, :1] * math.pi)
        return torch.sin(k[:, :, 0] * xs + k[:, :, 1] * ys + phase)


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
