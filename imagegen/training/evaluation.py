"""Evaluating a finished run on the held-out split and recording the figures on the row."""
from __future__ import annotations

from typing import Any

from django.utils import timezone

from ..conf import conf
from .models import TrainingRun
from .runner import load_data, load_trainer

__all__ = ["evaluate_run", "latest_evaluable", "format_table", "KID_KEYS", "kid_note"]

KID_KEYS = ("kid", "kid_real_floor", "kid_train")


def kid_note(figures: dict[str, Any]) -> str:
    """A sentence for a negative KID, or "" when every KID shown is >= 0."""
    negative = [key for key in KID_KEYS if isinstance(figures.get(key), (int, float)) and figures[key] < 0]
    if not negative:
        return ""
    # the estimator drops the kernel's diagonal terms to be unbiased; that makes it scatter around
    # the true distance, and below 0 when two sets are as alike as their sample sizes can show
    return (
        "* KID is an unbiased estimate: for two sets as alike as their sample sizes can show, it scatters "
        "around 0 and can be slightly negative; read it as 0 (no measurable difference)."
    )


def latest_evaluable(kind: str) -> TrainingRun:
    run = TrainingRun.objects.filter(kind=kind).exclude(checkpoint="").order_by("-created_at", "-id").first()
    if run is None:
        raise LookupError(f"No {kind} training run with a checkpoint; run `python manage.py imagegen_train {kind}` first.")
    return run


def evaluate_run(run: TrainingRun, *, samples: int = 256, device: str | None = None, backgrounds: str | None = None) -> dict[str, Any]:
    """Figures on the held-out split, saved on the run. ``backgrounds``: segment runs only, a
    folder of photos to evaluate on instead of the run's own (photos it never saw)."""
    from ..engine.training.evaluate import evaluate_enhance, evaluate_gan

    if not run.checkpoint:
        raise ValueError(f"Training run #{run.pk} has no checkpoint yet.")
    data = load_data(run)
    trainer = load_trainer(run, data, device=device)
    if run.kind == TrainingRun.Kind.SEGMENT:
        from .segmentation import evaluate_segment, use_backgrounds

        if backgrounds:
            use_backgrounds(data, backgrounds)

        figures = evaluate_segment(trainer, data)
    elif run.kind == TrainingRun.Kind.BACKDROP:
        from .backdrops import evaluate_backdrop

        figures = evaluate_backdrop(trainer, data, samples=samples)
    elif run.kind == TrainingRun.Kind.GAN:
        figures = evaluate_gan(trainer, data, samples=samples, memorisation_threshold=conf.MEMORISATION_THRESHOLD)
    else:
        figures = evaluate_enhance(trainer, data)
    figures = {**figures, "step": trainer.step, "evaluated_at": timezone.now().isoformat(timespec="seconds")}
    TrainingRun.objects.filter(pk=run.pk).update(metrics=figures, updated_at=timezone.now())
    run.metrics = figures
    return figures


def _degradation(d: dict[str, Any]) -> str:
    """How the held-out inputs were made (older runs blurred and JPEG-compressed them too)."""
    text = f"{d.get('scale', 4)}x antialiased bicubic reduction, 8-bit"
    if d.get("sigma"):
        text += f", blur sigma {d['sigma']}"
    if d.get("quality"):
        text += f", JPEG q{d['quality']}"
    return text


def format_table(kind: str, figures: dict[str, Any]) -> str:
    """The figures as a plain-text table for the terminal."""
    if kind == TrainingRun.Kind.SEGMENT:
        from .segmentation import format_segment_table

        return format_segment_table(figures)
    if kind == TrainingRun.Kind.BACKDROP:
        from .backdrops import format_backdrop_table

        return format_backdrop_table(figures)
    if kind == TrainingRun.Kind.ENHANCE:
        head = f"{'method':<10}{'PSNR-Y dB':>11}{'SSIM-Y':>9}{'PSNR-RGB dB':>13}{'SSIM-RGB':>10}"
        lines = [
            f"4x enhancement on {figures['held_out_images']} held-out images ({figures['image_size']} px; "
            f"{_degradation(figures['degradation'])}; "
            f"data range {figures['data_range']}, {figures['border']} px border shaved)",
            head,
            "-" * len(head),
        ]
        for method in ("gan", "bicubic", "lanczos"):
            m = figures[method]
            lines.append(f"{'network' if method == 'gan' else method:<10}{m['psnr_y']:>11.2f}{m['ssim_y']:>9.4f}{m['psnr_rgb']:>13.2f}{m['ssim_rgb']:>10.4f}")
        return "\n".join(lines)
    def kid(key: str) -> str:
        return f"{figures[key]:.4f}" + ("*" if figures[key] < 0 else "")

    rows = [
        ("KID (held-out vs generated)", kid("kid")),
        ("KID floor (held-out vs train)", kid("kid_real_floor")),
        ("KID (train vs generated)", kid("kid_train")),
        ("Frechet distance", f"{figures['frechet']:.2f}"),
        ("Sliced Wasserstein", f"{figures['swd']:.4f}"),
        (f"Precision (k={figures['pr_k']})", f"{figures['precision']:.3f}"),
        (f"Recall (k={figures['pr_k']})", f"{figures['recall']:.3f}"),
        ("D accuracy, held-out real vs generated", f"{figures['d_accuracy_held_out']:.3f}"),
        ("D accuracy, train real vs generated", f"{figures['d_accuracy_train']:.3f}"),
        ("Nearest training image, min", f"{figures['nearest_train_min']:.4f}"),
        ("Nearest training image, median", f"{figures['nearest_train_median']:.4f}"),
        (f"Share closer than {figures['memorisation_threshold']}", f"{figures['memorised_share']:.3f}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [
        f"GAN on {figures['held_out_images']} held-out / {figures['train_images']} train images, "
        f"{figures['generated']} generated; embedding {figures['embedding']} (not FID: no Inception weights); "
        f"memorisation in {figures['memorisation_space']}",
    ]
    lines += [f"{name:<{width}}  {value:>10}" for name, value in rows]
    note = kid_note(figures)
    return "\n".join(lines + [note] if note else lines)
