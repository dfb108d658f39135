"""The Django side of the backdrop GAN (``imagegen_train backdrop``): which photos it trains on,
publishing the generator as the ``generated-backdrop`` style, and its figures.

- Photos, first found: the run's ``--from-folder DIR`` (or ``--backgrounds DIR``),
  ``IMAGEGEN["SEGMENT_BACKGROUNDS"]``, the reference photos of the ``look`` and ``background``
  styles (segmentation.collect_backgrounds; the published generator itself is skipped).
- A finished run's weights become the reference file of the Style ``generated-backdrop``
  (processor ``background``): the processor recognises a generator and generates a backdrop
  for every product instead of cover-cropping a photo.
"""
from __future__ import annotations

from typing import Any

from django.utils.html import format_html, format_html_join

from .models import TrainingRun

__all__ = [
    "BACKDROP_STYLE", "load_backdrop_photos", "publish_backdrop_style", "evaluate_backdrop", "format_backdrop_table",
    "backdrop_figures_html", "backdrop_headline",
]

BACKDROP_STYLE = "generated-backdrop"


def load_backdrop_photos(*, folder: str | None, photo_short: int, min_side: int):
    """BackdropData from the folder (or the settings / styles' photos), with where they came from."""
    from ..engine.training.backdrop import is_backdrop_export, prepare_backdrops
    from .segmentation import collect_backgrounds

    photos, origin = collect_backgrounds(folder)
    photos = [(name, data) for name, data in photos if not is_backdrop_export(data)]  # a generator is no photo
    if not photos:
        raise ValueError(
            "No backdrop photos: pass --from-folder DIR (a folder of studio sweeps, marble, wood, fabric or room photos), "
            "set IMAGEGEN['SEGMENT_BACKGROUNDS'], or give a 'background' style a reference photo."
        )
    data = prepare_backdrops(photos, photo_short=photo_short, min_side=min_side)
    data.origin = origin
    return data


def publish_backdrop_style(run: TrainingRun):
    """Make (or update) the ``generated-backdrop`` style whose reference file is this run's
    generator; a new style gets the product-on-a-scene parameters, an existing one keeps its own."""
    from ..engine.training.backdrop import STYLE_PARAMS
    from .runner import publish_weights_style

    style = publish_weights_style(run, slug=BACKDROP_STYLE, name="Generated backdrop", processor="background")
    if not style.parameters:
        style.parameters = dict(STYLE_PARAMS)
        style.save()
    return style


def evaluate_backdrop(trainer, data, *, samples: int = 256) -> dict[str, Any]:
    from ..engine.training.backdrop_eval import evaluate_backdrops, generator_sampler

    figures = evaluate_backdrops(generator_sampler(trainer.G_ema, trainer.config), data, trainer.config, samples=samples)
    return {**figures, "origin": data.origin}


_ROWS = (
    ("nearest_crop_median", "Nearest training crop, median (1 = unrelated)"),
    ("copy_level_median", "A real crop off the grid (copy level), median"),
    ("memorisation_threshold", "Memorisation threshold"),
    ("memorised_share", "Share closer than the threshold"),
    ("flat_share", "Share of flat samples"),
    ("diversity", "Diversity within a look"),
    ("diversity_real", "Diversity of real crops"),
    ("kid", "KID (samples vs real crops)"),
    ("kid_real_floor", "KID floor (real vs real)"),
)


def _rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    return [(label, f"{m[key]:.4f}") for key, label in _ROWS if isinstance(m.get(key), (int, float))]


def format_backdrop_table(figures: dict[str, Any]) -> str:
    rows = _rows(figures) + [("Flagged as memorised", "yes" if figures.get("memorised") else "no")]
    width = max(len(name) for name, _ in rows)
    lines = [
        f"Backdrop GAN: {figures['generated']} samples of {figures['crop']} px over {len(figures['looks'])} looks "
        f"({', '.join(figures['looks'])}); memorisation in {figures['memorisation_space']} against "
        f"{figures['reference_crops']} training crops; KID in {figures['embedding']} (not FID)",
    ]
    lines += [f"{name:<{width}}  {value:>10}" for name, value in rows]
    return "\n".join(lines)


def backdrop_figures_html(m: dict[str, Any]) -> str:
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", _rows(m))
    return format_html(
        "<table>{}<tr><td>Flagged as memorised</td><td>{}</td></tr></table>"
        "<small>{} samples of {} px against {} training crops; embedding {} (random-weight CNN; not FID); step {}</small>",
        rows, "yes" if m.get("memorised") else "no", m.get("generated"), m.get("crop"), m.get("reference_crops"),
        m.get("embedding"), m.get("step"),
    )


def backdrop_headline(m: dict[str, Any]) -> str:
    try:
        flag = "MEMORISED" if m["memorised"] else "novel"
        return f"{flag}: nearest crop {m['nearest_crop_median']:.2f} (copy {m['copy_level_median']:.2f}), KID {m['kid']:.4f}"
    except KeyError:
        return "—"
