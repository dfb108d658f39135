""""look": copy the colour and tone of a reference photo.

Two methods, both in CIE Lab (perceptual axes: tone in L, colour in a/b):
- "reinhard" (Reinhard et al. 2001, here in Lab instead of lαβ): match each channel's
  mean and standard deviation;
- "mkl": Monge-Kantorovich linear transfer (Pitié & Kokaram 2007): the affine map that
  gives the source the reference's mean and full 3x3 covariance with the least change.

Statistics use opaque pixels only (alpha > 0.5), for source and reference alike: the
transparent background of a product photo must not count as "colour of the photo". Colours
the transfer pushes out of the sRGB gamut are brought in by reducing their chroma (see
_fit_gamut), on visible pixels (alpha > 0); the invisible ones are clipped.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch

from ..color import fit_in_gamut, linear_to_srgb, rgb_to_lab
from ..errors import DecodeError, ParameterError
from ..io import Image, decode, resize_to_fit
from .base import Choice, Processor

__all__ = ["LookProcessor", "opaque_pixels", "reinhard_transfer", "mkl_transfer"]

# Statistics do not need full resolution: decoding the reference this small keeps it cheap.
_REFERENCE_SIZE = 512
_MIN_PIXELS = 16
_GAMUT_ITERATIONS = 2


def opaque_pixels(lab: torch.Tensor, alpha: torch.Tensor | None) -> torch.Tensor:
    """(N, 3) Lab values of the pixels with alpha > 0.5 (all pixels if too few are opaque)."""
    flat = lab.reshape(3, -1).T
    if alpha is None:
        return flat
    mask = alpha.reshape(-1) > 0.5
    if int(mask.sum()) < _MIN_PIXELS:
        return flat
    return flat[mask]


def reinhard_transfer(lab: torch.Tensor, src: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Move the per-channel mean/std of ``src`` (N,3) to those of ``ref`` and apply to ``lab``."""
    mu_s, mu_r = src.mean(0), ref.mean(0)
    sd_s, sd_r = src.std(0).clamp(min=1e-3), ref.std(0)
    scale = (sd_r / sd_s).view(3, 1, 1)
    return (lab - mu_s.view(3, 1, 1)) * scale + mu_r.view(3, 1, 1)


def _sqrtm(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Square root and inverse square root of a symmetric PSD matrix."""
    vals, vecs = torch.linalg.eigh(m)
    vals = vals.clamp(min=1e-8)
    root = vecs @ torch.diag(vals.sqrt()) @ vecs.T
    inv_root = vecs @ torch.diag(vals.rsqrt()) @ vecs.T
    return root, inv_root


def mkl_transfer(lab: torch.Tensor, src: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Apply x -> T (x - mu_s) + mu_r with T Σs T = Σr (the MKL solution) to ``lab``."""
    src64, ref64 = src.double(), ref.double()
    mu_s, mu_r = src64.mean(0), ref64.mean(0)
    cov_s = torch.cov(src64.T) + 1e-6 * torch.eye(3, dtype=torch.float64, device=src.device)
    cov_r = torch.cov(ref64.T)
    root_s, inv_root_s = _sqrtm(cov_s)
    mid, _ = _sqrtm(root_s @ cov_r @ root_s)
    T = inv_root_s @ mid @ inv_root_s
    flat = lab.reshape(3, -1).double()
    out = T @ (flat - mu_s[:, None]) + mu_r[:, None]
    return out.to(lab.dtype).reshape(lab.shape)


@lru_cache(maxsize=8)
def _reference_pixels(reference: bytes) -> torch.Tensor:
    """Opaque Lab pixels of a reference image (cached: a style renders many products)."""
    try:
        ref = resize_to_fit(decode(reference), _REFERENCE_SIZE)
    except DecodeError as exc:
        raise ParameterError(f"The style's reference image could not be read: {exc}") from exc
    with torch.inference_mode(False):  # a cached tensor must stay usable outside inference mode
        return opaque_pixels(rgb_to_lab(ref.rgb), ref.alpha).clone()


def _opaque_weights(alpha: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """(N,) 0/1 weights of the pixels opaque_pixels() takes; None when it takes them all."""
    if alpha is None:
        return None
    mask = alpha.reshape(-1) > 0.5
    if int(mask.sum()) < _MIN_PIXELS:
        return None
    return mask.to(dtype)


def _fit_gamut(lab: torch.Tensor, alpha: torch.Tensor | None, target_mean: torch.Tensor) -> torch.Tensor:
    """Map into the sRGB gamut, then re-centre: desaturating out-of-gamut pixels drags the
    mean away from the reference's, so shift the whole image back by the error.

    The mean is taken on the Lab the gamut fit ended at (fit_in_gamut returns it) rather than
    by converting the fitted RGB back to Lab: in-gamut pixels round-trip to themselves and the
    fitted ones are at (L, s a, s b), so it is the same figure (to float rounding) without two
    conversions of the whole image per round; the sRGB curve is applied once, at the end.
    Pixels with alpha 0 are invisible (every encoder drops or composites them), so only the
    visible ones are fitted; the hidden ones are clipped, as a plain conversion would."""
    flat = lab.reshape(3, -1)
    weights = _opaque_weights(alpha, flat.dtype)
    visible = None if weights is None else alpha.reshape(-1) > 0
    count = flat.shape[1] if weights is None else float(weights.sum())
    for round_ in range(_GAMUT_ITERATIONS + 1):
        lin, fitted = fit_in_gamut(flat, only=visible)
        if round_ == _GAMUT_ITERATIONS:
            break
        mean = fitted.sum(1) / count if weights is None else (fitted @ weights) / count
        error = target_mean.to(mean.dtype) - mean
        if float(error.abs().max()) < 0.25:
            break
        flat = flat + error[:, None]
    return linear_to_srgb(lin).clamp_(0.0, 1.0).reshape(lab.shape)


class LookProcessor(Processor):
    name = "look"
    needs_reference = True
    description = "Copy the colour and tone of a reference photo."
    param_specs = {
        "method": Choice(
            default="reinhard",
            choices=("reinhard", "mkl"),
            help="reinhard: per-channel mean/std in Lab; mkl: full colour covariance in Lab.",
        ),
    }

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        if reference is None:
            raise ParameterError(
                "The 'look' processor needs a reference photo; upload one on the style."
            )
        ref_px = _reference_pixels(bytes(reference)).to(image.rgb.device)
        lab = rgb_to_lab(image.rgb.float())
        src_px = opaque_pixels(lab, image.alpha)

        if params["method"] == "mkl":
            out = mkl_transfer(lab, src_px, ref_px)
        else:
            out = reinhard_transfer(lab, src_px, ref_px)
        rgb = _fit_gamut(out, image.alpha, ref_px.mean(0))
        return Image(rgb=rgb, alpha=image.alpha, info=dict(image.info))
