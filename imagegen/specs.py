"""Variant specs: what one variant of a source image is (processor, parameters, output)."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

FORMATS = {"jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "AVIF": "avif"}


_RATIO = re.compile(r"^\s*(\d{1,4})\s*[:/x]\s*(\d{1,4})\s*$")


def normalise_ratio(value: str) -> str:
    """'16:9' (also '16/9', '16x9') -> '16:9'; ValueError with the accepted forms otherwise."""
    match = _RATIO.match(str(value)) if value is not None else None
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ValueError(f"Unknown aspect ratio {value!r}; write it as width:height, e.g. '1:1', '4:5' or '16:9'")
    return f"{int(match.group(1))}:{int(match.group(2))}"


def aspect_name(name: str, ratio: str) -> str:
    """The spec name of ``name``'s variant cropped to ``ratio``: ('sketch', '16:9') -> 'sketch@16x9'."""
    return f"{name}@{normalise_ratio(ratio).replace(':', 'x')}"


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

    ``aspect_ratios`` (e.g. ``("1:1", "16:9")``): besides the variant at the photo's own
    shape, one smart-cropped variant per ratio (cropped around the product, never cutting it
    when it fits), named ``sketch@1x1``, ``sketch@16x9``; templates pick one with
    ``{% imagegen_picture image.image "sketch" aspect="16:9" %}``.
    """

    name: str
    processor: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    style: str | None = None
    format: str = "webp"
    size: int | None = None
    quality: int = 85
    aspect_ratios: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.processor) == bool(self.style):
            raise ValueError(f"VariantSpec {self.name!r}: give exactly one of processor= or style=")
        if "@" in self.name and self.aspect_ratios:
            raise ValueError(f"VariantSpec {self.name!r}: '@' is kept for the names of aspect-ratio variants")
        if isinstance(self.aspect_ratios, str):
            raise ValueError(f"VariantSpec {self.name!r}: aspect_ratios is a list of ratios, e.g. ('1:1', '16:9')")
        try:
            ratios = tuple(dict.fromkeys(normalise_ratio(r) for r in self.aspect_ratios))
        except ValueError as exc:
            raise ValueError(f"VariantSpec {self.name!r}: {exc}") from None
        object.__setattr__(self, "aspect_ratios", ratios)
        object.__setattr__(self, "format", normalise_format(self.format))
        if self.size is not None and self.size < 1:
            raise ValueError(f"VariantSpec {self.name!r}: size must be a positive number of pixels")

    def expanded(self) -> list[VariantSpec]:
        """This spec at the photo's own shape, then one per aspect ratio (the generic
        ``aspect`` option of the engine does the cropping)."""
        if not self.aspect_ratios:
            return [self]
        base = replace(self, aspect_ratios=())
        return [base] + [
            replace(base, name=aspect_name(self.name, ratio), params={**self.params, "aspect": ratio}) for ratio in self.aspect_ratios
        ]


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
