"""Calling a processor: on the engine's device, with its failures turned into engine errors."""

from __future__ import annotations

from typing import Any

from .errors import EngineError, ProcessorError
from .io import Image
from .processors.base import Processor
from .runtime import get_device

__all__ = ["on_device", "call_processor"]


def on_device(image: Image) -> Image:
    """A float32 copy of ``image`` on the engine's device (CUDA when there is one)."""
    device = get_device()
    return Image(
        rgb=image.rgb.float().to(device),
        alpha=None if image.alpha is None else image.alpha.float().to(device),
        info=dict(image.info),
        mask=None if image.mask is None else image.mask.float().to(device),
    )


def call_processor(proc: Processor, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
    """Run ``proc``; anything but an EngineError is a processor bug or a resource problem,
    reported as a ProcessorError an admin can act on (the cause stays chained)."""
    try:
        return proc(image, params, reference)
    except EngineError:
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise ProcessorError(
            f"The '{proc.name}' processor failed: {type(exc).__name__}: {exc}. "
            "Try again; if it keeps failing, try a smaller max size or report it."
        ) from exc
