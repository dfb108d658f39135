"""Models kept loaded in the worker process, keyed by (network, weights, device), and the
precision they run at.

Loading a network (parsing its ONNX file, building the module, moving it to the GPU) costs
far more than running it on a product photo, so the long-lived worker keeps the last few it
used. Two bounds keep memory in check when many networks are in play: at most
IMAGEGEN_MODEL_CACHE_SIZE models (default 4) and at most IMAGEGEN_MODEL_CACHE_MB megabytes of
their weights and buffers (default 2048); the least recently used go first. A single model
larger than the byte bound is still kept (it could not run otherwise), alone.

Precision, IMAGEGEN_PRECISION: "auto" (the default) runs networks under bf16 autocast on a CUDA
GPU with bfloat16 support and in fp32 on CPUs; "fp32" everywhere; "bf16" also on CPUs. bf16 on
a CPU pays only where the CPU computes bf16 natively (AVX512-BF16, AMX): 1.01x-1.15x there,
0.16x-0.29x on the CPU of the project's earlier runs (docs/benchmarks.md), hence opt-in.
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

__all__ = ["get_model", "cached_keys", "cached_bytes", "clear", "autocast", "precision", "uses_bf16", "ENV_CACHE_SIZE", "ENV_CACHE_MB", "ENV_PRECISION"]

ENV_CACHE_SIZE = "IMAGEGEN_MODEL_CACHE_SIZE"
ENV_CACHE_MB = "IMAGEGEN_MODEL_CACHE_MB"
ENV_PRECISION = "IMAGEGEN_PRECISION"

Key = tuple[str, str, str]
_models: OrderedDict[Key, nn.Module] = OrderedDict()
_sizes: dict[Key, int] = {}
_lock = threading.Lock()


def _env_int(name: str, default: str, what: str) -> int:
    raw = os.environ.get(name, default).strip()
    try:
        value = int(raw)
    except ValueError:
        raise EngineError(f"{name}={raw!r} must be a whole number of {what}.") from None
    return max(1, value)


def _capacity() -> int:
    return _env_int(ENV_CACHE_SIZE, "4", "models (e.g. 4)")


def _byte_capacity() -> int:
    return _env_int(ENV_CACHE_MB, "2048", "megabytes (e.g. 2048)") * 1024 * 1024


def _size(model: nn.Module) -> int:
    tensors = [*model.parameters(), *model.buffers()]
    # an onnxruntime session holds its weights outside torch: it states their size
    return sum(t.numel() * t.element_size() for t in tensors) + int(getattr(model, "cache_bytes", 0))


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
    size = _size(model)
    with _lock:
        _models[key] = model
        _sizes[key] = size
        _models.move_to_end(key)
        limit, byte_limit = _capacity(), _byte_capacity()
        while len(_models) > 1 and (len(_models) > limit or sum(_sizes.values()) > byte_limit):
            old, _ = _models.popitem(last=False)
            _sizes.pop(old, None)
    return model


def cached_keys() -> list[Key]:
    with _lock:
        return list(_models)


def cached_bytes() -> int:
    """Bytes of weights and buffers the cached models hold."""
    with _lock:
        return sum(_sizes.values())


def clear() -> None:
    with _lock:
        _models.clear()
        _sizes.clear()


PRECISIONS = ("auto", "fp32", "bf16")
_ALIASES = {"": "auto", "float32": "fp32", "bfloat16": "bf16"}


def precision() -> str:
    """IMAGEGEN_PRECISION, checked: one of PRECISIONS."""
    raw = os.environ.get(ENV_PRECISION, "").strip().lower()
    value = _ALIASES.get(raw, raw)
    if value not in PRECISIONS:
        raise EngineError(
            f"{ENV_PRECISION}={raw!r}: use auto (bf16 on GPUs that support it, fp32 on CPUs), fp32, or bf16."
        )
    return value


def uses_bf16(device: torch.device) -> bool:
    mode = precision()
    if mode == "fp32":
        return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return mode == "bf16" and device.type == "cpu"


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """bf16 autocast where uses_bf16() says so, plain fp32 elsewhere."""
    if uses_bf16(device):
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
    else:
        yield
