"""Figures for generated images, where there is no paired ground truth.

All distribution metrics take two feature matrices (N, D) and (M, D) — rows are images in
some embedding (see embedding.py; the name of the embedding must be reported with the
figure). None of them is FID: FID is the Frechet distance in Inception-v3 features, and no
Inception weights are available here, so figures from this module are comparable only with
each other, not with published FID/KID numbers.

- kid: squared MMD with the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3, unbiased
  estimator (Binkowski et al. 2018).
- frechet_distance: ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) of Gaussians fitted to
  the two sets (unbiased covariances).
- sliced_wasserstein: mean over random unit directions of the 1-D Wasserstein-1 distance
  between the projected sets (quantile matching).
- precision_recall: k-NN manifold estimate (Kynkaanniemi et al. 2019): precision = share of
  generated samples inside some real sample's k-NN ball, recall = the reverse.
- thumbnails / nearest: the memorisation space "thumb32-rms": images composited on the
  background, area-downscaled to 32x32 RGB in 0..1; distance = root-mean-square pixel
  difference (0 = identical, 1 = black vs white).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "kid",
    "frechet_distance",
    "sliced_wasserstein",
    "precision_recall",
    "thumbnails",
    "nearest",
    "THUMB_SPACE",
]

THUMB_SPACE = "thumb32-rms"
THUMB_SIZE = 32


def _check(a: torch.Tensor, b: torch.Tensor, minimum: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected two (N, D) feature matrices of equal D, got {tuple(a.shape)} and {tuple(b.shape)}")
    if len(a) < minimum or len(b) < minimum:
        raise ValueError(f"need at least {minimum} samples in each set, got {len(a)} and {len(b)}")
    return a.double(), b.double()


def kid(a: torch.Tensor, b: torch.Tensor) -> float:
    """Kernel inception-style distance (unbiased MMD^2, cubic polynomial kernel)."""
    a, b = _check(a, b)
    d = a.shape[1]
    k_aa = (a @ a.T / d + 1) ** 3
    k_bb = (b @ b.T / d + 1) ** 3
    k_ab = (a @ b.T / d + 1) ** 3
    n, m = len(a), len(b)
    within_a = (k_aa.sum() - k_aa.diagonal().sum()) / (n * (n - 1))
    within_b = (k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return float(within_a + within_b - 2 * k_ab.mean())


def _sqrtm_psd(s: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(s)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to the two feature sets."""
    a, b = _check(a, b)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T, correction=1).reshape(a.shape[1], -1), torch.cov(b.T, correction=1).reshape(b.shape[1], -1)
    # Tr((S_a S_b)^1/2) = Tr((S_a^1/2 S_b S_a^1/2)^1/2), and the inner matrix is symmetric PSD.
    root_a = _sqrtm_psd(cov_a)
    inner = root_a @ cov_b @ root_a
    trace_cross = torch.linalg.eigvalsh((inner + inner.T) / 2).clamp(min=0).sqrt().sum()
    value = (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_cross
    return float(value.clamp(min=0))


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, *, projections: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance; the random directions are fixed by ``seed``."""
    a, b = _check(a, b, minimum=1)
    g = torch.Generator().manual_seed(seed)
    directions = torch.randn(a.shape[1], projections, generator=g, dtype=torch.float64)
    directions = directions / directions.norm(dim=0, keepdim=True)
    pa, pb = (a @ directions).sort(0).values, (b @ directions).sort(0).values
    # Compare quantile functions on a common grid so the sets may differ in size.
    n = max(len(a), len(b))
    grid = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return float((_quantiles(pa, grid) - _quantiles(pb, grid)).abs().mean())


def _quantiles(sorted_values: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Empirical quantile function (a step function) of each column at ``grid``."""
    n = len(sorted_values)
    index = (grid * n).floor().long().clamp(max=n - 1)
    return sorted_values[index]


def precision_recall(real: torch.Tensor, fake: torch.Tensor, *, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (k-NN manifolds). Needs more than k samples per set."""
    real, fake = _check(real, fake, minimum=k + 1)

    def radii(x: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(x, x)
        return d.kthvalue(k + 1, dim=1).values  # k+1: the 0 distance to itself comes first

    r_real, r_fake = radii(real), radii(fake)
    d = torch.cdist(fake, real)  # (fake, real)
    precision = (d <= r_real[None, :]).any(1).double().mean()
    recall = (d.T <= r_fake[None, :]).any(1).double().mean()
    return float(precision), float(recall)


def thumbnails(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in 0..1 (already on the background) -> (N, 3*32*32) in 0..1."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected (N, 3, H, W) images, got {tuple(images.shape)}")
    small = F.interpolate(images.float(), size=(THUMB_SIZE, THUMB_SIZE), mode="area")
    return small.flatten(1)


def nearest(queries: torch.Tensor, references: torch.Tensor, *, chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query thumbnail, the RMS distance to its nearest reference and that
    reference's index."""
    if len(references) == 0:
        raise ValueError("no reference images to compare with")
    dims = queries.shape[1]
    best, where = [], []
    for start in range(0, len(queries), chunk):
        d = torch.cdist(queries[start : start + chunk].double(), references.double()) / dims**0.5
        value, index = d.min(1)
        best.append(value.float())
        where.append(index)
    return torch.cat(best), torch.cat(where)
