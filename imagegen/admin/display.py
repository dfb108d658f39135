"""HTML fragments shared by the admin pages (rendered from rows, never from storage)."""
from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.html import format_html

from ..models import Variant

# Figures shown on a variant card: label, the value in plain words, and the raw figure (on hover).


def _colour_words(delta_e: float) -> str:
    # ΔE2000: about 1 is the smallest difference an eye sees side by side, above 5 it is obvious
    if delta_e < 2:
        return "unchanged to the eye"
    return "slightly changed" if delta_e < 5 else "changed"


def _plain(key: str, value: float) -> tuple[str, str, str] | None:
    if key == "product_delta_e":
        return "product colours kept", f"ΔE {value:.1f} ({_colour_words(value)})", f"product_delta_e (ΔE2000 inside the product) = {value:.3f}"
    if key == "content_ssim":
        return "product shape kept", f"{max(0.0, value) * 100:.0f}%", f"content_ssim (SSIM of lightness vs. the original) = {value:.4f}"
    if key == "style_distance":
        return "distance to the style", f"{value:.2f} (lower is closer)", f"style_distance = {value:.4f}"
    if key == "psnr":
        return "detail kept", f"{value:.1f} dB", f"psnr = {value:.2f} dB"
    return None


FIGURE_KEYS = ("product_delta_e", "content_ssim", "style_distance", "psnr")


def thumbnail(variant: Variant, size: int = 96) -> str:
    if variant.status == Variant.Status.READY and variant.file:
        return format_html(
            '<img src="{}" alt="{}" style="max-width:{}px;max-height:{}px;border-radius:4px">', variant.url, variant.spec_name, size, size
        )
    return "—"


def figures(variant: Variant) -> list[tuple[str, str, str]]:
    """(label, value in plain words, raw figure) rows for a variant card."""
    rows = []
    metrics = variant.metrics or {}
    for key in FIGURE_KEYS:
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            plain = _plain(key, float(value))
            if plain:
                rows.append(plain)
    timings = {k: v for k, v in (variant.timings or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if "mask_cached" in (variant.timings or {}):  # product_masks.py: found once per photo, then reused
        cached, spent = variant.timings["mask_cached"], timings.get("mask_ms", 0)
        rows.append(("product mask", "stored, reused" if cached else f"found ({spent} ms)", f"mask_cached = {cached}, mask_ms = {spent}"))
    total = sum(timings.values())
    if total:
        raw = ", ".join(f"{k} {v}" for k, v in timings.items())
        rows.append(("made in", f"{total / 1000:.1f} s" if total >= 1000 else f"{total} ms", raw))
    return rows


# Restyle options with their defaults: a card names only those that differ.
OPTION_DEFAULTS = {"strength": 1.0, "preserve_colors": False, "preserve_product": "off", "preserve_amount": 0.75, "aspect": None}


PRESERVE_WORDS = {"product": "product kept", "background": "background kept"}


def options(variant: Variant) -> str:
    """The restyle options that tell two variants of one style apart (e.g. "strength 0.8")."""
    params = variant.parameters or {}
    shown = []
    for key, default in OPTION_DEFAULTS.items():
        if key in params and params[key] != default and not (key == "preserve_amount" and params.get("preserve_product", "off") == "off"):
            value = params[key]
            if key == "preserve_product":
                shown.append(PRESERVE_WORDS.get(value, f"preserve {value}"))
            elif key == "preserve_colors":
                shown.append("colours kept")
            else:
                shown.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(shown)


def publication(variant: Variant) -> str:
    """Where a ready variant stands with the storefront, in words ("" once published)."""
    if variant.status != Variant.Status.READY or variant.is_published:
        return ""
    return "rejected" if variant.review == Variant.Review.REJECTED else "awaiting approval"


def variants_panel(variants: list[Variant], original_url: str, status_url: str, title: str = "", file_name: str = "") -> str:
    """The cards of one source image, under its name (a product's front, alternate view…)."""
    cards = [{"v": v, "figures": figures(v), "options": options(v), "publication": publication(v)} for v in variants]
    context = {"cards": cards, "original_url": original_url, "status_url": status_url, "title": title, "file_name": file_name}
    return render_to_string("imagegen/admin/variants_panel.html", context)
