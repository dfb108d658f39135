"""Models kept loaded in the worker process, keyed by (network, weights, device), and the
precision they run at.

Loading a network (parsing its ONNX file, building the module, moving it to the GPU) costs
far more than running it on a product photo, so the long-lived worker keeps the last few it
used. The bound keeps GPU memory in check when many networks are in play; set
IMAGEGEN_MODEL_CACHE_SIZE to change it (default 4).

Precision: on a CUDA GPU with bfloat16 support, networks run under bf16 autocast (about twice
the throughput, visually identical); IMAGEGEN_PRECISION=fp32 turns that off. CPUs run fp32.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator

import torch
import torch.nn as nn

from .errors import EngineError

__all__ = ["get_model", "cached_keys", "clear", "autocast", "uses_bf16", "ENV_CACHE_SIZE", "ENV_PRECISION"]

ENV_CACHE_SIZE = "IMAGEGEN_MODEL_CACHE_SIZE"
ENV_PRECISION = "IMAGEGEN_PRECISION"

Key = tuple[str, str, str]
_models: OrderedDict[Key, nn.Module] = OrderedDict()
_lock = threading.Lock()


def _capacity() -> int:
    raw = os.environ.get(ENV_CACHE_SIZE, "4").strip()
    try:
        value = int(raw)
    except ValueError:
        raise EngineError(f"{ENV_CACHE_SIZE}={raw!r} must be a whole number of models (e.g. 4).") from None
    return max(1, value)


def get_model(network: str, weights: str, device: torch.device, load: Callable[[], nn.Module]) -> nn.Module:
    """The cached module for (network, weights, device), loading it with ``load()`` (on the
    CPU) and moving it to ``device`` the first time. Least recently used ones are dropped."""
    key = (network, weights, str(device))
    with _lock:
        model = _models.get(key)
        if model is not None:
            _models.move_to_end(key)
            return model
    model = load().to(device).eval().requires_grad_(False)
    with _lock:
        _models[key] = model
        _models.move_to_end(key)
        while len(_models) > _capacity():
            _models.popitem(last=False)
    return model


def cached_keys() -> list[Key]:
    with _lock:
        return list(_models)


def clear() -> None:
    with _lock:
        _models.clear()


def uses_bf16(device: torch.device) -> bool:
    if device.type != "cuda" or os.environ.get(ENV_PRECISION, "").strip().lower() in {"fp32", "float32"}:
        return False
    return torch.cuda.is_bf16_supported()


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """bf16 autocast on capable GPUs, plain fp32 elsewhere."""
    if uses_bf16(device):
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            yield
    else:
        yield
