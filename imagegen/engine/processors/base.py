"""The Processor base class and small parameter specs used to validate params.

A processor declares its parameters once (``param_specs = {...}``); ``validate`` then rejects
unknown keys and bad values with a message naming the key and what is allowed, and fills
in defaults, so the Django forms and system checks get the same rules as the engine.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ParameterError
from ..io import Image

__all__ = ["Processor", "BatchProcessor", "Param", "Choice", "Number", "Flag", "Color", "Aspect"]

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


_HEX = set("0123456789abcdef")


@dataclass(frozen=True)
class Color(Param):
    """A colour as '#rrggbb' or '#rgb' (any case); cleaned to lowercase '#rrggbb'."""

    def clean(self, key: str, value: Any) -> str:
        text = value.strip().lower() if isinstance(value, str) else ""
        digits = text[1:] if text.startswith("#") else ""
        if len(digits) in (3, 6) and set(digits) <= _HEX:
            return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))
        raise ParameterError(f"Parameter '{key}' must be {self.describe()}, got {value!r}.")

    def describe(self) -> str:
        return "a colour like '#ffffff' or '#fff'"


_RATIO = re.compile(r"^\s*(\d{1,3})\s*[:/x]\s*(\d{1,3})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Aspect(Param):
    """An aspect ratio written width:height ('16:9'; also '16/9', '16x9'), cleaned to 'W:H';
    between 1:10 and 10:1. ``original`` also accepts 'original' (the photo's own);
    ``allow_none`` accepts None or '' (no aspect)."""

    original: bool = False
    allow_none: bool = False

    def clean(self, key: str, value: Any) -> str | None:
        if self.allow_none and (value is None or (isinstance(value, str) and not value.strip())):
            return None
        if isinstance(value, str):
            if self.original and value.strip().lower() == "original":
                return "original"
            match = _RATIO.match(value)
            if match:
                w, h = int(match.group(1)), int(match.group(2))
                if w >= 1 and h >= 1 and 0.1 <= w / h <= 10:
                    return f"{w}:{h}"
        raise ParameterError(f"Parameter '{key}' must be {self.describe()}, got {value!r}.")

    def describe(self) -> str:
        text = "an aspect ratio width:height between 1:10 and 10:1, e.g. '1:1', '4:5', '3:4' or '16:9'"
        if self.original:
            text += ", or 'original'"
        return text + (" (or null for none)" if self.allow_none else "")


def color_rgb(value: str) -> tuple[float, float, float]:
    """'#rrggbb' (as cleaned by Color) -> (r, g, b) in 0..1."""
    return tuple(int(value[i : i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


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


class BatchProcessor(Processor):
    """A processor whose network takes several images at once: subclasses implement
    ``run_batch``. A single ``process`` call runs a batch of one. The engine's
    ``prepare_batch`` calls ``prepare`` with many (of one source or several); each later
    ``process`` call with the same arguments is answered from those results."""

    max_prepared: ClassVar[int] = 32  # results kept waiting for their process() call

    def __init__(self) -> None:
        self._prepared: OrderedDict[str, Image] = OrderedDict()

    def run_batch(self, images: list[Image], params_list: list[dict[str, Any]], references: list[bytes | None]) -> list[Image]:
        raise NotImplementedError

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        done = self._prepared.pop(self._key(image, params, reference), None)
        if done is not None:
            return done
        return self.run_batch([image], [params], [reference])[0]

    def prepare(self, images: list[Image], params_list: list[dict[str, Any]], references: list[bytes | None]) -> int:
        """Run the batch now and keep the results; returns how many there are."""
        results = self.run_batch(images, params_list, references)
        for image, params, reference, result in zip(images, params_list, references, results):
            self._prepared[self._key(image, params, reference)] = result
        while len(self._prepared) > max(self.max_prepared, len(results)):  # bounded, never this batch
            self._prepared.popitem(last=False)
        return len(results)

    def forget_prepared(self) -> None:
        self._prepared.clear()

    @staticmethod
    def _key(image: Image, params: dict[str, Any], reference: bytes | None) -> str:
        # a sample of the pixels and the shape identify the input well enough to find it again
        sample = image.rgb[:, ::7, ::7].float().cpu().contiguous().numpy().tobytes()
        digest = hashlib.sha256(sample)
        digest.update(repr(tuple(image.rgb.shape)).encode())
        digest.update(json.dumps(params, sort_keys=True, default=str).encode())
        digest.update(hashlib.sha256(reference).digest() if reference else b"-")
        return digest.hexdigest()
