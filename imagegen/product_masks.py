"""The product mask of each source's content: computed once per (content hash, segmenter) by
a worker, stored as an 8-bit PNG next to the variants, and attached to the decoded image so
every variant of that content (cut-outs, backgrounds, crops, preserve_product, the figures in
the product region) uses the same mask.

- A source with a real alpha channel needs none: its alpha is the mask (no row is made).
- The segmenter is the built-in U²-Net-p, or the shop's fine-tuned weights once
  ``imagegen_train segment`` has published them as the reference file of the ``cutout`` Style.
- Two workers racing on the same content: the unique constraint decides, the loser reuses
  the winner's row.
- Segmentation failing (or finding nothing) never fails a restyle that can do without it:
  the engine then uses its own computed mask. Only the variants that cannot (``cutout``,
  ``background``, smart crops) fail, with the reason.
"""
from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from PIL import Image as PILImage
from rq.timeouts import JobTimeoutException

from .models import ProductMask, Style, Variant
from .product_styles import CUTOUT
from .rows import fail, retry_or_fail
from .storage import save_content, variant_storage

logger = logging.getLogger(__name__)

__all__ = [
    "MASK_PROCESSORS",
    "attach_masks",
    "needs_mask",
    "segmenter_weights",
    "mask_for",
]

MASK_PROCESSORS = frozenset({"cutout", "background", "crop"})  # cannot work without knowing the product
_OPAQUE = 254.5 / 255  # an alpha channel whose every pixel is at least this is not a real one


def needs_mask(variant: Variant) -> bool:
    """Whether a variant cannot be made without the product's mask."""
    if variant.processor in MASK_PROCESSORS:
        return True
    aspect = (variant.parameters or {}).get("aspect")
    return aspect not in (None, "", "original")


@dataclass
class _Weights:
    key: tuple[Any, ...]
    data: bytes | None
    segmenter: str


_cached_weights: _Weights | None = None  # one set per process; re-read when the Style's file changes


def segmenter_weights() -> tuple[bytes | None, str]:
    """(weights bytes or None for the built-in network, segmenter id). The fine-tuned weights
    are the reference file of the ``cutout`` Style, read once per worker and again only when
    that file changes."""
    from .engine.segment import segmenter_id

    global _cached_weights
    # the Style whose reference file is the fine-tuned weights: slug and processor "cutout"
    style = Style.objects.filter(slug=CUTOUT, processor=CUTOUT).exclude(reference="").first()
    key = (style.pk, style.reference.name, style.updated_at) if style is not None else (None,)
    if _cached_weights is None or _cached_weights.key != key:
        data = None
        if style is not None:
            with style.reference.open("rb") as stream:
                data = stream.read()
        _cached_weights = _Weights(key, data, segmenter_id(data))
    return _cached_weights.data, _cached_weights.segmenter


def _png(mask) -> tuple[bytes, float]:
    """8-bit greyscale PNG of a (1, H, W) 0..1 mask, and its coverage (mean)."""
    array = mask.detach().float().cpu().clamp(0, 1).squeeze(0).numpy()
    buffer = io.BytesIO()
    PILImage.fromarray(np.round(array * 255).astype(np.uint8), mode="L").save(buffer, "PNG", compress_level=6)
    return buffer.getvalue(), float(array.mean())


def _read(row: ProductMask):
    import torch

    with variant_storage().open(row.file.name, "rb") as stream:
        with PILImage.open(io.BytesIO(stream.read())) as pil:
            array = np.asarray(pil.convert("L"), dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy())[None]


def _no_product_message() -> str:
    from .engine.framing import NO_PRODUCT_MESSAGE

    return f"{NO_PRODUCT_MESSAGE} The original image is unchanged."


def mask_for(image, source_hash: str, weights: bytes | None, segmenter: str) -> tuple[Any, bool, ProductMask]:
    """(mask tensor (1, H, W), whether it came from storage, its row) for one decoded
    opaque image. Raises the engine's errors when segmentation fails; storage errors
    propagate (they are transient)."""
    from .engine.segment import segment

    height, width = image.rgb.shape[-2:]
    row = ProductMask.objects.filter(source_hash=source_hash, segmenter=segmenter).first()
    if row is not None and (row.width, row.height) == (width, height):
        try:
            return _read(row), True, row
        except FileNotFoundError:  # its file was removed by hand: make it again, below
            logger.warning("imagegen: stored mask %s is missing its file %s; segmenting again", row.pk, row.file.name)
    started = time.perf_counter()
    mask = segment(image, weights).detach().float().cpu().clamp(0, 1)
    runtime_ms = int((time.perf_counter() - started) * 1000)
    data, coverage = _png(mask)
    name = save_content(data, "PNG")
    if row is None:
        try:
            with transaction.atomic():
                row = ProductMask.objects.create(
                    source_hash=source_hash, segmenter=segmenter, file=name, width=width, height=height,
                    coverage=coverage, runtime_ms=runtime_ms,
                )
        except IntegrityError:
            # Another worker stored the same content's mask first: use its row. Our file (if it
            # differs) is left to imagegen_cleanup, which never removes a referenced one.
            row = ProductMask.objects.get(source_hash=source_hash, segmenter=segmenter)
    else:
        # A stored mask of another size (the decoder changed) or without its file: this one replaces it.
        ProductMask.objects.filter(pk=row.pk).update(file=name, width=width, height=height, coverage=coverage, runtime_ms=runtime_ms)
    return mask, False, row


def attach_masks(sources: list, engine, summary: dict[str, int]) -> None:
    """Attach each loaded source's product mask to its image (see the module docstring).
    Records ``mask_ms`` and ``mask_cached`` in the source's timings. Variants that need a
    mask fail (with the reason) when there is none; the others go on."""
    from .engine.framing import is_empty  # the processors' own test of "no product"
    from .engine.segment import with_mask

    weights: tuple[bytes | None, str] | None = None
    for source in sources:
        image = source.image
        if image is None:
            continue
        if image.alpha is not None:
            if float(image.alpha.min()) < _OPAQUE:
                continue  # a real alpha channel is the mask
            # a fully opaque alpha channel says nothing about the product: segment instead
            image = engine.Image(rgb=image.rgb, alpha=None, info=image.info, mask=image.mask)
            source.image = image
        started = time.perf_counter()
        try:
            if weights is None:
                weights = segmenter_weights()
            mask, cached, _ = mask_for(image, source.source_hash, *weights)
        except JobTimeoutException:
            raise
        except (OSError, ConnectionError, TimeoutError, MemoryError) as exc:  # storage or machine: worth a retry
            logger.warning("imagegen: product mask of %s not available now: %s", source.source_hash[:12], exc)
            fail_mask_variants(source, summary, f"The product mask could not be read or saved ({exc}).", retry=True)
            continue
        except Exception as exc:  # noqa: BLE001 - a restyle can go on with the engine's own mask
            logger.warning("imagegen: segmentation of %s failed: %s", source.source_hash[:12], exc, exc_info=not isinstance(exc, engine.EngineError))
            reason = str(exc) if isinstance(exc, engine.EngineError) else f"{type(exc).__name__}: {exc}"
            fail_mask_variants(
                source, summary,
                f"The product could not be found in this photo ({reason}), so no cut-out, background or "
                "crop can be made. The original image is unchanged.",
            )
            continue
        source.timings = {**source.timings, "mask_ms": int((time.perf_counter() - started) * 1000), "mask_cached": cached}
        if is_empty(mask):
            # stored all the same (no second try on the same content), but not attached:
            # restyles fall back to the engine's computed mask
            fail_mask_variants(source, summary, _no_product_message())
            continue
        source.image = with_mask(image, mask)


def fail_mask_variants(source, summary: dict[str, int], message: str, *, retry: bool = False) -> None:
    """Fail (or, for a transient problem, retry later) the source's variants that cannot be
    made without a mask; the rest render on."""
    blocked = [v for v in source.variants if needs_mask(v)]
    source.variants = [v for v in source.variants if not needs_mask(v)]
    if retry and blocked:
        summary["retry" if retry_or_fail(blocked, message) else "failed"] += len(blocked)
        return
    for variant in blocked:
        fail(variant, message)
    summary["failed"] += len(blocked)
