"""Variant specs: what one variant of a source image is (processor, parameters, output)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "AVIF": "avif"}


def normalise_format(value: str) -> str:
    try:
        return FORMATS[value.lower()]
    except KeyError:
        raise ValueError(f"Unknown output format {value!r}; use one of jpeg, png, webp, avif") from None


@dataclass(frozen=True)
class VariantSpec:
    """One variant a registered image field gets.

    Either ``processor`` (with ``params``) or ``style`` (the slug of a Style row, whose
    processor, parameters and reference file are used) must be given. ``params`` given with
    a style override the style's parameters (e.g. ``{"strength": 0.6}``).
    """

    name: str
    processor: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    style: str | None = None
    format: str = "webp"
    size: int | None = None
    quality: int = 85

    def __post_init__(self) -> None:
        if bool(self.processor) == bool(self.style):
            raise ValueError(f"VariantSpec {self.name!r}: give exactly one of processor= or style=")
        object.__setattr__(self, "format", normalise_format(self.format))
        if self.size is not None and self.size < 1:
            raise ValueError(f"VariantSpec {self.name!r}: size must be a positive number of pixels")


@dataclass(frozen=True)
class ResolvedSpec:
    """A spec with its style looked up: everything the worker needs, as plain data."""

    name: str
    processor: str
    params: dict[str, Any]
    format: str
    size: int | None
    quality: int
    style_id: int | None = None
    reference_hash: str = ""

    @property
    def spec_hash(self) -> str:
        payload = {
            "processor": self.processor,
            "params": self.params,
            "format": self.format,
            "size": self.size,
            "quality": self.quality,
            "reference": self.reference_hash,
        }
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()
