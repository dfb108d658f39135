"""The Django side of segmentation fine-tuning (``imagegen_train segment``): which photos and
backgrounds it trains on, publishing the weights as the ``cutout`` style, and its figures.

- Products: every registered source image with real transparency (the alpha is the answer);
  the others are listed in the run's dataset report as "without transparency".
- Backgrounds, first found: the run's ``--backgrounds DIR``, ``IMAGEGEN["SEGMENT_BACKGROUNDS"]``,
  the reference images of the ``look`` and ``background`` styles; none: procedural only.
- A finished run's weights become the reference file of the Style ``cutout`` (processor
  ``cutout``); the worker's product masks then use them (product_masks.segmenter_weights).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.utils.html import format_html, format_html_join

from ..conf import conf
from ..product_styles import CUTOUT
from ..registry import registry
from .models import TrainingRun

logger = logging.getLogger(__name__)

__all__ = [
    "load_segment_catalogue", "collect_backgrounds", "use_backgrounds", "publish_cutout_style", "evaluate_segment",
    "format_segment_table", "segment_figures_html", "segment_headline",
]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}
REFERENCE_PROCESSORS = ("look", "background")  # styles whose reference file is a photo of a scene


def collect_backgrounds(folder: str | None = None) -> tuple[list[tuple[str, bytes]], str]:
    """(name, bytes) background photos and where they came from (for the dataset report)."""
    folder = folder or conf.SEGMENT_BACKGROUNDS
    if folder:
        path = Path(folder)
        if not path.is_dir():
            raise ValueError(f"The segmentation backgrounds folder {str(path)!r} does not exist (--backgrounds or IMAGEGEN['SEGMENT_BACKGROUNDS']).")
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return [(p.stem, p.read_bytes()) for p in files], f"folder {path}"
    from ..models import Style

    found = []
    for style in Style.objects.filter(processor__in=REFERENCE_PROCESSORS).exclude(reference="").order_by("slug"):
        try:
            with style.reference.open("rb") as stream:
                found.append((f"style:{style.slug}", stream.read()))
        except OSError as exc:
            logger.warning("imagegen training: cannot read the reference of style %s (%s)", style.slug, exc)
    if found:
        return found, "reference images of the look/background styles"
    return [], "procedural only (no background photos: set IMAGEGEN['SEGMENT_BACKGROUNDS'] or pass --backgrounds DIR)"


def load_segment_catalogue(*, holdout: float, min_side: int, backgrounds: str | None = None):
    """SegmentData: the transparent products of the registered sources, and the backgrounds."""
    from ..engine.training.segment_data import prepare_segment
    from .catalogue import collect

    missing: list[tuple[str, str]] = []
    try:
        data = prepare_segment(collect(None, missing), holdout=holdout, min_side=min_side)
    except ValueError as exc:
        sources = ", ".join(s.id for s in registry.sources()) or "none registered"
        raise ValueError(
            f"{exc} Upload transparent PNG/WebP product photos to a registered source ({sources}); "
            "an opaque JPEG cannot teach the network where the product ends."
        ) from exc
    data.report.corrupt.extend(missing)
    data.report.collected += len(missing)
    use_backgrounds(data, backgrounds)
    return data


def use_backgrounds(data, folder: str | None) -> None:
    """Set ``data``'s background photos from ``folder`` (or the settings, see collect_backgrounds)."""
    from ..engine.training.segment_data import prepare_backgrounds

    photos, origin = collect_backgrounds(folder)
    data.backgrounds, data.background_names = prepare_backgrounds(photos)
    data.background_origin = origin


def publish_cutout_style(run: TrainingRun):
    """Make (or update) the ``cutout`` style whose reference file is this run's weights; its
    other fields (name, parameters, storefront flags) are kept."""
    from .runner import publish_weights_style

    return publish_weights_style(run, slug=CUTOUT, name="Cut-out", processor=CUTOUT)


def evaluate_segment(trainer, data, *, device: str | None = None) -> dict[str, Any]:
    from ..engine.training.segment import builtin_segmenter
    from ..engine.training.segment_eval import evaluate_segmenters

    figures = evaluate_segmenters({"builtin": builtin_segmenter(), "finetuned": trainer.net}, data.held_out(), device=trainer.device)
    return {**figures, "background_origin": data.background_origin}


def _rows(figures: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    rows = []
    for kind in ("white", "photo", "procedural"):
        for name in ("builtin", "finetuned"):
            m = figures.get(name, {}).get(kind)
            if m:
                rows.append((kind, name, f"{m['iou']:.3f}", f"{m['iou_min']:.3f}", f"{m['mae']:.4f}", str(m["images"])))
    return rows


def format_segment_table(figures: dict[str, Any]) -> str:
    head = f"{'background':<12}{'network':<11}{'IoU':>7}{'min IoU':>9}{'alpha MAE':>11}{'images':>8}"
    lines = [
        f"Segmentation on {figures['held_out_images']} held-out products, composited at {figures['eval_size']} px "
        f"(seed {figures['eval_seed']}) on white and on {', '.join(figures['backgrounds'])}; IoU at mask > 0.5",
        head,
        "-" * len(head),
    ]
    lines += [f"{k:<12}{n:<11}{iou:>7}{low:>9}{mae:>11}{count:>8}" for k, n, iou, low, mae, count in _rows(figures)]
    return "\n".join(lines)


def segment_figures_html(m: dict[str, Any]) -> str:
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", _rows(m))
    return format_html(
        "<table><tr><th>background</th><th>network</th><th>IoU</th><th>min IoU</th><th>alpha MAE</th><th>images</th></tr>{}</table>"
        "<small>{} held-out products on white and on {}; IoU at mask &gt; 0.5, step {}</small>",
        rows, m.get("held_out_images"), ", ".join(m.get("backgrounds", [])), m.get("step"),
    )


def segment_headline(m: dict[str, Any]) -> str:
    kind = "photo" if "photo" in m.get("finetuned", {}) else "procedural"
    try:
        return f"IoU on {kind}s {m['finetuned'][kind]['iou']:.3f} (built-in {m['builtin'][kind]['iou']:.3f})"
    except KeyError:
        return "—"
