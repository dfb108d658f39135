"""A GAN training run on several processes: ``imagegen_train gan --nproc N`` spawns them, or
``torchrun --nproc-per-node N manage.py imagegen_train gan ...`` starts them; either way each
process runs ``execute_in_group`` (engine/training/distributed.py says why N processes
train the same networks as one). Rank 0 alone claims the run and writes progress,
checkpoints, samples and weights; the others only train.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import TrainingRun

# No Django model at import time: a spawned process imports this module to find ``_child``
# before it has set Django up.

__all__ = ["spawn_run", "execute_in_group", "create_in_group"]


def _threads_per_process(world_size: int) -> int:
    return max(1, (os.cpu_count() or 1) // world_size)


def execute_in_group(run_id: int, world, *, progress: Any = None, checkpoint_every: int | None = None) -> TrainingRun:
    """Join the process group and train run ``run_id`` (every rank calls this)."""
    import torch

    from ..engine.training import distributed
    from .models import TrainingRun
    from .runner import execute

    run = TrainingRun.objects.get(pk=run_id)
    if run.kind != TrainingRun.Kind.GAN:
        raise ValueError(f"--nproc trains GAN runs only; run #{run.pk} is {run.kind}.")
    device = distributed.device_for(world, run.device)
    if device == "cpu":  # N processes share the cores rather than each taking all of them
        torch.set_num_threads(_threads_per_process(world.size))
    distributed.init(world, device)
    try:
        return execute(run_id, progress=progress if world.rank == 0 else None, checkpoint_every=checkpoint_every, world=world)
    finally:
        distributed.shutdown()


def create_in_group(world, create, device: str | None) -> TrainingRun:
    """Under torchrun every process runs the command: rank 0 makes (or picks) the run with
    ``create()`` and tells the others its id (or its error, so none waits forever)."""
    from ..engine.training import distributed
    from .models import TrainingRun

    distributed.init(world, distributed.device_for(world, device))
    run_id, error = None, None
    if world.rank == 0:
        try:
            run_id = create().pk
        except Exception as exc:
            distributed.broadcast((None, str(exc)))
            distributed.shutdown()
            raise
    run_id, error = distributed.broadcast((run_id, error))
    if error:
        distributed.shutdown()
        raise ValueError(f"rank 0 could not create the run: {error}")
    return TrainingRun.objects.get(pk=run_id)


def _child(run_id: int, checkpoint_every: int | None, show_progress: bool) -> None:
    # A spawned process starts bare: set Django up from the inherited environment.
    import django

    django.setup()
    from ..engine.training import distributed
    from .models import TrainingRun

    world = distributed.from_env()
    progress = None
    if show_progress and world.rank == 0:
        import sys

        from .progress import ProgressBar

        run = TrainingRun.objects.get(pk=run_id)
        progress = ProgressBar(sys.stdout, run.total_steps, start=run.step)
    execute_in_group(run_id, world, progress=progress, checkpoint_every=checkpoint_every)


def spawn_run(run_id: int, nproc: int, *, checkpoint_every: int | None = None, show_progress: bool = True) -> TrainingRun:
    """Train run ``run_id`` on ``nproc`` spawned processes of this machine; returns the row."""
    from ..engine.training import distributed
    from .models import TrainingRun

    distributed.spawn(_child, nproc, run_id, checkpoint_every, show_progress)
    return TrainingRun.objects.get(pk=run_id)
