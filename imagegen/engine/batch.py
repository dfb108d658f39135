"""Several variants of one source in one batch.

``prepare_batch`` looks at every request the worker is about to render for one source; those
whose processor can batch (it has ``prepare``, e.g. "style") and that share an output size
run together as one batch through the network. The later ``render`` calls with the same
arguments then return at once from the processor's prepared results. It never raises: if
anything goes wrong, those requests are simply rendered one by one, with their own errors.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from .errors import EngineError
from .io import Image, resize_to_fit
from .processors import get_processor
from .execute import on_device

__all__ = ["prepare_batch"]

logger = logging.getLogger(__name__)

Request = tuple[str, "dict[str, Any] | None", "bytes | None", "int | None"]


def prepare_batch(image: Image, requests: list[Request]) -> int:
    """Batch-render what can be batched among (processor, params, reference, max_size)
    requests on ``image``; returns how many results were prepared."""
    from .pipeline import _split  # the same parameter handling as render()

    groups: dict[tuple[str, int | None], list[tuple[dict[str, Any], bytes | None]]] = {}
    for processor, params, reference, max_size in requests:
        try:
            proc = get_processor(processor)
            if not callable(getattr(proc, "prepare", None)):
                continue
            generic, rest = _split(processor, params)
            own = proc.validate(rest)
            if getattr(proc, "handles_strength", False):
                own["strength"] = generic["strength"]
        except EngineError:  # render() will report bad parameters properly
            continue
        groups.setdefault((processor, max_size), []).append((own, reference))

    prepared = 0
    for (processor, max_size), items in groups.items():
        if len(items) < 2:
            continue
        try:
            source = resize_to_fit(image, max_size)
            src = on_device(source)  # exactly as render() builds it, so the prepared results are found again
            with torch.inference_mode():
                prepared += get_processor(processor).prepare(src, [p for p, _ in items], [r for _, r in items])
        except (EngineError, RuntimeError, ValueError, MemoryError):  # fall back to one by one
            # (not a bare Exception: the host's job time limit must still stop the job)
            logger.warning("imagegen: batching %d '%s' variants failed; rendering one by one", len(items), processor, exc_info=True)
    return prepared
