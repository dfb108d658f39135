"""The Processor base class and small parameter specs used to validate params.

A processor declares its parameters once (``param_specs = {...}``); ``validate`` then rejects
unknown keys and bad values with a message naming the key and what is allowed, and fills
in defaults, so the Django forms and system checks get the same rules as the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ParameterError
from ..io import Image

__all__ = ["Processor", "Param", "Choice", "Number", "Flag"]

_MISSING = object()


@dataclass(frozen=True)
class Param:
    default: Any = None
    help: str = ""

    def clean(self, key: str, value: Any) -> Any:  # pragma: no cover - overridden
        return value

    def describe(self) -> str:  # pragma: no cover - overridden
        return "any value"


@dataclass(frozen=True)
class Choice(Param):
    choices: tuple[str, ...] = ()

    def clean(self, key: str, value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in self.choices:
            return value.strip().lower()
        raise ParameterError(f"Parameter '{key}' must be one of {self.describe()}, got {value!r}.")

    def describe(self) -> str:
        return ", ".join(repr(c) for c in self.choices)


@dataclass(frozen=True)
class Number(Param):
    minimum: float = -math.inf
    maximum: float = math.inf
    exclusive_minimum: bool = False
    allow_none: bool = False
    integer: bool = False

    def clean(self, key: str, value: Any) -> float | int | None:
        if value is None and self.allow_none:
            return None
        number: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        ok = number is not None and math.isfinite(number)
        if ok:
            assert number is not None
            below = number <= self.minimum if self.exclusive_minimum else number < self.minimum
            ok = not below and number <= self.maximum and (not self.integer or number.is_integer())
        if not ok:
            raise ParameterError(f"Parameter '{key}' must be {self.describe()}, got {value!r}.")
        assert number is not None
        return int(number) if self.integer else number

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        lo = "" if self.minimum == -math.inf else f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}"
        hi = "" if self.maximum == math.inf else f"<= {self.maximum:g}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        text = f"{kind} {bounds}".strip()
        return text + (" (or null for automatic)" if self.allow_none else "")


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class Flag(Param):
    def clean(self, key: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ParameterError(f"Parameter '{key}' must be {self.describe()}, got {value!r}.")

    def describe(self) -> str:
        return "true or false"


def clean_params(owner: str, specs: dict[str, Param], params: dict[str, Any] | None) -> dict[str, Any]:
    """Validate ``params`` against ``specs``; return them normalised with defaults filled in."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParameterError(f"Parameters for '{owner}' must be a mapping, got {type(params).__name__}.")
    unknown = sorted(str(k) for k in params if k not in specs)
    if unknown:
        allowed = ", ".join(sorted(specs)) or "none"
        raise ParameterError(
            f"Unknown parameter {', '.join(repr(k) for k in unknown)} for '{owner}'; allowed: {allowed}."
        )
    out: dict[str, Any] = {}
    for key, spec in specs.items():
        value = params.get(key, _MISSING)
        out[key] = spec.default if value is _MISSING else spec.clean(key, value)
    return out


class Processor:
    """Base class: subclasses set ``name``, ``needs_reference``, ``param_specs`` and implement
    ``process``. The engine calls ``validate`` first and then the instance."""

    name: ClassVar[str] = ""
    needs_reference: ClassVar[bool] = False
    param_specs: ClassVar[dict[str, Param]] = {}
    description: ClassVar[str] = ""

    def validate(self, params: dict[str, Any] | None) -> dict[str, Any]:
        return clean_params(self.name, self.param_specs, params)

    def __call__(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        return self.process(image, params, reference)

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Processor {self.name!r}>"
