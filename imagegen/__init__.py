"""imagegen: AI product imagery for Django shops.

The public API is small::

    import imagegen
    imagegen.register("shop.ProductImage", "image", specs=[imagegen.VariantSpec("sketch", processor="sketch")])
    imagegen.variants_for(product_image, "image")      # rows, for code that needs them
    imagegen.prefetch_variants(images, "image")         # one query for a page of images
    imagegen.request_variants(image, "image", styles)   # admin/API: ask for new work
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .specs import VariantSpec

if TYPE_CHECKING:
    from .registry import Source

__all__ = ["VariantSpec", "register", "variants_for", "prefetch_variants", "request_variants"]


def register(model: Any, field_name: str, *, specs: list[VariantSpec]) -> Source:
    """Declare that ``model.field_name`` is an image source with these variant specs."""
    from .registry import registry

    return registry.register(model, field_name, specs=specs)


def variants_for(instance: Any, field_name: str) -> list:
    """Current (non-stale) variants of one source field, prefetched if prefetch_variants ran."""
    from .prefetch import variants_for as _variants_for

    return _variants_for(instance, field_name)


def prefetch_variants(instances: list, field_name: str) -> None:
    from .prefetch import prefetch_variants as _prefetch

    _prefetch(instances, field_name)


def request_variants(instance: Any, field_name: str, styles: list, **options: Any) -> list:
    from .requests import request_variants as _request

    return _request(instance, field_name, styles, **options)
