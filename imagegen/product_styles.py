"""The built-in product styles: cut-out, marketplace image, new backgrounds, a smart square
crop. Created by ``imagegen_product_styles`` (``seed_demo`` runs it) and, when missing, by the
admin's "Remove background" and "Marketplace image" actions.

Idempotent: rows are matched by slug; an admin's name and activation are kept, and the
``cutout`` Style's reference file (the shop's fine-tuned segmentation weights, published by
``imagegen_train segment``) is never touched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import Style

__all__ = ["ProductStyle", "PRODUCT_STYLES", "CUTOUT", "MARKETPLACE", "MARKETPLACE_SIZE", "ensure_product_styles"]

CUTOUT, MARKETPLACE = "cutout", "marketplace"
# The marketplace preset's output limit (engine.presets.MARKETPLACE_MAX_SIZE): room above its
# 1600 px minimum; repeated here so that the web process never imports torch.
MARKETPLACE_SIZE = 2000


@dataclass(frozen=True)
class ProductStyle:
    slug: str
    name: str
    processor: str
    parameters: dict[str, Any] = field(default_factory=dict)
    product_page_safe: bool = True  # the product's pixels are kept as photographed
    storefront: bool = False  # offered in the storefront's style switcher when first created


def _marketplace_params() -> dict[str, Any]:
    from .engine.presets import MARKETPLACE_PARAMS  # the engine owns the preset's numbers

    return dict(MARKETPLACE_PARAMS)


PRODUCT_STYLES: tuple[ProductStyle, ...] = (
    ProductStyle(CUTOUT, "Cut-out", "cutout", {"trim": False}, storefront=True),
    ProductStyle(MARKETPLACE, "Marketplace image", "background", {}, storefront=True),  # parameters: MARKETPLACE_PARAMS
    ProductStyle("white-background", "White background", "background", {"color": "#ffffff", "shadow": "contact", "fill": 0.8}),
    ProductStyle(
        "studio-grey",
        "Studio grey gradient with contact shadow",
        "background",
        {"color": "#f5f6f8", "gradient": "vertical", "color2": "#d5d8dd", "shadow": "contact", "fill": 0.8, "align": "bottom"},
    ),
    ProductStyle("square-crop", "Square crop (around the product)", "crop", {"aspect": "1:1"}),
)


def _parameters(spec: ProductStyle) -> dict[str, Any]:
    return _marketplace_params() if spec.slug == MARKETPLACE else dict(spec.parameters)


def ensure_product_styles(slugs: list[str] | None = None, *, active: bool = True) -> tuple[list[Style], int]:
    """The product styles (those named by ``slugs``, or all), created when missing and put back
    to their processor and parameters when the row was changed to something else. Returns
    (styles, how many were created)."""
    created = 0
    styles = []
    for spec in PRODUCT_STYLES:
        if slugs is not None and spec.slug not in slugs:
            continue
        parameters = _parameters(spec)
        style, was_created = Style.objects.get_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name, "processor": spec.processor, "parameters": parameters, "is_active": active,
                "show_on_storefront": spec.storefront,
            },
        )
        if not was_created and style.processor != spec.processor:
            # the slug is ours (the worker's masks look up "cutout"): put back what it is
            style.processor, style.parameters = spec.processor, parameters
            style.save(update_fields=["processor", "parameters", "updated_at"])
        created += was_created
        styles.append(style)
    return styles, created
