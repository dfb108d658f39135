from __future__ import annotations

from django import forms
from django.contrib.admin import helpers

from ..conf import conf
from ..models import Style
from ..natural import natural_sorted
from ..specs import FORMATS
from .param_fields import FAITHFUL_PROCESSORS

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
        """Only the options the admin changed: defaults are neither stored nor shown on cards."""
        data = self.cleaned_data
        options: dict = {}
        if data["strength"] is not None and data["strength"] != 1.0:
            options["strength"] = data["strength"]
        if data["preserve_colors"]:
            options["preserve_colors"] = True
        if data.get("preserve_product") not in (None, "", "off"):
            options["preserve_product"] = data["preserve_product"]
        return options

    def style_groups(self) -> list[tuple[str, list[tuple[Style, bool]]]]:
        """The picker's cards: product-faithful looks and backgrounds first, artistic styles
        after, each as (style, checked)."""
        chosen = {str(v) for v in (self.data.getlist("styles") if self.is_bound else [])}
        faithful, artistic = [], []
        for style in natural_sorted(self.fields["styles"].queryset, key=lambda s: s.name):
            (faithful if style.processor in FAITHFUL_PROCESSORS else artistic).append((style, str(style.pk) in chosen))
        groups = [("Product-faithful looks and backgrounds", faithful), ("Artistic styles", artistic)]
        return [(title, items) for title, items in groups if items]

    @property
    def queue(self) -> str:
        return conf.QUEUES.get(self.cleaned_data["priority"], self.cleaned_data["priority"])


def selected_ids(request) -> list[str]:
    return request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
