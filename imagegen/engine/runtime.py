"""Where the engine runs. torch's thread settings are left alone on purpose: the host
(worker process, tests) decides how many CPU threads to use."""

from __future__ import annotations

import os

import torch

from .errors import EngineError

__all__ = ["get_device"]

ENV_DEVICE = "IMAGEGEN_DEVICE"


def get_device() -> torch.device:
    """CUDA if available, else CPU; the IMAGEGEN_DEVICE environment variable overrides
    (e.g. "cpu", "cuda", "cuda:1")."""
    wanted = os.environ.get(ENV_DEVICE, "").strip()
    if not wanted:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return parse_device(wanted, f"{ENV_DEVICE}={wanted!r}")


def parse_device(name: str, asked: str) -> torch.device:
    """The torch device ``name`` names, refusing CUDA where there is none; ``asked`` says
    where the name came from, for the message."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise EngineError(f"{asked} is not a valid torch device; use 'cpu' or 'cuda'.") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EngineError(f"{asked} asks for CUDA but this machine has no usable CUDA GPU; use 'cpu'.")
    return device
