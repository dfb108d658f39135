"""What every trainer shares: device and precision, its random generator, loss history, and
checkpoints that resume exactly.

Exact resume: every random draw of a training step (batch indices, augmentations, noise,
degradations) comes from ``self.rng``, a CPU ``torch.Generator`` seeded from the config.
A checkpoint holds the networks, the optimisers' state (Adam's moments), the EMA weights,
that generator's state and torch's global CPU/CUDA generator states, the step and the
history, so training k steps, saving, loading and training n - k more gives the same losses
as n steps in one go (on the same device, torch version and thread count).
"""
from __future__ import annotations

import io
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, fields
from typing import Any, ClassVar

import torch

from ..errors import EngineError
from ..runtime import get_device, parse_device
from .data import CatalogueData

__all__ = ["Trainer", "resolve_device", "save_checkpoint", "load_checkpoint", "config_from_dict", "update_ema"]

CHECKPOINT_FORMAT = 1


def resolve_device(name: str | None = None) -> tuple[torch.device, bool]:
    """(device, use_bf16): "auto"/None picks CUDA when present, with bf16 autocast where the
    GPU supports it; CPU runs in float32."""
    if not name or name == "auto":
        device = get_device()
    else:
        device = parse_device(name, f"--device {name!r}")
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return device, bf16


def config_from_dict(cls: type, values: dict[str, Any]) -> Any:
    """A config dataclass from a dict, ignoring keys it does not know (older checkpoints)."""
    known = {f.name for f in fields(cls)}
    return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in known})


class Trainer(ABC):
    kind: ClassVar[str] = ""

    def __init__(self, config: Any, data: CatalogueData, *, device: str | None = None) -> None:
        self.config = config
        self.data = data
        self.device, self.bf16 = resolve_device(device)
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.seconds = 0.0  # training time so far, across resumes
        self._window: list[dict[str, float]] = []
        # Networks are built under a fixed global seed, then all training draws use self.rng.
        torch.manual_seed(config.seed)
        self.rng = torch.Generator().manual_seed(config.seed)

    # --- to implement -------------------------------------------------------------------
    @abstractmethod
    def _train_step(self) -> dict[str, float]: ...

    @abstractmethod
    def _modules(self) -> dict[str, Any]:
        """Name -> object with state_dict()/load_state_dict() (networks, optimisers, EMA)."""

    @abstractmethod
    def sample_grid(self) -> torch.Tensor:
        """(3, H, W) 0..1: a picture of what the model does now (fixed inputs)."""

    @abstractmethod
    def export(self) -> dict[str, Any]:
        """What inference needs (no optimiser state): saved as the run's weights file."""

    # --- shared -------------------------------------------------------------------------
    def autocast(self):
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def train_step(self) -> dict[str, float]:
        t0 = time.perf_counter()
        losses = self._train_step()
        self.seconds += time.perf_counter() - t0
        self.step += 1
        self._window.append(losses)
        if self.step % self.config.log_every == 0:
            entry = {"step": self.step}
            for key in losses:
                entry[key] = sum(w[key] for w in self._window) / len(self._window)
            self.history.append(entry)
            self._window = []
        return losses

    def state_dict(self) -> dict[str, Any]:
        state = {
            "format": CHECKPOINT_FORMAT,
            "kind": self.kind,
            "config": asdict(self.config),
            "step": self.step,
            "seconds": self.seconds,
            "history": self.history,
            "window": self._window,
            "rng": self.rng.get_state(),
            "torch_rng": torch.get_rng_state(),
            "label_names": self.data.label_names,
            "modules": {name: module.state_dict() for name, module in self._modules().items()},
        }
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != self.kind:
            raise EngineError(f"This checkpoint is for a {state.get('kind')!r} model, not {self.kind!r}.")
        if state.get("label_names") != self.data.label_names:
            raise EngineError(
                "The checkpoint was trained on other categories "
                f"({state.get('label_names')}) than the catalogue has now ({self.data.label_names}); start a new run."
            )
        for name, module in self._modules().items():
            module.load_state_dict(state["modules"][name])
        self.step = int(state["step"])
        self.seconds = float(state.get("seconds", 0.0))
        self.history = list(state["history"])
        self._window = list(state.get("window", []))
        self.rng.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def batch_indices(self, n: int) -> torch.Tensor:
        return torch.randint(len(self.data), (n,), generator=self.rng)


@torch.no_grad()
def update_ema(ema: torch.nn.Module, net: torch.nn.Module, decay: float, step: int) -> None:
    """Move ``ema``'s weights towards ``net``'s (exponential moving average of G); its buffers
    (batch norm statistics) are copied. Warm-up: early weights fade fast."""
    decay = min(decay, (1 + step) / (10 + step))
    for p_ema, p in zip(ema.parameters(), net.parameters()):
        p_ema.lerp_(p, 1 - decay)
    for b_ema, b in zip(ema.buffers(), net.buffers()):
        b_ema.copy_(b)


def save_checkpoint(state: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def load_checkpoint(data: bytes) -> dict[str, Any]:
    """Checkpoint bytes -> state dict. Only tensors and plain data are accepted (torch's
    weights_only loader): a checkpoint file cannot run code."""
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "not a usable checkpoint"
        raise EngineError(f"The checkpoint file is not readable ({type(exc).__name__}: {exc}).") from exc
