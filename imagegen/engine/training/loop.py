"""The training loop: steps, progress callbacks and periodic checkpoints.

The loop knows nothing about where checkpoints go (Django storage, a folder); it calls
``on_checkpoint(state)`` and ``on_progress(step, total, losses)`` and lets the host decide.
``should_stop()`` lets a host end a run early (cancelled from the admin): the loop then saves
a checkpoint, so the run can be resumed later.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import EngineError
from .base import Trainer

__all__ = ["run", "NonFiniteLoss"]


class NonFiniteLoss(EngineError):
    """A loss became NaN or infinite: the run diverged."""


def run(
    trainer: Trainer,
    total_steps: int,
    *,
    on_progress: Callable[[int, int, dict[str, float]], None] | None = None,
    progress_every: int = 10,
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
    checkpoint_every: int = 0,
    should_stop: Callable[[], bool] | None = None,
) -> bool:
    """Train until ``trainer.step == total_steps``. Returns False if stopped early."""
    while trainer.step < total_steps:
        losses = trainer.train_step()
        bad = [k for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            raise NonFiniteLoss(
                f"Training diverged at step {trainer.step}: {', '.join(bad)} is not finite. "
                "Resume from the last checkpoint with a lower learning rate, or use the 'strong' preset."
            )
        last = trainer.step == total_steps
        if on_progress and (trainer.step % progress_every == 0 or last):
            on_progress(trainer.step, total_steps, losses)
        stopping = not last and should_stop is not None and trainer.step % progress_every == 0 and should_stop()
        if on_checkpoint and (last or stopping or (checkpoint_every and trainer.step % checkpoint_every == 0)):
            on_checkpoint(trainer.state_dict())
        if stopping:
            return False
    return True
