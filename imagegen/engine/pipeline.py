"""render(): resize, validate, run a processor, then apply the options every restyle has.

Generic options (popped before the processor's own validation):
- strength (0..1, default 1): blend of the result with the source;
- preserve_colors (default False): keep the source's chroma (Lab a/b), take only the
  lightness L from the result.
The source alpha is always kept: processors restyle colour, the product mask stays.
"""

from __future__ import annotations

from typing import Any

import torch

from .color import lab_to_rgb_in_gamut, rgb_to_lab
from .errors import EngineError, ParameterError, ProcessorError
from .io import Image, resize_to_fit
from .processors import get_processor
from .processors.base import Flag, Number, Param, clean_params
from .runtime import get_device

__all__ = ["render", "validate", "GENERIC_PARAMS"]

GENERIC_PARAMS: dict[str, Param] = {
    "strength": Number(default=1.0, minimum=0.0, maximum=1.0, help="Blend with the source (0 = source)."),
    "preserve_colors": Flag(default=False, help="Keep the source's colours, take only lightness."),
}


def _split(processor: str, params: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParameterError(f"Parameters for '{processor}' must be a mapping, got {type(params).__name__}.")
    rest = dict(params)
    generic = {k: rest.pop(k) for k in GENERIC_PARAMS if k in rest}
    return clean_params(processor, GENERIC_PARAMS, generic), rest


def validate(processor: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Normalised params (processor's own and the generic keys) or ParameterError."""
    proc = get_processor(processor)
    generic, rest = _split(processor, params)
    return {**proc.validate(rest), **generic}


def render(
    image: Image,
    processor: str,
    params: dict[str, Any] | None,
    *,
    reference: bytes | None = None,
    max_size: int | None = None,
) -> Image:
    """Run ``processor`` on ``image`` and return a new Image (tensors on the CPU)."""
    proc = get_processor(processor)
    generic, rest = _split(processor, params)
    own = proc.validate(rest)
    if proc.needs_reference and reference is None:
        raise ParameterError(f"The '{processor}' processor needs a reference file; upload one on the style.")

    source = resize_to_fit(image, max_size)
    device = get_device()
    src = Image(
        rgb=source.rgb.float().to(device),
        alpha=None if source.alpha is None else source.alpha.float().to(device),
        info=dict(source.info),
    )
    with torch.inference_mode():
        try:
            result = proc(src, own, reference)
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything else is a processor bug or resource problem
            raise ProcessorError(
                f"The '{processor}' processor failed: {type(exc).__name__}: {exc}. "
                "Try again; if it keeps failing, try a smaller max size or report it."
            ) from exc
        if not isinstance(result, Image) or tuple(result.rgb.shape) != tuple(src.rgb.shape):
            got = getattr(getattr(result, "rgb", None), "shape", type(result).__name__)
            raise ProcessorError(
                f"The '{processor}' processor returned {got}, expected an image of shape {tuple(src.rgb.shape)}."
            )
        rgb = result.rgb.float().clamp(0, 1)
        if generic["preserve_colors"]:
            lab = rgb_to_lab(rgb)
            lab = torch.cat([lab[:1], rgb_to_lab(src.rgb)[1:]], dim=0)
            rgb = lab_to_rgb_in_gamut(lab)  # keeps L and hue exactly, trims chroma if needed
        strength = float(generic["strength"])
        if strength < 1.0:
            rgb = src.rgb + strength * (rgb - src.rgb)

    info = dict(source.info)
    info.update({k: v for k, v in result.info.items() if k not in info})
    info["processor"] = processor
    alpha = None if src.alpha is None else src.alpha.cpu().clone()
    return Image(rgb=rgb.cpu().clone(), alpha=alpha, info=info)
