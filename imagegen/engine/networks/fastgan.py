"""FastGAN-style generator and discriminator for few-shot catalogues, written from the paper:
Liu, Zhu, Song & Elgammal 2021, "Towards Faster and Stabilized GAN Training for High-fidelity
Few-shot Image Synthesis" (ICLR 2021), sections 3.1 and 3.2. (The authors' code is GPL and was
not looked at; the layer choices below are the paper's, the widths are ours, picked for CPUs.)

Generator (paper 3.1):
- a learned 4x4 map from z (a 4x4 transposed convolution of the 1x1 input), with a category
  embedding concatenated to z when conditional;
- up-sampling blocks of nearest x2 upsampling, 3x3 convolution, batch norm and GLU (the GLU
  halves the channels, so each convolution produces twice what the block outputs);
- skip-layer excitation (SLE): a low-resolution feature map is pooled to 4x4, turned into
  one gate per channel (4x4 conv -> LeakyReLU -> 1x1 conv -> sigmoid) and multiplies the
  high-resolution map channel-wise. It carries global layout (the product's silhouette)
  straight to the fine layers at the cost of almost nothing; the paper pairs resolutions 8x
  to 32x apart. Here: 4 -> 32 and 8 -> 64 at 64 px, 8 -> 64 and 16 -> 128 at 128 px (and
  4 -> 32 alone at 32 px, a size kept for quick tests).
- a 3x3 convolution to RGB and tanh.

Discriminator (paper 3.2): stride-2 down-sampling blocks (two paths averaged: 4x4/stride-2
conv -> 3x3 conv, and 2x2 average pool -> 1x1 conv, as the paper's residual down block), to
8x8, then a logit per image. It is also an auto-encoder on real images only: two small
decoders reconstruct (a) the whole real image at a quarter of the side from the 8x8 map and
(b) a random quadrant of the real image from the matching 8x8 quadrant of the 16x16 map.
That forces D to keep a description of the whole image instead of the one cue that separates
real from fake this step, which is what stops it from overfitting a hundred images. The
paper uses a perceptual (LPIPS) reconstruction loss; here it is L1 on pixels, which needs no
pretrained network and runs on a CPU. No batch norm in D (spectral norm optional): D's
outputs do not depend on the rest of the batch, so a batch split over processes gives the
same logits (distributed.py).

Conditioning: embedding concatenated to z in G, projection <embed(y), pooled features> in D
(Miyato & Koyama 2018), as the DCGAN networks do.

All layers are plain convolutions, pools, batch norm and pointwise ops, so the generator
exports to ONNX.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .gan import dcgan_init
from .syncnorm import DistributedBatchNorm2d

__all__ = ["FastGenerator", "FastDiscriminator", "SLE", "UpBlock", "Decoder", "FAST_SIZES", "sle_pairs", "crop_quadrant", "reconstruction_targets"]

FAST_SIZES = (32, 64, 128)


def _width(base: int, resolution: int, cap: int = 512) -> int:
    """Channels at ``resolution``: base at 64 px, doubling per halving of the side (capped)."""
    return max(8, min(cap, int(base * 64 // resolution)))


def sle_pairs(size: int) -> list[tuple[int, int]]:
    """(low, high) resolutions joined by skip-layer excitation: the last two stages, each
    gated by a map 8x smaller (at 32 px only the last: there is no 2x2 map)."""
    if size not in FAST_SIZES:
        raise ValueError(f"FastGAN image size must be one of {FAST_SIZES}, got {size}")
    return [(lo, hi) for lo, hi in ((size // 16, size // 2), (size // 8, size)) if lo >= 4]


class GLU(nn.Module):
    """Gated linear unit over channels: first half * sigmoid(second half)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return a * torch.sigmoid(b)


class UpBlock(nn.Module):
    """Nearest x2 -> 3x3 conv -> batch norm -> GLU (paper, figure 3)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * 2, 3, 1, 1, bias=False)
        self.norm = DistributedBatchNorm2d(cout * 2)
        self.glu = GLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.glu(self.norm(self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))))


class SLE(nn.Module):
    """Skip-layer excitation: gate = sigmoid(conv1x1(lrelu(conv4x4(pool4(low))))); high * gate."""

    def __init__(self, c_low: int, c_high: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            nn.Conv2d(c_low, c_high, 4, 1, 0, bias=False),
            nn.LeakyReLU(0.1),
            nn.Conv2d(c_high, c_high, 1, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.gate(low)


class FastGenerator(nn.Module):
    def __init__(self, size: int = 64, *, z_dim: int = 128, base: int = 16, num_classes: int = 0, embed_dim: int = 32) -> None:
        super().__init__()
        self.size, self.z_dim, self.num_classes = size, z_dim, num_classes
        self.pairs = sle_pairs(size)
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        in_dim = z_dim + (embed_dim if num_classes else 0)
        c4 = _width(base, 4)
        self.init = nn.Sequential(nn.ConvTranspose2d(in_dim, c4 * 2, 4, 1, 0, bias=False), DistributedBatchNorm2d(c4 * 2), GLU())
        self.ups = nn.ModuleDict()
        r = 4
        while r < size:
            self.ups[str(r * 2)] = UpBlock(_width(base, r), _width(base, r * 2))
            r *= 2
        self.sle = nn.ModuleDict({f"{lo}_{hi}": SLE(_width(base, lo), _width(base, hi)) for lo, hi in self.pairs})
        self.to_rgb = nn.Sequential(nn.Conv2d(_width(base, size), 3, 3, 1, 1), nn.Tanh())
        self.apply(dcgan_init)  # N(0, 0.02), as DCGAN and the paper

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("this generator is category-conditional: pass labels")
            z = torch.cat([z, self.embed(labels)], dim=1)
        feats = {4: self.init(z[:, :, None, None])}
        r = 4
        while r < self.size:
            h = self.ups[str(r * 2)](feats[r])
            r *= 2
            for lo, hi in self.pairs:
                if hi == r:
                    h = self.sle[f"{lo}_{hi}"](feats[lo], h)
            feats[r] = h
        return self.to_rgb(feats[self.size])


class DownBlock(nn.Module):
    """Two paths averaged: 4x4 stride-2 conv -> LReLU -> 3x3 conv -> LReLU, and 2x2 avg pool ->
    1x1 conv -> LReLU (the paper's residual down-sampling block, without batch norm)."""

    def __init__(self, cin: int, cout: int, wrap) -> None:
        super().__init__()
        self.main = nn.Sequential(
            wrap(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2), wrap(nn.Conv2d(cout, cout, 3, 1, 1)), nn.LeakyReLU(0.2)
        )
        self.skip = nn.Sequential(nn.AvgPool2d(2), wrap(nn.Conv2d(cin, cout, 1, 1, 0)), nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.skip(x)) / 2


class Decoder(nn.Module):
    """8x8 feature map -> (3, 32, 32) image in -1..1: nearest x2 + 3x3 conv + GLU, twice.
    No batch norm, so a real batch split across processes reconstructs the same."""

    def __init__(self, cin: int, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(cin, width * 2, 3, 1, 1), GLU(),
            nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(width, width, 3, 1, 1), GLU(),
            nn.Conv2d(width // 2, 3, 3, 1, 1), nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def crop_quadrant(x: torch.Tensor, part: int) -> torch.Tensor:
    """Quadrant ``part`` (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) of (N, C, H, W)."""
    h, w = x.shape[-2] // 2, x.shape[-1] // 2
    top, left = (part // 2) * h, (part % 2) * w
    return x[..., top : top + h, left : left + w]


class FastDiscriminator(nn.Module):
    """forward(x, labels) -> logits (N,); forward(..., part=k, rows=r) -> (logits, (whole,
    quadrant)): the two 32x32 reconstructions of the first r images of the batch (the real
    ones; see ``reconstruction_targets``)."""

    def __init__(self, size: int = 64, *, base: int = 16, num_classes: int = 0, spectral: bool = True) -> None:
        super().__init__()
        if size not in FAST_SIZES:
            raise ValueError(f"FastGAN image size must be one of {FAST_SIZES}, got {size}")
        self.size, self.num_classes = size, num_classes
        wrap = spectral_norm if spectral else (lambda m: m)
        c_first = _width(base, size // 2)
        self.stem = nn.Sequential(wrap(nn.Conv2d(3, c_first, 4, 2, 1)), nn.LeakyReLU(0.2))
        downs = []
        r = size // 2
        while r > 8:
            downs.append(DownBlock(_width(base, r), _width(base, r // 2), wrap))
            r //= 2
        self.to16 = nn.Sequential(*downs[:-1])  # size/2 -> 16
        self.to8 = downs[-1]  # 16 -> 8
        c8, c16 = _width(base, 8), _width(base, 16)
        # The sum of the 8x8 map's 5x5 logits (a 4x4 conv) is the image's score: a sum, not a
        # mean, because spectral norm bounds every layer's gain and an averaged score stayed
        # inside the hinge margin (D at chance, G without signal; measured). No bias on
        # the last conv: with the hinge loss its gradient is exactly zero while the logits are
        # inside the margin, and Adam would turn the rounding noise of that zero into full
        # steps (processes that add in another order would then drift apart).
        self.head = nn.Sequential(wrap(nn.Conv2d(c8, c8, 1, 1, 0)), nn.LeakyReLU(0.2), wrap(nn.Conv2d(c8, 1, 4, 1, 0, bias=False)))
        self.embed = wrap(nn.Embedding(num_classes, c8)) if num_classes else None
        self.decode_whole = Decoder(c8)
        self.decode_part = Decoder(c16)
        self.apply(dcgan_init)  # N(0, 0.02), as DCGAN and the paper

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, *, part: int | None = None, rows: int | None = None):
        f16 = self.to16(self.stem(x))
        f8 = self.to8(f16)
        logit = self.head(f8).sum(dim=(1, 2, 3))
        if self.embed is not None:
            if labels is None:
                raise ValueError("this discriminator is category-conditional: pass labels")
            logit = logit + (self.embed(labels) * f8.sum(dim=(2, 3))).sum(1)  # projection on sum-pooled features, as SNGAN
        if part is None:
            return logit
        rows = len(x) if rows is None else rows
        return logit, (self.decode_whole(f8[:rows]), self.decode_part(crop_quadrant(f16[:rows], part)))


def reconstruction_targets(real: torch.Tensor, part: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What the decoders must reproduce from a real batch: the whole image and quadrant
    ``part``, each resized (area) to 32x32."""
    whole = F.adaptive_avg_pool2d(real, 32)
    quadrant = crop_quadrant(real, part)
    return whole, F.adaptive_avg_pool2d(quadrant, 32)
