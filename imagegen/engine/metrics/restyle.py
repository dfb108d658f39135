"""Quality figures of one restyled image, stored on its Variant.

- content_ssim: SSIM of luminance between the source and the result (1 = same structure);
  low values mean the product may no longer be recognisable.
- product_delta_e: mean CIEDE2000 colour difference inside the product mask (how far the
  product's colours moved; 1-2 is barely visible, above 10 a different colour).
- style_distance: Euclidean distance between the result's and the target's style vectors in
  the style predictor's 100-d embedding (Ghiasi et al.); style_distance_source is the same
  for the untouched source, so the two together say how far the result moved towards the
  target. style_shift: distance between the source's and the result's style vectors.

A transparent image is measured as a viewer sees it: restyle.figures composites the source and
the result on the output background first (the RGB under alpha 0 is invisible and often black).

Figures are computed on a copy at most METRIC_SIZE (256) on the long side, so they cost
little and do not depend on the output size: a quality figure describes the shapes and colours
a shopper sees on a product card, not pixel detail. The copy is a box filter by the largest
whole factor that stays at or above METRIC_SIZE, then antialiased bilinear for the rest (the
box reads the full-size image once; a bilinear antialias from full size cost as much as the
sketch processor). The dE2000 mean runs in float32 on a grid of DELTA_E_GRID (64) points along
the long side of that copy (every 4th pixel of every 4th row), on the pixels the mask weighs,
Lab conversion included, in numpy (a few thousand points: torch's cost per call was most of
the time). The SSIM map's mean is taken over every SSIM_STRIDE-th (2nd) window position
along each side (the convolutions compute only those): on 36 renders of 12 product photos
(sketch, look, watercolor) it differs from the full mean by 7e-6 (median; 4e-5 at most),
below the 4 decimals stored.

Until issue 16 the copy was 512 px (bilinear) and dE used every other pixel: the figures of a
sketch render cost 4 to 5 times the sketch. Measured on 12 product photos at 1024 px x
(sketch, vintage LUT, look): content_ssim at 256 px is lower than at 512 px by 0.005
(median; 0.022 at most, for sketch renders, whose fine pencil strokes the 256 px copy
softens); product_delta_e is within 0.3 % (median; 1.4 % at most) of the float64 mean over
all pixels of the 512 px copy. Now (`python -m benchmarks.bench_processors --repeats 9`,
three runs): the figures of a 512 px render take 0.85-1.01 times the sketch processor's own
time, of a 1024 px render 0.5-0.7 times. The work left is the one full-size pass of the box
filter (a third of it) and fixed work on the 256 px copy.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from ..color import delta_e2000, rgb_points_to_lab
from ..io import fitted_size
from .quality import ssim_of_stack

__all__ = [
    "METRIC_SIZE", "DELTA_E_GRID", "SSIM_STRIDE", "luma", "content_ssim", "product_delta_e", "pair_ssim", "pair_delta_e",
    "fitted_pair", "fit", "fit_premultiplied", "fit_premultiplied_stacked",
]

METRIC_SIZE = 256
DELTA_E_GRID = 64  # sample points along the long side for the dE mean
SSIM_STRIDE = 2  # the SSIM map's mean over every 2nd window position along each side
_LUMA = (0.2126, 0.7152, 0.0722)


def _box(x: torch.Tensor, k: int, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``x * weight`` over k x k blocks of (C, H, W) (weight (1, H, W) or None); the
    last H % k rows and W % k columns are dropped. The rows of a block are multiplied and
    summed in one pass over the full-size image, the columns then on the k times smaller sum."""
    c, h, w = x.shape
    hk, wk = h // k, w // k
    rows = x[:, : hk * k].reshape(c, hk, k, w)
    if weight is None:
        acc = rows[:, :, 0].clone()
        for j in range(1, k):
            acc += rows[:, :, j]
    else:
        wrows = weight[:, : hk * k].reshape(1, hk, k, w)
        acc = rows[:, :, 0] * wrows[:, :, 0]
        for j in range(1, k):
            acc.addcmul_(rows[:, :, j], wrows[:, :, j])
    cols = acc[:, :, : wk * k].reshape(c, hk, wk, k)
    out = cols[..., 0] + cols[..., 1]
    for j in range(2, k):
        out += cols[..., j]
    return out.mul_(1.0 / (k * k))


def fit(x: torch.Tensor, size: int = METRIC_SIZE, weight: torch.Tensor | None = None) -> torch.Tensor:
    """(C, H, W) scaled down (box filter, then antialiased bilinear) so the long side is at
    most ``size``; with ``weight`` (1, H, W), of ``x * weight`` (e.g. premultiplied by alpha)
    without a full-size product. Linear in ``x``: fitting a composite equals compositing
    fitted parts."""
    h, w = x.shape[-2:]
    k = max(h, w) // size
    if k >= 2 and min(h, w) >= 2 * k:
        x = _box(x.float(), k, None if weight is None else weight.float())
    elif weight is not None:
        x = x * weight
    if max(h, w) <= size:
        return x
    out = fitted_size(h, w, size)
    if tuple(x.shape[-2:]) == out:
        return x
    return F.interpolate(x[None].float(), size=out, mode="bilinear", antialias=True, align_corners=False)[0]


def fit_premultiplied(
    images: list[torch.Tensor], alpha: torch.Tensor, size: int = METRIC_SIZE
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """[fit(x * alpha) for x in images] and fit(alpha), as fit() computes them, with the
    block sums of all of them in one buffer so the column pass runs once for all."""
    stacked, a_small = fit_premultiplied_stacked(images, alpha, size)
    return list(stacked.split([x.shape[0] for x in images])), a_small


def fit_premultiplied_stacked(images: list[torch.Tensor], alpha: torch.Tensor, size: int = METRIC_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """fit_premultiplied's results with the images' channels stacked in one (sum C, h, w) tensor."""
    h, w = alpha.shape[-2:]
    k = max(h, w) // size
    if k < 2 or min(h, w) < 2 * k:
        return torch.cat([fit(x, size, weight=alpha) for x in images]), fit(alpha, size)
    hk, wk = h // k, w // k
    a = alpha.float()[:, : hk * k].reshape(1, hk, k, w)
    counts = [x.shape[0] for x in images]
    rows = torch.empty(sum(counts) + 1, hk, w, device=alpha.device)
    at = 0
    for x, c in zip(images, counts):
        block = x.float()[:, : hk * k].reshape(c, hk, k, w)
        dst = rows[at : at + c]
        torch.mul(block[:, :, 0], a[:, :, 0], out=dst)
        for j in range(1, k):
            dst.addcmul_(block[:, :, j], a[:, :, j])
        at += c
    torch.sum(a, dim=2, out=rows[at:])
    cols = rows[:, :, : wk * k].reshape(rows.shape[0], hk, wk, k)
    small = cols[..., 0] + cols[..., 1]
    for j in range(2, k):
        small += cols[..., j]
    small.mul_(1.0 / (k * k))
    out = fitted_size(h, w, size)
    if tuple(small.shape[-2:]) != out:
        small = F.interpolate(small[None], size=out, mode="bilinear", antialias=True, align_corners=False)[0]
    return small[:at], small[at:]


def luma(rgb: torch.Tensor) -> torch.Tensor:
    w = torch.tensor(_LUMA, dtype=rgb.dtype, device=rgb.device).view(1, 3)
    return (w @ rgb.reshape(3, -1)).view(1, *rgb.shape[-2:])


def content_ssim(source: torch.Tensor, result: torch.Tensor) -> float:
    return pair_ssim(fitted_pair(source, result))


def fitted_pair(source: torch.Tensor, result: torch.Tensor) -> torch.Tensor:
    """fit(source) and fit(result), RGB each, as one (6, h, w) float pair: what pair_ssim and
    pair_delta_e take."""
    return torch.cat([fit(source).float(), fit(result).float()])


def _grid_step(h: int, w: int) -> int:
    """Stride of the dE sample grid: about DELTA_E_GRID points along the long side."""
    return max(1, max(h, w) // DELTA_E_GRID)


def product_delta_e(source: torch.Tensor, result: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean dE2000 weighted by ``mask`` (1, H, W, clamped to 0..1); the whole image when the mask is empty."""
    return pair_delta_e(fitted_pair(source, result), fit(mask).float())


def pair_ssim(pair: torch.Tensor) -> float:
    """content_ssim of an already fitted (6, h, w) pair: source RGB, then result RGB. The maps
    ssim() builds are written straight into one buffer: both centred lumas by one product
    (the centring shift from the channel means: luma is linear), then the squares."""
    h, w = pair.shape[-2:]
    flat = pair[:6].reshape(6, h * w)
    weights = _pair_luma(pair.dtype, pair.device)
    shift = 0.5 * float(weights.sum(dim=0) @ flat.mean(dim=1))  # the mean of both lumas
    stack = torch.empty(1, 4, h, w, dtype=pair.dtype, device=pair.device)
    xc, yc, sq, xy = stack[0]
    torch.addmm(torch.full((2, 1), -shift, dtype=pair.dtype, device=pair.device), weights, flat, out=stack[0, :2].view(2, h * w))
    torch.mul(xc, xc, out=sq).addcmul_(yc, yc)
    torch.mul(xc, yc, out=xy)
    return float(ssim_of_stack(stack, shift, stride=SSIM_STRIDE)[0])


@lru_cache(maxsize=8)
def _pair_luma(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(2, 6): the luma of the first three rows, and of the last three."""
    weights = torch.zeros(2, 6, dtype=dtype)
    weights[0, :3] = weights[1, 3:] = torch.tensor(_LUMA, dtype=dtype)
    return weights.to(device)


def pair_delta_e(pair: torch.Tensor, mask: torch.Tensor) -> float:
    """product_delta_e of an already fitted (6, h, w) pair (source RGB, result RGB) and mask."""
    step = _grid_step(*pair.shape[-2:])
    points = pair[:6, ::step, ::step].reshape(2, 3, -1)
    weight = mask[0, ::step, ::step].reshape(-1).clamp(0, 1)
    total = float(weight.sum())
    if total >= 1.0:  # zero weights add nothing: skip their conversions
        keep = (weight > 0).nonzero().squeeze(1)
        points, weight = points[:, :, keep], weight[keep]
    n = points.shape[-1]
    # One Lab conversion for the two, (3, 2n) with the source's points first, and the ~100
    # operations of Lab and dE2000 on a few thousand points in numpy: torch's cost per call
    # was most of their time.
    lab = rgb_points_to_lab(points.transpose(0, 1).reshape(3, 2 * n).cpu().numpy())
    de = delta_e2000(lab[:, :n], lab[:, n:], dim=0)
    if total < 1.0:
        return float(de.mean())
    return float(de @ weight.cpu().numpy()) / total
