"""Several renders through one network call.

``prepare_batch`` looks at every render the worker is about to do (variants of one source, or
of several sources); those whose processor can batch (a ``BatchProcessor``, e.g. "style") run
together, in chunks of at most ``max_batch``, through the network. The processor groups them
further by what it can stack (for "style": the network and the working size). The later
``render`` calls with the same arguments return at once from the prepared results.

It never raises: if a chunk fails (a bad parameter, out of memory), its requests are simply
rendered one by one later, each with its own error, so one bad item cannot fail the others.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import torch

from .errors import EngineError
from .execute import on_device
from .io import Image, fitted_size, resize_to_fit
from .processors import get_processor
from .processors.base import BatchProcessor

__all__ = ["BatchItem", "prepare_batch", "can_batch"]

logger = logging.getLogger(__name__)


class BatchItem(NamedTuple):
    """One future ``render(image, processor, params, reference=..., max_size=...)`` call."""

    image: Image
    processor: str
    params: dict[str, Any] | None = None
    reference: bytes | None = None
    max_size: int | None = None


def can_batch(processor: str) -> bool:
    """Whether ``processor`` runs several images through its network at once."""
    try:
        return isinstance(get_processor(processor), BatchProcessor)
    except EngineError:
        return False


def prepare_batch(items: list[BatchItem], max_batch: int = 8) -> int:
    """Batch-render what can be batched among ``items``; returns how many results were
    prepared (0 when nothing could be batched)."""
    from .pipeline import _split  # the same parameter handling as render()

    if max_batch < 2:
        return 0
    groups: dict[tuple[str, int | None], list[tuple[Image, dict[str, Any], bytes | None]]] = {}
    for item in items:
        try:
            proc = get_processor(item.processor)
            if not isinstance(proc, BatchProcessor):
                continue
            generic, rest = _split(item.processor, item.params)
            own = proc.validate(rest)
            if getattr(proc, "handles_strength", False):
                own["strength"] = generic["strength"]
        except EngineError:  # render() will report bad parameters properly
            continue
        groups.setdefault((item.processor, item.max_size), []).append((item.image, own, item.reference))

    for processor in {processor for processor, _ in groups}:
        get_processor(processor).forget_prepared()  # an earlier batch's leftovers are not wanted now
    prepared = 0
    for (processor, max_size), members in groups.items():
        proc = get_processor(processor)
        # equal sizes side by side, so that each chunk stacks into as few network calls as it can
        members.sort(key=lambda m: fitted_size(m[0].height, m[0].width, max_size))
        for start in range(0, len(members), max_batch):
            chunk = members[start : start + max_batch]
            if len(chunk) < 2:
                continue
            try:
                # exactly as render() builds its input, so the prepared results are found again
                images = _inputs([image for image, _, _ in chunk], max_size)
                with torch.inference_mode():
                    prepared += proc.prepare(images, [p for _, p, _ in chunk], [r for _, _, r in chunk])
            except (EngineError, RuntimeError, ValueError, MemoryError):  # fall back to one by one
                # (not a bare Exception: the host's job time limit must still stop the job)
                logger.warning(
                    "imagegen: batching %d '%s' renders failed; rendering one by one", len(chunk), processor, exc_info=True
                )
    return prepared


def _inputs(images: list[Image], max_size: int | None) -> list[Image]:
    """Each image resized and copied to the device as render() does, once per distinct image."""
    copies: dict[int, Image] = {}
    for image in images:
        if id(image) not in copies:
            copies[id(image)] = on_device(resize_to_fit(image, max_size))
    return [copies[id(image)] for image in images]
