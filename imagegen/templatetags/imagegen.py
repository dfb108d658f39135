"""Template tags for storefront authors. They read prefetched Variant rows only: no storage
calls, and no queries at all when the view called ``imagegen.prefetch_variants``.

    {% load imagegen %}
    {% imagegen_variant image.image "sketch" as v %}{% if v %}{{ v.url }} {{ v.width }}x{{ v.height }}{% endif %}
    <img src="{% imagegen_url image.image "sketch" %}">          {# the original while pending #}
    {% imagegen_picture image.image "sketch" alt=product.name sizes="(min-width: 800px) 50vw, 100vw" %}
    {% imagegen_picture image.image "sketch" aspect="16:9" %}  {# VariantSpec(..., aspect_ratios=("16:9",)) #}
    {% imagegen_ready image.image as variants %}                 {# every ready variant #}
"""
from __future__ import annotations

from django import template
from django.db.models.fields.files import FieldFile
from django.utils.html import format_html, format_html_join

from ..models import Variant
from ..natural import natural_sorted
from ..prefetch import best_matches, ready_variant, variants_for
from ..specs import normalise_ratio

register = template.Library()

# Preferred first in <source> order: browsers take the first type they support.
SOURCE_ORDER = {"AVIF": 0, "WEBP": 1, "PNG": 2, "JPEG": 3}
MIME = {"AVIF": "image/avif", "WEBP": "image/webp", "PNG": "image/png", "JPEG": "image/jpeg"}


def _ready(fieldfile: FieldFile | None) -> list[Variant]:
    if not fieldfile or not isinstance(fieldfile, FieldFile):
        return []
    return [
        v
        for v in variants_for(fieldfile.instance, fieldfile.field.name)
        if v.status == Variant.Status.READY and v.is_published
    ]


def _ratio(aspect: str | None) -> str | None:
    """A template's ``aspect="16:9"``; a mistyped one is a template error worth seeing."""
    if not aspect:
        return None
    try:
        return normalise_ratio(aspect)
    except ValueError as exc:
        raise template.TemplateSyntaxError(str(exc)) from None


@register.simple_tag
def imagegen_variant(fieldfile: FieldFile | None, name: str, aspect: str | None = None) -> Variant | None:
    """The ready, published variant ``name`` (spec name or style slug) of an image, or None;
    ``aspect="1:1"``: its smart crop to that ratio (a spec's ``aspect_ratios``)."""
    if not fieldfile or not isinstance(fieldfile, FieldFile):
        return None
    return ready_variant(fieldfile.instance, fieldfile.field.name, name, aspect=_ratio(aspect))


@register.simple_tag
def imagegen_ready(fieldfile: FieldFile | None) -> list[Variant]:
    """Every ready, published variant of an image, one per name (the newest), for a style
    switcher: only styles an admin chose to show (Style.show_on_storefront) and processor
    specs the host registered, sorted naturally by label ("Style 2" before "Style 10")."""
    seen: dict[str, Variant] = {}
    for variant in _ready(fieldfile):
        if variant.style is not None and not variant.style.show_on_storefront:
            continue
        seen.setdefault(variant.spec_name, variant)
    # by the label a shopper reads (the style's name, else the spec's), naturally: 2 before 10
    return natural_sorted(seen.values(), key=lambda v: v.style.name if v.style is not None else v.spec_name)


@register.simple_tag
def imagegen_url(fieldfile: FieldFile | None, name: str, aspect: str | None = None) -> str:
    """The variant's URL, or the original image's while the variant is pending or failed."""
    variant = imagegen_variant(fieldfile, name, aspect)
    if variant is not None:
        return variant.url
    return fieldfile.url if fieldfile else ""


@register.simple_tag
def imagegen_picture(
    fieldfile: FieldFile | None,
    name: str,
    alt: str = "",
    sizes: str = "100vw",
    css_class: str = "",
    loading: str = "lazy",
    aspect: str | None = None,
) -> str:
    """A <picture> with one <source> per format (AVIF, WebP first) and a srcset of every size,
    falling back to the original image while no variant is ready. ``aspect="16:9"``: the
    smart crop to that ratio; while it is pending the original is shown cropped by CSS to
    the same ratio, so the layout does not jump."""
    if not fieldfile:
        return ""
    ratio = _ratio(aspect)
    variants = best_matches(_ready(fieldfile), name, ratio)
    if not variants:
        if ratio:
            w, h = ratio.split(":")
            return format_html(
                '<img src="{}" alt="{}" class="{}" loading="{}" style="aspect-ratio:{}/{};object-fit:cover" data-imagegen="pending">',
                fieldfile.url, alt, css_class, loading, w, h,
            )
        return format_html(
            '<img src="{}" alt="{}" class="{}" loading="{}" data-imagegen="pending">', fieldfile.url, alt, css_class, loading
        )
    by_format: dict[str, list[Variant]] = {}
    for variant in variants:
        by_format.setdefault(variant.format, []).append(variant)
    formats = sorted(by_format, key=lambda f: SOURCE_ORDER.get(f, 9))
    fallback_format = "JPEG" if "JPEG" in by_format else "PNG" if "PNG" in by_format else formats[-1]
    fallback = max(by_format[fallback_format], key=lambda v: v.width or 0)

    def srcset(rows: list[Variant]) -> str:
        return ", ".join(f"{v.url} {v.width}w" for v in sorted(rows, key=lambda v: v.width or 0))

    sources = format_html_join(
        "", '<source type="{}" srcset="{}" sizes="{}">', ((MIME[f], srcset(by_format[f]), sizes) for f in formats if f != fallback_format)
    )
    return format_html(
        '<picture>{}<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}" class="{}" loading="{}" data-imagegen="{}"></picture>',
        sources,
        fallback.url,
        srcset(by_format[fallback_format]),
        sizes,
        fallback.width,
        fallback.height,
        alt,
        css_class,
        loading,
        name,
    )
