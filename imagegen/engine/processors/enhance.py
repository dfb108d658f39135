""""enhance": 4x (or 2x) super-resolution with the network trained on the shop's catalogue.

The weights are not built in: ``python manage.py imagegen_train enhance`` trains them on the
shop's own images and publishes them as the reference file of the ``enhance-4x`` style, so
this processor receives them as ``reference`` (and a retrained model changes the spec hash,
so variants are redone with the new weights). Without weights it refuses with a message
saying how to make them.

Large inputs are processed in overlapping tiles so memory stays bounded; the output is 4x
the input in both sides, or 2x with ``scale`` 2 (the 4x result halved with antialiasing:
uploads of 300-500 px need a product-page size, not 2000 px), and the pipeline applies the
spec's max size afterwards. Inputs above ``max_input`` are refused with a message saying so.
The alpha mask, if any, is upscaled bilinearly.
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
    """The eval-mode network from exported weights. Files made before the "arch" field hold
    the older SRResNet-like generator and still load as that."""
    from ..training.enhance import build_enhancer, enhance_config

    try:
        export = torch.load(io.BytesIO(reference), map_location="cpu", weights_only=True)
        if not isinstance(export, dict) or export.get("kind") != "enhance":
            raise ValueError(f"kind is {export.get('kind') if isinstance(export, dict) else type(export).__name__!r}")
        config = dict(export["config"])
        config["arch"] = export.get("arch", config.get("arch", "srresnet"))
        net = build_enhancer(enhance_config(config))
        net.load_state_dict(export["generator"])
    except Exception as exc:  # noqa: BLE001 - any problem with the file is the same problem for the admin
        raise ParameterError(
            f"The style's reference file is not enhancement weights made by `imagegen_train enhance` ({exc}). "
            "Run the command again to publish fresh weights."
        ) from exc
    return net.eval()


def exported_model(reference: bytes) -> bytes:
    """The weights as ONNX with any input size, from the host's export cache."""
    from ..onnx_backend import export_onnx

    return export_onnx(
        _build(reference), (torch.rand(1, 3, 32, 32),), key="enhance:" + hashlib.sha256(reference).hexdigest(),
        input_names=["low"], output_names=["high"],
        dynamic_axes={"low": {0: "batch", 2: "height", 3: "width"}, "high": {0: "batch", 2: "height4", 3: "width4"}},
    )  # fmt: skip


def _load(reference: bytes, device: torch.device) -> torch.nn.Module:
    # Keyed by the weights' hash: a retrained model is a different cache entry. On a CPU it runs
    # in onnxruntime, exported once per weights (onnx_backend.py); bf16 asked for keeps torch.
    from ..onnx_backend import backend_for

    key = hashlib.sha256(reference).hexdigest()
    if backend_for("enhance", device, torch_only=model_cache.uses_bf16(device)) == "onnxruntime":
        from ..onnx_backend import ExportedNetwork

        return model_cache.get_model("enhance", f"{key}:onnxruntime", device, lambda: ExportedNetwork(exported_model(reference)))
    return model_cache.get_model("enhance", key, device, lambda: _build(reference))


def upscale_tiled(net: torch.nn.Module, rgb: torch.Tensor, *, tile: int = 256, overlap: int = 8) -> torch.Tensor:
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
    description = "4x (or 2x) super-resolution for low-resolution uploads (a network trained on your catalogue, faithful by default)."
    param_specs = {
        "max_input": Number(
            default=512, minimum=16, maximum=2048, integer=True, help="Largest input side accepted (the output is 4x, or 2x with scale 2)."
        ),
        "scale": Number(
            default=4, minimum=2, maximum=4, integer=True,
            help="4, or 2 for medium-size uploads (the 4x result halved with antialiasing).",
        ),
    }

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        if not reference:
            raise ParameterError(NO_WEIGHTS_MESSAGE)
        limit, scale = int(params["max_input"]), int(params["scale"])
        if scale not in (2, 4):
            raise ParameterError(f"Parameter 'scale' must be 2 or 4, got {scale}.")
        if max(image.width, image.height) > limit:
            raise ParameterError(
                f"The image is already {image.width}x{image.height}; 'enhance' is for low-resolution uploads "
                f"up to {limit} px on the longest side (the result is {scale}x larger). Raise max_input to allow it"
                + (", or use scale 2 for a result half as large." if scale == 4 else ".")
            )
        net = _load(reference, image.rgb.device)
        with model_cache.autocast(image.rgb.device):
            rgb = upscale_tiled(net, image.rgb.float()).float().clamp(0, 1)
        if scale == 2:
            # The 4x network, then an antialiased halving: the detail it restored survives the
            # reduction, and one set of weights serves both sizes.
            size = (image.height * 2, image.width * 2)
            rgb = F.interpolate(rgb[None], size=size, mode="bicubic", antialias=True, align_corners=False)[0].clamp(0, 1)
        alpha = None
        if image.alpha is not None:
            alpha = F.interpolate(image.alpha[None].float(), scale_factor=scale, mode="bilinear", align_corners=False)[0].clamp(0, 1)
        info = dict(image.info)
        info["enhanced_from"] = (image.width, image.height)
        return Image(rgb=rgb, alpha=alpha, info=info)
