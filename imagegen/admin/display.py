"""HTML fragments shared by the admin pages (rendered from rows, never from storage)."""
from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.html import format_html

from ..models import Variant

# Figures shown on a variant card, with their labels.
FIGURES = {
    "content_ssim": "content SSIM",
    "style_distance": "style distance",
    "delta_e_product": "ΔE2000 product",
    "psnr": "PSNR dB",
}


def thumbnail(variant: Variant, size: int = 96) -> str:
    if variant.status == Variant.Status.READY and variant.file:
        return format_html(
            '<img src="{}" alt="{}" style="max-width:{}px;max-height:{}px;border-radius:4px">', variant.url, variant.spec_name, size, size
        )
    return "—"


def figures(variant: Variant) -> list[tuple[str, str]]:
    rows = []
    for key, label in FIGURES.items():
        value = (variant.metrics or {}).get(key)
        if isinstance(value, (int, float)):
            rows.append((label, f"{value:.3g}"))
    total = sum(v for v in (variant.timings or {}).values() if isinstance(v, (int, float)) and not isinstance(v, bool))  # mask_cached is a flag
    if total:
        rows.append(("time", f"{total} ms"))
    return rows


OPTIONS = ("strength", "preserve_colors", "preserve_product")


def options(variant: Variant) -> str:
    """The restyle options that tell two variants of one style apart (e.g. "strength 0.8")."""
    params = variant.parameters or {}
    return ", ".join(f"{key.replace('_', ' ')} {params[key]}" for key in OPTIONS if key in params)


def variants_panel(variants: list[Variant], original_url: str, status_url: str) -> str:
    cards = [{"v": v, "figures": figures(v), "options": options(v)} for v in variants]
    return render_to_string(
        "imagegen/admin/variants_panel.html", {"cards": cards, "original_url": original_url, "status_url": status_url}
    )
