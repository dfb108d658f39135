"""Form fields generated from the engine's parameter specs, so a shop admin fills in numbers,
choices and checkboxes instead of JSON. Any registered processor gets them (param_specs), and
a spec type this module does not know becomes a text field cleaned by the spec itself."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django import forms

from ..requests import restyle_options_apply

# Filled in by imagegen itself (the style vector of a reference image): never typed in.
HIDDEN_PARAMS = {"style_vector"}
GENERIC = "generic"  # pseudo-processor name of the options every restyle understands
# Shown first in pickers: looks and backgrounds that keep the product as it is.
FAITHFUL_PROCESSORS = ("look", "lut", "background", "cutout", "crop")


# Words for choices whose value alone says little to a shop admin.
CHOICE_LABELS = {
    ("preserve_product", "off"): "restyle everything",
    ("preserve_product", "product"): "keep the product as it is",
    ("preserve_product", "background"): "keep the background as it is",
}


def field_name(owner: str, key: str) -> str:
    return f"param__{owner}__{key}"


@dataclass(frozen=True)
class ProcessorInfo:
    name: str
    description: str
    needs_reference: bool
    restyle_options: bool  # whether strength / preserve colours / preserve product mean anything
    params: dict[str, Any]  # key -> Param spec (visible ones)


def processors() -> list[ProcessorInfo]:
    from ..engine import get_processor, processor_names  # torch: admin forms only

    infos = []
    for name in processor_names():
        proc = get_processor(name)
        specs = {k: v for k, v in getattr(proc, "param_specs", {}).items() if k not in HIDDEN_PARAMS}
        infos.append(
            ProcessorInfo(name, getattr(proc, "description", "") or "", bool(proc.needs_reference), restyle_options_apply(proc), specs)
        )
    return infos


def generic_specs() -> dict[str, Any]:
    from ..engine.pipeline import GENERIC_PARAMS

    return dict(GENERIC_PARAMS)


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _step(spec: Any) -> str:
    if getattr(spec, "integer", False):
        return "1"
    span = spec.maximum - spec.minimum
    return "0.01" if math.isfinite(span) and span <= 2 else "any"


def make_field(key: str, spec: Any) -> forms.Field:
    """A form field for one Param spec (Number, Choice, Flag, Color; anything else as text)."""
    kind = type(spec).__name__
    help_text = spec.help or ""
    label = _label(key)
    if kind == "Flag":
        return forms.BooleanField(label=label, required=False, initial=bool(spec.default), help_text=help_text)
    if kind == "Choice":
        return forms.ChoiceField(
            label=label, required=False, initial=spec.default, help_text=help_text,
            choices=[(c, CHOICE_LABELS.get((key, c), c.replace("_", " "))) for c in spec.choices],
        )  # fmt: skip
    if kind == "Number":
        attrs = {"step": _step(spec), "style": "width:8em"}
        if math.isfinite(spec.minimum):
            attrs["min"] = f"{spec.minimum:g}"
        if math.isfinite(spec.maximum):
            attrs["max"] = f"{spec.maximum:g}"
        if spec.allow_none:
            attrs["placeholder"] = "automatic"
            help_text = f"{help_text} Leave empty for automatic.".strip()
        field_class = forms.IntegerField if spec.integer else forms.FloatField
        # Bounds are the engine's (checked with its own message in clean), so no duplicates here.
        return field_class(label=label, required=False, initial=spec.default, help_text=help_text, widget=forms.NumberInput(attrs=attrs))
    if kind == "Color":
        return forms.CharField(
            label=label, required=False, initial=spec.default or "#ffffff", help_text=help_text,
            widget=forms.TextInput(attrs={"type": "color"}),
        )  # fmt: skip
    initial = "" if spec.default is None else str(spec.default)
    return forms.CharField(label=label, required=False, initial=initial, help_text=help_text, widget=forms.TextInput(attrs={"size": 30}))


def compact(params: dict[str, Any], specs: dict[str, Any]) -> dict[str, Any]:
    """Only the values that differ from their defaults: what is stored and shown."""
    return {k: v for k, v in params.items() if k not in specs or v != specs[k].default}
