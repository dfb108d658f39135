"""Rendering with processors that change the image size (``changes_size = True``, e.g. the
4x "enhance"). The restyle options (strength, preserve colours/product) compare the result
with the source pixel for pixel, so they do not apply; the spec's max size limits the
*output* (a 4x result of a 300 px upload with max size 1024 comes out at 1024). The generic
``aspect`` crop does apply: around the result's product (its alpha, or the ``mask`` the
processor returned, or the source's product mask scaled to the result)."""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F

from .errors import ParameterError, ProcessorError
from .execute import call_processor, on_device
from .framing import smart_crop
from .io import Image, resize_to_fit
from .masks import product_mask
from .processors.base import Processor

__all__ = ["render_resizing"]


def render_resizing(
    proc: Processor,
    image: Image,
    own: dict[str, Any],
    generic: dict[str, Any],
    defaults: dict[str, Any],
    *,
    reference: bytes | None,
    max_size: int | None,
) -> Image:
    changed = sorted(k for k, v in generic.items() if k != "aspect" and v != defaults.get(k))
    if changed:
        raise ParameterError(
            f"The '{proc.name}' processor changes the image size, so {', '.join(changed)} cannot be used with it; remove them."
        )
    src = on_device(image)
    started = time.perf_counter()
    with torch.inference_mode():
        result = call_processor(proc, src, own, reference)
    if not isinstance(result, Image) or result.rgb.dim() != 3 or result.rgb.shape[0] != 3:
        raise ProcessorError(f"The '{proc.name}' processor did not return an RGB image.")
    out = Image(
        rgb=result.rgb.float().clamp(0, 1).cpu(),
        alpha=None if result.alpha is None else result.alpha.float().clamp(0, 1).cpu(),
        info=dict(result.info),
        mask=None if result.mask is None else result.mask.float().clamp(0, 1).cpu(),
    )
    if generic.get("aspect"):
        out = smart_crop(out, _result_mask(image, out), generic["aspect"])
    out = resize_to_fit(out, max_size)
    out.info["processor"] = proc.name
    out.info["metrics"] = {**result.info.get("metrics", {}), "runtime_ms": int((time.perf_counter() - started) * 1000)}
    return out


def _result_mask(source: Image, result: Image) -> torch.Tensor:
    """Where the product is in ``result``: its alpha or returned mask, else the source's
    product mask scaled to the result's size (a same-framing processor like "enhance")."""
    if result.alpha is not None:
        return result.alpha
    if result.mask is not None:
        return result.mask
    mask = product_mask(source)[0].float().cpu()
    return F.interpolate(mask[None], size=(result.height, result.width), mode="bilinear", align_corners=False)[0]
