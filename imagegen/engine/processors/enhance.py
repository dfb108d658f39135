""""enhance": 4x super-resolution with the GAN trained on the shop's catalogue.

The weights are not built in: ``python manage.py imagegen_train enhance`` trains them on the
shop's own images and publishes them as the reference file of the ``enhance-4x`` style, so
this processor receives them as ``reference`` (and a retrained model changes the spec hash,
so variants are redone with the new weights). Without weights it refuses with a message
saying how to make them.

Large inputs are processed in overlapping tiles so memory stays bounded; the output is 4x
the input in both sides (the pipeline applies the spec's max size afterwards). The alpha
mask, if any, is upscaled bilinearly.
"""
from __future__ import annotations

import hashlib
import io
from typing import Any

import torch
import torch.nn.functional as F

from .. import model_cache
from ..errors import ParameterError
from ..io import Image
from .base import Number, Processor

__all__ = ["EnhanceProcessor", "upscale_tiled", "NO_WEIGHTS_MESSAGE"]

NO_WEIGHTS_MESSAGE = (
    "The 'enhance' processor has no trained weights yet. Run `python manage.py imagegen_train enhance` "
    "(it trains on your catalogue and publishes the weights as the 'enhance-4x' style), then use that style."
)


def _build(reference: bytes) -> torch.nn.Module:
    from ..training.base import config_from_dict
    from ..training.enhance import EnhanceConfig, build_enhancer

    try:
        export = torch.load(io.BytesIO(reference), map_location="cpu", weights_only=True)
        if not isinstance(export, dict) or export.get("kind") != "enhance":
            raise ValueError(f"kind is {export.get('kind') if isinstance(export, dict) else type(export).__name__!r}")
        net = build_enhancer(config_from_dict(EnhanceConfig, export["config"]))
        net.load_state_dict(export["generator"])
    except Exception as exc:  # noqa: BLE001 - any problem with the file is the same problem for the admin
        raise ParameterError(
            f"The style's reference file is not enhancement weights made by `imagegen_train enhance` ({exc}). "
            "Run the command again to publish fresh weights."
        ) from exc
    return net


def _load(reference: bytes, device: torch.device) -> torch.nn.Module:
    # Keyed by the weights' hash: a retrained model is a different cache entry.
    return model_cache.get_model("enhance", hashlib.sha256(reference).hexdigest(), device, lambda: _build(reference))


def upscale_tiled(net: torch.nn.Module, rgb: torch.Tensor, *, tile: int = 128, overlap: int = 8) -> torch.Tensor:
    """Run ``net`` (x4) on (3, H, W) in tiles of ``tile`` px with ``overlap`` px of context on
    every side, keeping only each tile's centre, so seams do not show."""
    scale = 4
    _, h, w = rgb.shape
    if h <= tile and w <= tile:
        return net(rgb[None])[0]
    out = torch.zeros(3, h * scale, w * scale, dtype=rgb.dtype, device=rgb.device)
    padded = F.pad(rgb[None], (overlap, overlap, overlap, overlap), mode="replicate")[0]
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            bottom, right = min(top + tile, h), min(left + tile, w)
            piece = padded[:, top : bottom + 2 * overlap, left : right + 2 * overlap]
            up = net(piece[None])[0]
            o = overlap * scale
            out[:, top * scale : bottom * scale, left * scale : right * scale] = up[:, o : o + (bottom - top) * scale, o : o + (right - left) * scale]
    return out


class EnhanceProcessor(Processor):
    name = "enhance"
    needs_reference = False  # checked in process(), to say how to get weights
    changes_size = True
    description = "4x super-resolution for low-resolution uploads (GAN trained on your catalogue)."
    param_specs = {
        "max_input": Number(
            default=512, minimum=16, maximum=2048, integer=True, help="Largest input side accepted (the output is 4x)."
        ),
    }

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        if not reference:
            raise ParameterError(NO_WEIGHTS_MESSAGE)
        limit = int(params["max_input"])
        if max(image.width, image.height) > limit:
            raise ParameterError(
                f"The image is already {image.width}x{image.height}; 'enhance' is for low-resolution uploads "
                f"up to {limit} px on the longest side (the result is 4x larger). Raise max_input to allow it."
            )
        net = _load(reference, image.rgb.device)
        with model_cache.autocast(image.rgb.device):
            rgb = upscale_tiled(net, image.rgb.float()).float().clamp(0, 1)
        alpha = None
        if image.alpha is not None:
            alpha = F.interpolate(image.alpha[None].float(), scale_factor=4, mode="bilinear", align_corners=False)[0].clamp(0, 1)
        info = dict(image.info)
        info["enhanced_from"] = (image.width, image.height)
        return Image(rgb=rgb, alpha=alpha, info=info)
