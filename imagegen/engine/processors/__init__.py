"""Registry of processors by name. The built-ins ("look", "lut", "sketch", "watercolor",
"style", "enhance", "cutout", "background", "crop") register on import."""

from __future__ import annotations

from ..errors import ParameterError
from .base import Aspect, Choice, Color, Flag, Number, Param, Processor

__all__ = [
    "Processor",
    "Param",
    "Choice",
    "Number",
    "Flag",
    "Color",
    "Aspect",
    "register",
    "unregister",
    "get_processor",
    "processor_names",
]

_REGISTRY: dict[str, Processor] = {}


def register(processor: Processor) -> Processor:
    """Register a processor instance under its ``name`` (replacing one of the same name)."""
    name = getattr(processor, "name", "")
    if not isinstance(name, str) or not name:
        raise ValueError(f"Processor {processor!r} has no name")
    if not callable(processor) or not callable(getattr(processor, "validate", None)):
        raise TypeError(f"Processor {name!r} must be callable and have validate()")
    _REGISTRY[name] = processor
    return processor


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def get_processor(name: str) -> Processor:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ParameterError(
            f"Unknown processor {name!r}; available: {', '.join(processor_names())}."
        ) from None


def processor_names() -> list[str]:
    return sorted(_REGISTRY)


def _register_builtins() -> None:
    from .look import LookProcessor
    from .lut import LutProcessor
    from .sketch import SketchProcessor
    from .style import StyleProcessor
    from .watercolor import WatercolorProcessor

    for cls in (LookProcessor, LutProcessor, SketchProcessor, WatercolorProcessor, StyleProcessor):
        register(cls())
    from .enhance import EnhanceProcessor  # 4x super-resolution; weights from `imagegen_train enhance`

    register(EnhanceProcessor())
    from .background import BackgroundProcessor  # product imagery: cut-outs, new backgrounds, crops
    from .crop import CropProcessor
    from .cutout import CutoutProcessor

    for cls in (CutoutProcessor, BackgroundProcessor, CropProcessor):
        register(cls())


_register_builtins()
