"""4x super-resolution networks: the default efficient upscaler, the older SRResNet-like
generator (kept so weights exported before it still load) and a patch discriminator for the
optional adversarial stage.

Default, ``LocalFeatureEnhancer`` ("rlfn"): residual local feature blocks (RLFN, Kong et al.
2022, the NTIRE 2022 efficient-SR winner, itself a leaner RFDN): three 3x3 convolutions with
one skip around them, then a 1x1 convolution and a light enhanced spatial attention (ESA: a
strided, max-pooled view of the block gives each pixel a 0..1 gate from a wide context for a
few hundred multiply-adds). About 0.3 M parameters at 48 channels x 4 blocks, every
convolution at the low resolution, one pixel shuffle at the end: the whole network costs
about as much as two 3x3 convolutions would at the output size, which is what makes a
20-minute CPU run useful. Only Conv2d, LeakyReLU, sigmoid, max pooling, bilinear/bicubic
interpolation and PixelShuffle: plain ONNX operators.
Like the older network it adds a bicubic upscale of the input (a global residual, zero-init
last layer), so it starts exactly at bicubic and only learns what bicubic gets wrong.

Older, ``EnhanceGenerator`` ("srresnet", Ledig et al. 2017, without batch norm as in EDSR):
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

__all__ = ["LocalFeatureEnhancer", "EnhanceGenerator", "PatchDiscriminator", "SCALE", "ARCHITECTURES"]

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


class _SpatialAttention(nn.Module):
    """ESA as RFDN/RLFN use it: 1x1 down to ``reduced`` channels, a stride-2 conv and a
    7x7/3 max pool for a wide, cheap context, back up (bilinear) and a 1x1 to a sigmoid gate."""

    def __init__(self, channels: int, reduced: int = 16) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.down = nn.Conv2d(reduced, reduced, 3, stride=2, padding=1)
        self.context = nn.Conv2d(reduced, reduced, 3, padding=1)
        self.skip = nn.Conv2d(reduced, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.reduce(x)
        # padding 3 keeps the pool valid on any input size (tiles of a few pixels included)
        c = self.context(F.max_pool2d(self.down(r), kernel_size=7, stride=3, padding=3))
        c = F.interpolate(c, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.expand(c + self.skip(r)))


class _LocalFeatureBlock(nn.Module):
    """RLFB: three conv + LeakyReLU with one skip over them (RLFN drops RFDN's feature
    distillation branches: fewer, larger convolutions run faster for the same quality)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.05, True),
            nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.05, True),
            nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.05, True),
        )
        self.fuse = nn.Conv2d(channels, channels, 1)
        self.attention = _SpatialAttention(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(self.fuse(x + self.body(x)))


class LocalFeatureEnhancer(nn.Module):
    """head conv -> residual local feature blocks -> conv (+ head skip) -> conv to 3 x 16
    channels -> PixelShuffle(4), added to the bicubic upscale of the input."""

    def __init__(self, *, channels: int = 48, blocks: int = 4) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[_LocalFeatureBlock(channels) for _ in range(blocks)])
        self.join = nn.Conv2d(channels, channels, 3, padding=1)
        self.tail = nn.Conv2d(channels, 3 * SCALE * SCALE, 3, padding=1)
        self.shuffle = nn.PixelShuffle(SCALE)
        # Exactly bicubic at step 0; the tail's gradient is not zero, so it moves at once.
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        h = self.head(low)
        h = self.join(self.body(h)) + h
        base = F.interpolate(low, scale_factor=SCALE, mode="bicubic", align_corners=False)
        return base + self.shuffle(self.tail(h))


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


# Name stored in the exported weights ("arch") -> class; files without the field are "srresnet".
ARCHITECTURES: dict[str, type[nn.Module]] = {"rlfn": LocalFeatureEnhancer, "srresnet": EnhanceGenerator}
