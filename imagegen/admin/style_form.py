"""The Style add/change form: processor as a select with descriptions, parameters as real
fields generated from the engine's specs (param_fields.py), raw JSON only under "Advanced",
and an uploaded reference file kept across a validation error."""
from __future__ import annotations

import posixpath
import re
import uuid
from typing import Any

from django import forms
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ..models import Style
from ..requests import RESTYLE_OPTION_KEYS
from .param_fields import GENERIC, compact, field_name, generic_specs, make_field, processors

KEPT_FOLDER = "imagegen/pending-references"
KEPT_SALT = "imagegen.style-reference"
PARAM_IN_MESSAGE = re.compile(r"Parameter '([^']+)'")


def build_style_form() -> type[StyleForm]:
    """A StyleForm class with one field per parameter of every registered processor (built
    per request: host apps may register processors after the admin is imported)."""
    infos = processors()
    attrs: dict[str, Any] = {"processor_infos": infos, "param_fields": {}}
    for info in infos:
        for key, spec in info.params.items():
            attrs[field_name(info.name, key)] = make_field(key, spec)
            attrs["param_fields"].setdefault(info.name, []).append(field_name(info.name, key))
    for key, spec in generic_specs().items():
        attrs[field_name(GENERIC, key)] = make_field(key, spec)
        attrs["param_fields"].setdefault(GENERIC, []).append(field_name(GENERIC, key))
    return type("StyleForm", (StyleForm,), attrs)


class StyleForm(forms.ModelForm):
    """Validates the processor and its parameters with the engine's own rules."""

    processor_infos: list = []
    param_fields: dict[str, list[str]] = {}

    processor = forms.ChoiceField(choices=[], help_text="What the style does to a photo.")
    kept_reference = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Style
        fields = ["name", "slug", "processor", "parameters", "reference", "is_active", "show_on_storefront"]
        labels = {"parameters": "Parameters (JSON)", "show_on_storefront": "Show on the storefront"}
        help_texts = {
            "parameters": "Only for parameters without a field above; the fields above take precedence.",
            "reference": "A photo whose colours to copy (look), a .cube LUT (lut) or an image whose style to copy (style).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["processor"].choices = [("", "— choose —")] + [
            (info.name, f"{info.name} — {info.description}" if info.description else info.name) for info in self.processor_infos
        ]
        stored = dict(self.instance.parameters or {}) if self.instance.pk else {}
        current = self.instance.processor if self.instance.pk else ""
        covered: set[str] = set()
        for owner, names in self.param_fields.items():
            if owner in (current, GENERIC):
                for name in names:
                    key = name.rsplit("__", 1)[1]
                    if key in stored:
                        value = stored[key]
                        self.initial[name] = "" if value is None else value
                        covered.add(key)
        if self.instance.pk:
            self.initial["parameters"] = {k: v for k, v in stored.items() if k not in covered}
        self.fields["parameters"].required = False
        self.kept_name = ""
        token = self.data.get("kept_reference") if self.is_bound else ""
        if token:
            self.kept_name = self._unsign(token) or ""
            if self.kept_name:
                self.fields["reference"].help_text = (
                    f"Kept from your last try: {posixpath.basename(self.kept_name).split('_', 1)[-1]}. "
                    "Choose another file to replace it."
                )

    # --- the uploaded reference survives a validation error -------------------------------

    @staticmethod
    def _unsign(token: str) -> str | None:
        try:
            name = signing.loads(token, salt=KEPT_SALT, max_age=24 * 3600)
        except signing.BadSignature:
            return None
        return name if isinstance(name, str) and name.startswith(KEPT_FOLDER + "/") else None

    def full_clean(self) -> None:
        super().full_clean()
        upload = self.files.get("reference") if self.is_bound else None
        if self._errors and upload is not None:
            # Browsers never refill a file input: keep the upload and carry a signed name.
            upload.seek(0)
            name = default_storage.save(f"{KEPT_FOLDER}/{uuid.uuid4().hex}_{posixpath.basename(upload.name)}", ContentFile(upload.read()))
            self.data = self.data.copy()
            self.data["kept_reference"] = signing.dumps(name, salt=KEPT_SALT)
            self.kept_name = name
            note = f"Kept from your last try: {upload.name}. Choose another file to replace it."
            self.fields["reference"].help_text = self["reference"].help_text = note  # BoundFields copy it

    def _kept_file(self) -> ContentFile | None:
        if not self.kept_name or not default_storage.exists(self.kept_name):
            return None
        with default_storage.open(self.kept_name, "rb") as stream:
            return ContentFile(stream.read(), name=posixpath.basename(self.kept_name).split("_", 1)[-1])

    # --- parameters ------------------------------------------------------------------------

    def _info(self, processor: str):
        return next((info for info in self.processor_infos if info.name == processor), None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        processor = cleaned.get("processor")
        if not cleaned.get("reference") and "reference" not in self.files:
            kept = self._kept_file()
            if kept is not None:
                cleaned["reference"] = kept
        if not processor:
            return cleaned
        from ..engine import ParameterError, validate  # torch: only on this admin form

        info = self._info(processor)
        raw = cleaned.get("parameters") or {}
        if not isinstance(raw, dict):
            self.add_error("parameters", "Parameters must be a JSON object, e.g. {\"strength\": 0.8}.")
            return cleaned
        params = dict(raw)
        fields_of: dict[str, str] = {}
        for owner in (processor, GENERIC):
            for name in self.param_fields.get(owner, []):
                key = name.rsplit("__", 1)[1]
                if owner == GENERIC and key in RESTYLE_OPTION_KEYS and not (info is not None and info.restyle_options):
                    continue
                fields_of[key] = name
                value = cleaned.get(name)
                if name not in self.data and key in raw:
                    continue  # not on the page (a scripted post): the JSON says it
                if value is None or value == "":
                    params.pop(key, None)  # empty: the default (or automatic)
                else:
                    params[key] = value
        if info is not None and not info.restyle_options:
            # Options that mean nothing for this processor are neither shown nor stored.
            for key in RESTYLE_OPTION_KEYS:
                params.pop(key, None)
        try:
            validate(processor, params)
        except ParameterError as exc:
            match = PARAM_IN_MESSAGE.search(str(exc))
            target = fields_of.get(match.group(1)) if match else None
            self.add_error(target or "parameters", str(exc))
            return cleaned
        from ..engine import get_processor

        specs = {**getattr(get_processor(processor), "param_specs", {}), **generic_specs()}
        # Store what the admin chose, normalised by the engine, without the defaults.
        normalised = validate(processor, params)
        cleaned["parameters"] = compact({k: v for k, v in normalised.items() if k in params}, specs)
        if info is not None and info.needs_reference and not (cleaned.get("reference") or self.instance.reference):
            self.add_error("reference", f"The {processor!r} processor needs a reference file (a photo, or a .cube LUT for 'lut').")
        return cleaned
