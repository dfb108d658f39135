"""render(): resize, validate, run a processor, then apply the options every restyle has.

Generic options (popped before the processor's own validation):
- strength (0..1, default 1): blend of the result with the source;
- preserve_colors (default False): keep the source's chroma (Lab a/b), take only the
  lightness L from the result;
- preserve_product ("off", "product", "background") and preserve_amount (0..1): keep the
  product (or the backdrop) closer to the source, by the alpha or a computed mask (restyle.py);
- aspect (None or "W:H" such as "1:1", "4:5", "16:9"; default None = unchanged): the result is cropped
  to that aspect around the source's product (framing.smart_crop), after any processor,
  size-changing ones included (resizing.py).
A processor that declares a parameter of the same name itself (the "background" and "crop"
processors have their own "aspect") gets it as its own; the generic option is not applied then.
A processor with ``handles_strength = True`` gets "strength" among its own params and applies
it itself (the style network moves in style space instead of fading).
Every render's info["metrics"] gets the quality figures of restyle.py and the processor's own
(``extra_metrics``).
The source alpha is always kept: processors restyle colour, the product mask stays.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from .color import lab_to_rgb_in_gamut, rgb_to_lab
from .errors import ParameterError, ProcessorError
from .execute import call_processor, on_device
from .io import Image, resize_to_fit
from .processors import get_processor
from .framing import smart_crop
from .processors.base import Aspect, Choice, Flag, Number, Param, Processor, clean_params
from .restyle import PRESERVE_CHOICES, blend_with_source, figures

__all__ = ["render", "validate", "accepted_names", "GENERIC_PARAMS"]

GENERIC_PARAMS: dict[str, Param] = {
    "strength": Number(default=1.0, minimum=0.0, maximum=1.0, help="Blend with the source (0 = source)."),
    "preserve_colors": Flag(default=False, help="Keep the source's colours, take only lightness."),
    "preserve_product": Choice(
        default="off", choices=PRESERVE_CHOICES, help="Keep the product (or the background) closer to the source."
    ),
    "preserve_amount": Number(default=0.75, minimum=0.0, maximum=1.0, help="How much of the source the preserved part keeps."),
    "aspect": Aspect(default=None, allow_none=True, help="Crop the result to this aspect ratio (e.g. '16:9') around the product."),
}


def _split(processor: str, params: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParameterError(f"Parameters for '{processor}' must be a mapping, got {type(params).__name__}.")
    rest = dict(params)
    own = get_processor(processor).param_specs  # a processor's own parameter of the same name wins
    specs = {k: spec for k, spec in GENERIC_PARAMS.items() if k not in own}
    generic = {k: rest.pop(k) for k in specs if k in rest}
    return clean_params(processor, specs, generic), rest


def accepted_names(proc) -> list[str]:
    """Every parameter name ``proc`` accepts: its own and the generic options."""
    return sorted({*proc.param_specs, *GENERIC_PARAMS})


def _check_known(proc, params: dict[str, Any]) -> None:
    """One message for an unknown name wherever it is caught (forms, API, specs, render),
    listing every accepted name, generic options included. A processor with its own
    validate() (no param_specs to list) checks its names itself."""
    if type(proc).validate is not Processor.validate:
        return
    unknown = sorted(str(k) for k in params if k not in proc.param_specs and k not in GENERIC_PARAMS)
    if unknown:
        raise ParameterError(
            f"Unknown parameter {', '.join(repr(k) for k in unknown)} for '{proc.name}'; "
            f"allowed: {', '.join(accepted_names(proc))}."
        )


def validate(processor: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Normalised params (processor's own and the generic keys) or ParameterError."""
    proc = get_processor(processor)
    generic, rest = _split(processor, params)
    _check_known(proc, rest)
    return {**proc.validate(rest), **generic}


def render(
    image: Image,
    processor: str,
    params: dict[str, Any] | None,
    *,
    reference: bytes | None = None,
    max_size: int | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
    with_figures: bool = True,
) -> Image:
    """Run ``processor`` on ``image`` and return a new Image (tensors on the CPU).
    ``background``: what a transparent image is shown or encoded on; its figures are
    computed on the composite, as a viewer sees it. ``with_figures=False`` leaves the quality
    figures out (info["metrics"] then has the runtime and the processor's own figures only)."""
    proc = get_processor(processor)
    generic, rest = _split(processor, params)
    _check_known(proc, rest)
    own = proc.validate(rest)
    if getattr(proc, "changes_size", False):  # e.g. "enhance" (4x): see resizing.py
        from .resizing import render_resizing

        defaults = {k: spec.default for k, spec in GENERIC_PARAMS.items()}
        return render_resizing(proc, image, own, generic, defaults, reference=reference, max_size=max_size)
    handles_strength = bool(getattr(proc, "handles_strength", False))
    if handles_strength:
        own["strength"] = generic["strength"]
    if proc.needs_reference and reference is None:
        raise ParameterError(f"The '{processor}' processor needs a reference file; upload one on the style.")

    source = resize_to_fit(image, max_size)
    src = on_device(source)
    started = time.perf_counter()
    with torch.inference_mode():
        result = call_processor(proc, src, own, reference)
        if not isinstance(result, Image) or tuple(result.rgb.shape) != tuple(src.rgb.shape):
            got = getattr(getattr(result, "rgb", None), "shape", type(result).__name__)
            raise ProcessorError(
                f"The '{processor}' processor returned {got}, expected an image of shape {tuple(src.rgb.shape)}."
            )
    # Clamped outside inference mode: a normal tensor of our own, which the returned Image can
    # keep without the copy an inference tensor needs (a full-size pass fewer per render).
    rgb = result.rgb.float().clamp(0, 1)
    with torch.inference_mode():
        if generic["preserve_colors"]:
            lab = rgb_to_lab(rgb)
            lab = torch.cat([lab[:1], rgb_to_lab(src.rgb)[1:]], dim=0)
            rgb = lab_to_rgb_in_gamut(lab)  # keeps L and hue exactly, trims chroma if needed
        strength = 1.0 if handles_strength else float(generic["strength"])
        rgb, mask, mask_kind = blend_with_source(
            src, rgb, strength, generic["preserve_product"], float(generic["preserve_amount"])
        )
        metrics = figures(src, rgb, mask, mask_kind, background) if with_figures else {}
        metrics["runtime_ms"] = int((time.perf_counter() - started) * 1000)
        extra = getattr(proc, "extra_metrics", None)
        if extra is not None and with_figures:
            metrics.update(extra(src, Image(rgb=rgb, alpha=src.alpha), result.info))

    info = dict(source.info)
    info.update({k: v for k, v in result.info.items() if k not in info and k != "style_target"})
    info["metrics"] = {**metrics, **result.info.get("metrics", {})}
    info["processor"] = processor
    alpha = None if src.alpha is None else src.alpha.cpu().clone()
    attached = None if src.mask is None else src.mask.cpu().clone()
    out_rgb = rgb.cpu()  # a tensor of this render's own (never the caller's), so no copy unless:
    if out_rgb.is_inference() and not torch.is_inference_mode_enabled():
        out_rgb = out_rgb.clone()  # made in inference mode, returned to a caller outside it
    out = Image(rgb=out_rgb, alpha=alpha, info=info, mask=attached)
    if generic.get("aspect"):
        out = smart_crop(out, mask.cpu(), generic["aspect"])  # the product mask blend_with_source found
    return out
