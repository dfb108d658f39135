"""Evaluating a segmenter on the held-out products: IoU and alpha MAE, built-in vs fine-tuned.

Each held-out product is composited, deterministically (a fixed seed, whatever the run's),
on white (centred, filling 80% of the frame) and on every background photo (the whole photo,
the product filling ``photo_fill`` of it at a seeded position, no other augmentation); with no
photos, on the five procedural background styles instead. Both networks then see exactly
what production gives them: ``engine.segment.probability`` (the photo squashed to 320 px) and
``refine`` (the colour guided filter back to the composite's size).

Figures per background kind and network:
- ``iou``: intersection over union of mask > 0.5 and alpha > 0.5, per image, then the mean
  (and the minimum: the worst photo is what a shop notices);
- ``mae``: mean absolute difference between the soft mask and the alpha, 0..1.
"""
from __future__ import annotations

from typing import Any

import torch

from .segment_data import SegmentData, compose

__all__ = ["mask_figures", "evaluation_pairs", "evaluate_segmenters", "EVAL_SEED"]

EVAL_SEED = 4321
EVAL_SIZE = 480  # composites are made at this side; the network sees them at 320 px


def mask_figures(pred: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """IoU of the two masks thresholded at 0.5 (1.0 when both are empty) and the mean
    absolute difference of the soft masks."""
    p, t = pred.float() > 0.5, truth.float() > 0.5
    union = int((p | t).sum())
    iou = 1.0 if union == 0 else int((p & t).sum()) / union
    return {"iou": iou, "mae": float((pred.float() - truth.float()).abs().mean())}


def _params(background: dict[str, Any], scale: float, x: float, y: float) -> dict[str, Any]:
    return {
        "background": background, "bg_jitter": (1.0, 1.0, 1.0), "fg_jitter": (1.0, 1.0, 1.0), "scale": scale,
        "x": x, "y": y, "flip": False, "shadow": "none", "shadow_strength": 0.0, "shadow_offset": (0.0, 0.0),
        "blur": 0.0, "jpeg": 0, "noise": 0.0,
    }


def evaluation_pairs(data: SegmentData, *, size: int = EVAL_SIZE, photo_fill: float = 0.85, seed: int = EVAL_SEED) -> list[dict[str, Any]]:
    """The fixed compositions: dicts with key, background (name), kind (white / photo /
    procedural), rgb (3, S, S) and mask (1, S, S)."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for product, key in zip(data.products, data.keys):
        rgb, mask = compose(product, _params({"kind": "plain", "level": 1.0}, 0.8, 0.5, 0.5), [], size)
        pairs.append({"key": key, "background": "white", "kind": "white", "rgb": rgb, "mask": mask})
        if data.backgrounds:
            for index, name in enumerate(data.background_names):
                x, y = (float(v) for v in torch.rand(2, generator=g))
                p = _params({"kind": "photo", "index": index, "zoom": 1.0, "x": 0.5, "y": 0.5}, photo_fill, x, y)
                rgb, mask = compose(product, p, data.backgrounds, size)
                pairs.append({"key": key, "background": name, "kind": "photo", "rgb": rgb, "mask": mask})
        else:
            for style in range(5):
                x, y = (float(v) for v in torch.rand(2, generator=g))
                p = _params({"kind": "procedural", "style": style, "seed": seed + style}, photo_fill, x, y)
                rgb, mask = compose(product, p, [], size)
                pairs.append({"key": key, "background": f"procedural-{style}", "kind": "procedural", "rgb": rgb, "mask": mask})
    return pairs


@torch.no_grad()
def _masks(net: torch.nn.Module, pairs: list[dict[str, Any]], device: torch.device) -> list[torch.Tensor]:
    from ..segment import probability, refine

    net.eval()
    out = []
    for pair in pairs:
        rgb = pair["rgb"].to(device)
        out.append(refine(probability(net, rgb[None]), rgb).cpu())
    return out


def _summary(rows: list[dict[str, float]]) -> dict[str, float]:
    ious = [r["iou"] for r in rows]
    return {
        "iou": sum(ious) / len(ious),
        "iou_min": min(ious),
        "mae": sum(r["mae"] for r in rows) / len(rows),
        "images": len(rows),
    }


def evaluate_segmenters(nets: dict[str, torch.nn.Module], data: SegmentData, *, device: torch.device | str = "cpu",
                        size: int = EVAL_SIZE) -> dict[str, Any]:
    """``data``: the held-out products (and the background photos). ``nets``: name -> network
    (e.g. {"builtin": ..., "finetuned": ...}). Returns {name: {kind: summary}}, per-background
    IoU means, and the counts."""
    if len(data) == 0:
        raise ValueError("No held-out products to evaluate on; add transparent product photos or raise the hold-out share.")
    device = torch.device(device)
    pairs = evaluation_pairs(data, size=size)
    figures: dict[str, Any] = {"held_out_images": len(data), "eval_size": size, "eval_seed": EVAL_SEED,
                               "backgrounds": data.background_names or ["procedural"]}
    for name, net in nets.items():
        masks = _masks(net.to(device), pairs, device)
        rows = [{**mask_figures(m, p["mask"]), "kind": p["kind"], "background": p["background"]} for m, p in zip(masks, pairs)]
        result: dict[str, Any] = {}
        for kind in ("white", "photo", "procedural"):
            chosen = [r for r in rows if r["kind"] == kind]
            if chosen:
                result[kind] = _summary(chosen)
        per_background: dict[str, float] = {}
        for background in dict.fromkeys(r["background"] for r in rows):
            chosen = [r["iou"] for r in rows if r["background"] == background]
            per_background[background] = sum(chosen) / len(chosen)
        result["per_background_iou"] = per_background
        figures[name] = result
    return figures
