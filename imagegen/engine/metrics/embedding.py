"""The named image embedding for distribution metrics: ``randconv64-v1``.

No pretrained network (Inception, CLIP) may be downloaded, so KID and Frechet distances here
are measured in the features of a small convolutional network with *fixed random* weights:
four 3x3 stride-2 convolutions (3->32->64->128->256, ReLU) drawn from a seeded generator,
applied to images resized to 64x64; the embedding is each layer's per-channel mean and
standard deviation (480 + 480 = 960 numbers). Random convolutional features are a known,
weaker stand-in for learned ones: they capture colour, edges and texture statistics at four
scales, not semantics. Figures are comparable between runs of this project (same name, same
version), never with published FID or KID values.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["EMBEDDING_NAME", "embed"]

EMBEDDING_NAME = "randconv64-v1"
_SEED = 20240601
_WIDTHS = (3, 32, 64, 128, 256)
_WEIGHTS: list[torch.Tensor] | None = None


def _weights() -> list[torch.Tensor]:
    global _WEIGHTS
    if _WEIGHTS is None:
        g = torch.Generator().manual_seed(_SEED)
        _WEIGHTS = [
            torch.randn(cout, cin, 3, 3, generator=g) * (2.0 / (cin * 9)) ** 0.5  # He initialisation
            for cin, cout in zip(_WIDTHS[:-1], _WIDTHS[1:])
        ]
    return _WEIGHTS


@torch.no_grad()
def embed(images: torch.Tensor, *, batch: int = 64) -> torch.Tensor:
    """(N, 3, H, W) RGB in 0..1 -> (N, 960) float32 features (on the CPU)."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected (N, 3, H, W) images, got {tuple(images.shape)}")
    out = []
    for start in range(0, len(images), batch):
        x = images[start : start + batch].float().cpu()
        x = F.interpolate(x, size=(64, 64), mode="bilinear", antialias=True, align_corners=False)
        x = (x - 0.5) / 0.25
        stats = []
        for w in _weights():
            x = F.relu(F.conv2d(x, w, stride=2, padding=1))
            stats += [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
        out.append(torch.cat(stats, dim=1))
    return torch.cat(out)
