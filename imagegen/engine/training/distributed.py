"""Training on several processes (GPUs, or CPU processes with gloo) with DistributedDataParallel.

The same code serves ``imagegen_train gan --nproc N`` (which spawns N processes itself) and a
launch by ``torchrun --nproc-per-node N manage.py imagegen_train gan ...`` (which sets RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT for each process).

What makes N processes train the same networks as one process with the same global batch:
- every process seeds the trainer's generator alike and draws the random numbers of the
  whole batch (indices, noise, flips, augmentations), then keeps its slice (``shard``);
- DistributedDataParallel averages the gradients of the slices, which is the gradient of the
  mean loss over the whole batch, and starts every process from rank 0's weights;
- the generator's batch norm takes its statistics over the whole batch
  (networks/syncnorm.py); the strong preset's discriminator has no batch norm. The
  baseline's DCGAN discriminator keeps per-process batch norm (the article's network), so a
  baseline run on N processes is close to, not equal to, a one-process run.
Only rank 0 writes checkpoints, progress and database rows (the host's job: ``is_main``).
"""
from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

__all__ = ["World", "from_env", "init", "shutdown", "wrap", "is_main", "barrier", "broadcast", "free_port", "spawn", "device_for"]


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int = 0

    @property
    def shard(self) -> tuple[int, int]:
        return (self.rank, self.size)


def from_env() -> World | None:
    """The world torchrun (or ``spawn``) describes in the environment; None outside one."""
    size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size <= 1:
        return None
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", os.environ["RANK"])))


def device_for(world: World, requested: str | None) -> str:
    """Each process on its own GPU when CUDA is used; "cpu" stays "cpu"."""
    if requested in (None, "", "auto"):
        return f"cuda:{world.local_rank}" if torch.cuda.is_available() else "cpu"
    if requested == "cuda":
        return f"cuda:{world.local_rank}"
    return requested


def init(world: World, device: str) -> None:
    """Join the process group (env:// rendezvous: MASTER_ADDR / MASTER_PORT). gloo on CPU,
    nccl on CUDA."""
    if dist.is_initialized():
        return
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group(backend, rank=world.rank, world_size=world.size)


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def broadcast(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (plain picklable data)."""
    if not dist.is_initialized():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap(trainer: Any) -> Any:
    """Put ``trainer``'s G and D behind DistributedDataParallel (which also copies rank 0's
    weights to every rank). The trainer keeps the bare networks for checkpoints and EMA."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return trainer
    ids = [trainer.device.index] if trainer.device.type == "cuda" else None
    trainer.G_train = DistributedDataParallel(trainer.G, device_ids=ids)
    trainer.D_train = DistributedDataParallel(trainer.D, device_ids=ids)
    if trainer.G_ema is not None:  # the EMA copy starts from rank 0's G like G itself
        for tensor in trainer.G_ema.state_dict().values():
            dist.broadcast(tensor, src=0)
    return trainer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child(rank: int, fn: Callable[..., Any], size: int, port: int, args: tuple) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(size), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    fn(*args)


def spawn(fn: Callable[..., Any], nproc: int, *args: Any) -> None:
    """Run ``fn(*args)`` in ``nproc`` fresh processes (spawn start method) that find their
    rank in the environment as under torchrun; raises if any of them fails."""
    import torch.multiprocessing as mp

    mp.spawn(_child, args=(fn, nproc, free_port(), args), nprocs=nproc, join=True)
