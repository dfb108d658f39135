from __future__ import annotations

from django import forms
from django.contrib.admin import helpers

from ..conf import conf
from ..models import Style
from ..specs import FORMATS

PRIORITIES = [("high", "High (now)"), ("default", "Normal"), ("bulk", "Bulk (background)")]
PRESERVE_PRODUCT = [("off", "Restyle everything"), ("product", "Keep the product, restyle the background"), ("background", "Keep the background, restyle the product")]


class RestyleForm(forms.Form):
    """The "Restyle with…" intermediate page."""

    _selected_action = forms.CharField(widget=forms.MultipleHiddenInput)
    styles = forms.ModelMultipleChoiceField(
        queryset=Style.objects.filter(is_active=True), widget=forms.CheckboxSelectMultiple, help_text="One variant per style and image."
    )
    strength = forms.FloatField(min_value=0, max_value=1, initial=1.0, help_text="0 keeps the photo, 1 applies the full style.")
    preserve_colors = forms.BooleanField(required=False, help_text="Keep the product's own colours; transfer light and texture only.")
    preserve_product = forms.ChoiceField(choices=PRESERVE_PRODUCT, initial="off", required=False)
    format = forms.ChoiceField(choices=[(k, k.upper()) for k in ("webp", "jpeg", "png", "avif")], initial="webp")
    priority = forms.ChoiceField(choices=PRIORITIES, initial="high")

    def clean_format(self) -> str:
        value = self.cleaned_data["format"]
        if value not in FORMATS:
            raise forms.ValidationError("Unknown format")
        return value

    def options(self) -> dict:
        data = self.cleaned_data
        options = {"strength": data["strength"], "preserve_colors": data["preserve_colors"]}
        if data.get("preserve_product") not in (None, "", "off"):
            options["preserve_product"] = data["preserve_product"]
        return options

    @property
    def queue(self) -> str:
        return conf.QUEUES.get(self.cleaned_data["priority"], self.cleaned_data["priority"])


def selected_ids(request) -> list[str]:
    return request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
