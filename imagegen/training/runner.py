"""Running a TrainingRun: the same code inline (``imagegen_train``) and in the training job.

``execute(run_id)`` claims the run, loads the catalogue (through storage, cached), builds the
engine's trainer, resumes from the run's checkpoint if it has one, trains to
``total_steps`` writing progress to the row and checkpoints to storage, then exports the
weights and a sample grid. An enhancement run also publishes its weights as the
``enhance-4x`` style, which is how the "enhance" processor receives them; a segmentation run
publishes its weights as the ``cutout`` style (segmentation.py), which the product masks use.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.db.models import Q
from django.utils import timezone

from ..conf import conf
from ..storage import variant_storage
from .models import TrainingRun

logger = logging.getLogger(__name__)

__all__ = ["make_config", "create_run", "execute", "load_trainer", "publish_enhance_style", "ENHANCE_STYLE", "RunBusy"]

ENHANCE_STYLE = "enhance-4x"
GAN_DEFAULT_STEPS = 5000
# A running run whose row has not moved for this long is taken to be dead (killed process).
STALE_AFTER = timedelta(minutes=10)

ProgressFn = Callable[[int, int, dict[str, float]], None]


def default_steps(kind: str) -> int:
    """A new run's total steps when none is given: each engine trainer's measured default
    (imported here, not at module level, so the web process need not load torch)."""
    if kind == TrainingRun.Kind.GAN:
        return GAN_DEFAULT_STEPS
    from ..engine.training import backdrop, enhance, segment

    return {TrainingRun.Kind.ENHANCE: enhance, TrainingRun.Kind.SEGMENT: segment, TrainingRun.Kind.BACKDROP: backdrop}[kind].DEFAULT_STEPS


class RunBusy(RuntimeError):
    """The run is being trained by another live process."""


def make_config(kind: str, *, size: int | None = None, batch: int | None = None, seed: int = 0, preset: str = "strong",
                conditional: bool = False, **extra: Any) -> dict[str, Any]:
    """The engine config (validated) as plain data for the row."""
    from ..engine.training.enhance import budget_config
    from ..engine.training.gan import GanConfig

    values = {k: v for k, v in extra.items() if v is not None}
    if batch:
        values["batch"] = batch
    if kind == TrainingRun.Kind.GAN:
        return asdict(GanConfig.from_preset(preset, size=size or 64, seed=seed, conditional=conditional, **values))
    if kind == TrainingRun.Kind.ENHANCE:
        # extra may hold steps (the cosine's length) and adversarial (the "sharper" option)
        return asdict(budget_config(seed=seed, **({"size": size} if size else {}), **values))
    if kind == TrainingRun.Kind.SEGMENT:
        from ..engine.training.segment import SegmentConfig

        return asdict(SegmentConfig(seed=seed, **({"size": size} if size else {}), **values))
    if kind == TrainingRun.Kind.BACKDROP:
        from ..engine.training.backdrop import BackdropConfig

        return asdict(BackdropConfig(seed=seed, **({"crop": size} if size else {}), **values))
    raise ValueError(f"Unknown training kind {kind!r}; use 'gan', 'enhance', 'segment' or 'backdrop'.")


def create_run(kind: str, config: dict[str, Any], *, steps: int, device: str = "auto", holdout: float = 0.2,
               min_side: int | None = None, background: tuple[int, int, int] | None = None,
               backgrounds: str | None = None) -> TrainingRun:
    options = {
        "holdout": holdout,
        "min_side": min_side if min_side is not None else _default_min_side(kind, config),
        "background": list(background or conf.BACKGROUND),
    }
    if backgrounds:
        options["backgrounds"] = backgrounds  # segment, backdrop: folder of background photos
    return TrainingRun.objects.create(
        kind=kind, config=config, seed=config["seed"], total_steps=steps, device=device or "auto", dataset={"options": options}
    )


def _default_min_side(kind: str, config: dict[str, Any]) -> int:
    # An image smaller than the model's resolution would only be upscaled into blur.
    if kind == TrainingRun.Kind.BACKDROP:
        return 128  # a backdrop photo smaller than this has too little texture to learn from
    if kind == TrainingRun.Kind.SEGMENT:
        return 64  # products are scaled to any share of the frame; below 64 px there is no edge left to learn
    return int(config["size"] if kind == TrainingRun.Kind.GAN else config["image_size"] // 2)


def _engine_config(run: TrainingRun):
    from ..engine.training.backdrop import backdrop_config
    from ..engine.training.base import config_from_dict
    from ..engine.training.enhance import enhance_config
    from ..engine.training.gan import GanConfig
    from ..engine.training.segment import SegmentConfig

    # enhancement and backdrop rows saved before a later design get the settings they were made with
    loaders = {
        TrainingRun.Kind.GAN: lambda values: config_from_dict(GanConfig, values),
        TrainingRun.Kind.SEGMENT: lambda values: config_from_dict(SegmentConfig, values),
        TrainingRun.Kind.BACKDROP: backdrop_config,
    }
    return loaders.get(run.kind, enhance_config)(run.config)


def load_data(run: TrainingRun):
    from .catalogue import load_catalogue

    config = _engine_config(run)
    options = run.dataset.get("options", {})
    if run.kind == TrainingRun.Kind.BACKDROP:
        from .backdrops import load_backdrop_photos

        return load_backdrop_photos(folder=options.get("backgrounds"), photo_short=config.photo_short, min_side=int(options.get("min_side", 128)))
    if run.kind == TrainingRun.Kind.SEGMENT:
        from .segmentation import load_segment_catalogue

        return load_segment_catalogue(
            holdout=float(options.get("holdout", 0.2)), min_side=int(options.get("min_side", 64)), backgrounds=options.get("backgrounds")
        )
    size = config.size if run.kind == TrainingRun.Kind.GAN else config.image_size
    return load_catalogue(
        size=size,
        conditional=bool(getattr(config, "conditional", False)),
        holdout=float(options.get("holdout", 0.2)),
        min_side=int(options.get("min_side", _default_min_side(run.kind, run.config))),
        background=tuple(options.get("background", conf.BACKGROUND)),
    )


def load_trainer(run: TrainingRun, data, *, device: str | None = None, checkpoint: bool = True, world=None):
    """The engine trainer for ``run`` on the train split of ``data``, restored from the run's
    checkpoint when it has one; in a process group (``world``, GAN only) on this process's
    device and slice of the batch, behind DistributedDataParallel."""
    from ..engine.training.base import load_checkpoint
    from ..engine.training.enhance import EnhanceTrainer
    from ..engine.training.gan import GanTrainer
    from ..engine.training.segment import SegmentTrainer
    from ..engine.training.backdrop import BackdropTrainer

    cls = {TrainingRun.Kind.GAN: GanTrainer, TrainingRun.Kind.SEGMENT: SegmentTrainer,
           TrainingRun.Kind.BACKDROP: BackdropTrainer}.get(run.kind, EnhanceTrainer)
    device = device or run.device or "auto"
    if world is not None:
        from ..engine.training import distributed

        trainer = cls(_engine_config(run), data.train(), device=distributed.device_for(world, device), shard=world.shard)
    else:
        trainer = cls(_engine_config(run), data.train(), device=device)
    if checkpoint and run.checkpoint:
        with run.checkpoint.open("rb") as stream:
            trainer.load_state_dict(load_checkpoint(stream.read()))
    if world is not None:
        distributed.wrap(trainer)
    return trainer


def _claim(run_id: int) -> TrainingRun:
    now = timezone.now()
    claimable = Q(status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.STOPPED, TrainingRun.Status.FAILED, TrainingRun.Status.DONE])
    dead = Q(status__in=[TrainingRun.Status.RUNNING, TrainingRun.Status.STOPPING], updated_at__lt=now - STALE_AFTER)
    claimed = TrainingRun.objects.filter(claimable | dead, pk=run_id).update(
        status=TrainingRun.Status.RUNNING, error="", started_at=now, finished_at=None, updated_at=now
    )
    run = TrainingRun.objects.get(pk=run_id)
    if not claimed:
        raise RunBusy(f"Training run #{run_id} is {run.status} in another process (last update {run.updated_at:%Y-%m-%d %H:%M:%S}).")
    return run


def _save_file(run: TrainingRun, field: str, filename: str, data: bytes) -> None:
    """Write a new file, point the row at it, then delete the previous one (never a moment
    without a valid checkpoint)."""
    storage = variant_storage()
    old = getattr(run, field).name
    name = storage.save(f"{conf.TRAINING_UPLOAD_TO}/{run.pk}/{filename}", ContentFile(data))
    setattr(run, field, name)
    TrainingRun.objects.filter(pk=run.pk).update(**{field: name, "updated_at": timezone.now()})
    if old and old != name:
        storage.delete(old)


def _png(grid) -> bytes:
    from PIL import Image as PILImage

    array = (grid.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    buf = io.BytesIO()
    PILImage.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def execute(run_id: int, *, progress: ProgressFn | None = None, checkpoint_every: int | None = None, world=None) -> TrainingRun:
    """Train run ``run_id`` to its total steps (resuming from its checkpoint). Any failure is
    recorded on the row (status failed, error) and raised again. ``world``: this process's
    place in a process group (distributed_run.py); only rank 0 writes to the row and storage."""
    run = _claim_in_group(run_id, world)
    try:
        return _train(run, progress, checkpoint_every, world)
    except Exception as exc:
        from ..engine.errors import EngineError

        if world is not None and world.rank != 0:
            raise

        message = str(exc) if isinstance(exc, (EngineError, ValueError)) else f"{type(exc).__name__}: {exc}"
        TrainingRun.objects.filter(pk=run.pk).update(
            status=TrainingRun.Status.FAILED, error=message, finished_at=timezone.now(), updated_at=timezone.now()
        )
        logger.exception("imagegen: training run %s failed", run.pk)
        raise


def _claim_in_group(run_id: int, world) -> TrainingRun:
    """``_claim`` by rank 0 alone; the other ranks learn whether it worked."""
    if world is None:
        return _claim(run_id)
    from ..engine.training import distributed

    run, error = None, None
    if world.rank == 0:
        try:
            run = _claim(run_id)
        except RunBusy as exc:
            error = str(exc)
    error = distributed.broadcast(error)
    if error:
        raise RunBusy(error)
    return run or TrainingRun.objects.get(pk=run_id)


def _train(run: TrainingRun, progress: ProgressFn | None, checkpoint_every: int | None, world=None) -> TrainingRun:
    from ..engine.training import distributed
    from ..engine.training.base import save_checkpoint
    from ..engine.training.loop import run as train_loop

    main = world is None or world.rank == 0
    if not main:  # rank 0 prepares (and caches) the catalogue first; the others read its cache
        distributed.barrier()
    data = load_data(run)
    if main and world is not None:
        distributed.barrier()
    trainer = load_trainer(run, data, world=world)
    split = {"train": len(data.train()), "held_out": len(data.held_out()), "labels": data.label_names}
    if run.kind == TrainingRun.Kind.SEGMENT:
        split["backgrounds"] = data.background_names
        split["background_origin"] = data.background_origin
    if run.kind == TrainingRun.Kind.BACKDROP:
        split["photos"], split["origin"] = data.names, data.origin
    previous = run.dataset.get("train_hashes")
    now_hashes = sorted(data.train().hashes)
    dataset = {
        **run.dataset,
        "report": data.report.as_dict(),
        "summary": data.report.summary(),
        "split": split,
        "train_hashes": previous or now_hashes,
        "changed_since_start": bool(previous and previous != now_hashes),
    }
    if dataset["changed_since_start"] and main:
        logger.warning("imagegen: run %s resumes on a catalogue that changed since it started; losses will differ from an uninterrupted run", run.pk)
    if main:
        device_used = _device_label(trainer) + (f" x{world.size} processes" if world is not None else "")
        TrainingRun.objects.filter(pk=run.pk).update(dataset=dataset, device_used=device_used, updated_at=timezone.now())
    run.dataset = dataset

    start_step, start_seconds = trainer.step, trainer.seconds

    def on_progress(step: int, total: int, losses: dict[str, float]) -> None:
        if not main:
            return
        elapsed = trainer.seconds - start_seconds
        rate = (step - start_step) / elapsed if elapsed > 0 else None
        TrainingRun.objects.filter(pk=run.pk).update(
            step=step, last_losses=losses, history=trainer.history, steps_per_second=rate, updated_at=timezone.now()
        )
        if progress:
            progress(step, total, losses)

    def on_checkpoint(state: dict[str, Any]) -> None:
        if not main:
            return
        _save_file(run, "checkpoint", f"checkpoint-{state['step']}.pt", save_checkpoint(state))
        _save_file(run, "samples", f"samples-{state['step']}.png", _png(trainer.sample_grid()))

    def should_stop() -> bool:
        stop = main and TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.STOPPING).exists()
        return distributed.broadcast(stop) if world is not None else stop  # every rank stops at the same step

    every = checkpoint_every if checkpoint_every is not None else max(100, run.total_steps // 10)
    finished = train_loop(
        trainer,
        run.total_steps,
        on_progress=on_progress,
        progress_every=int(run.config.get("log_every", 10)),
        on_checkpoint=on_checkpoint,
        checkpoint_every=every,
        should_stop=should_stop,
    )
    now = timezone.now()
    if not main:
        return run
    if not finished:
        TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.STOPPED, step=trainer.step, finished_at=now, updated_at=now)
        run.refresh_from_db()
        return run

    buf = io.BytesIO()
    import torch

    torch.save(trainer.export(), buf)
    _save_file(run, "weights", f"weights-{trainer.step}.pt", buf.getvalue())
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRun.Status.DONE, step=trainer.step, history=trainer.history, finished_at=now, updated_at=now
    )
    run.refresh_from_db()
    if run.kind == TrainingRun.Kind.ENHANCE:
        publish_enhance_style(run)
    elif run.kind == TrainingRun.Kind.SEGMENT:
        from .segmentation import publish_cutout_style

        publish_cutout_style(run)
    elif run.kind == TrainingRun.Kind.BACKDROP:
        from .backdrops import publish_backdrop_style

        publish_backdrop_style(run)
    return run


def _device_label(trainer) -> str:
    return f"{trainer.device}{' bf16' if trainer.bf16 else ' fp32'}"


def publish_enhance_style(run: TrainingRun):
    """Make (or update) the ``enhance-4x`` style whose reference file is this run's weights."""
    return publish_weights_style(run, slug=ENHANCE_STYLE, name="Enhance 4x", processor="enhance")


def publish_weights_style(run: TrainingRun, *, slug: str, name: str, processor: str):
    """Make (or update) the style ``slug`` whose reference file is this run's weights, which
    is how its processor receives them; an existing style keeps its name and parameters."""
    from ..models import Style

    with run.weights.open("rb") as stream:
        data = stream.read()
    style, _ = Style.objects.get_or_create(slug=slug, defaults={"name": name, "processor": processor, "parameters": {}})
    style.processor = processor
    style.reference.save(f"{run.kind}-run-{run.pk}.pt", ContentFile(data), save=False)
    style.save()
    return style
