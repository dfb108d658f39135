"""onnxruntime as the CPU execution backend of the networks a worker runs.

Why (docs/benchmarks.md, "Networks on CPU"): on CPUs, onnxruntime runs the pretrained
networks' own ONNX files 1.2x-7x faster than the torch ports in eager mode (its int8 kernels
for the int8 style networks, graph fusions for the rest), and torch only caught up on one
network after a 23-36 s torch.compile per input size in every worker process. So on a CPU,
by default, every network runs in onnxruntime:

- the pretrained ones (style networks, the built-in U²-Net-p) on the package's ONNX file
  itself (input sizes made dynamic where the file fixes them);
- the ones trained here (the fine-tuned segmenter) exported from their torch module once per
  weights, torch version and opset, and cached on disk (IMAGEGEN_ONNX_CACHE, default
  ``~/.cache/imagegen/onnx``) so every worker on the host finds the file instead of exporting
  again.

Except where the torch module measured faster on CPUs (TORCH_FASTER_ON_CPU: the enhancer);
IMAGEGEN_CPU_BACKEND=onnxruntime runs those exported too.

The torch modules stay what runs on GPUs (bf16, batches) and in training, and on a CPU where
onnxruntime cannot help: bf16 autocast asked for (IMAGEGEN_PRECISION=bf16), networks asked to
be compiled (IMAGEGEN_COMPILE), and the style networks' tiles (statistics shared between tiles
need the port). IMAGEGEN_CPU_BACKEND: "auto" (default, as above), "torch" (the ports
everywhere), "onnxruntime" (onnxruntime for every network it can run, an error when it is
missing).

Both backends pass the same fidelity tests (tests/unit/test_engine_onnx_backend.py).
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import EngineError

__all__ = [
    "ENV_BACKEND",
    "ENV_CACHE",
    "BACKENDS",
    "OPSET",
    "backend_setting",
    "available",
    "backend_for",
    "TORCH_FASTER_ON_CPU",
    "make_session",
    "OrtNetwork",
    "as_array",
    "ExportedNetwork",
    "export_onnx",
    "cache_dir",
]

ENV_BACKEND = "IMAGEGEN_CPU_BACKEND"
ENV_CACHE = "IMAGEGEN_ONNX_CACHE"
BACKENDS = ("auto", "torch", "onnxruntime")
OPSET = 17


def backend_setting(env: str = ENV_BACKEND) -> str:
    """The environment's choice, checked: one of BACKENDS."""
    choice = os.environ.get(env, "auto").strip().lower() or "auto"
    if choice not in BACKENDS:
        raise EngineError(f"{env}={choice!r}: use one of {', '.join(BACKENDS)}.")
    return choice


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


# Networks whose torch module measured faster than onnxruntime on CPUs (docs/benchmarks.md,
# "Networks on CPU"): "auto" keeps torch for them. The enhancer: 1.45x-1.71x onnxruntime's speed
# on its exported file (small convolutions at 48 channels, where oneDNN's kernels win).
TORCH_FASTER_ON_CPU = frozenset({"enhance"})


def backend_for(network: str, device: torch.device, *, choice: str | None = None, torch_only: bool = False) -> str:
    """"onnxruntime" or "torch": what runs ``network`` on ``device`` (module doc).
    ``torch_only``: this run needs the torch module (bf16 autocast, torch.compile)."""
    choice = choice or backend_setting()
    if device.type != "cpu" or choice == "torch" or (choice == "auto" and network in TORCH_FASTER_ON_CPU):
        return "torch"
    if not available():
        if choice == "onnxruntime":
            raise EngineError(f"{ENV_BACKEND}=onnxruntime but onnxruntime is not installed (pip install onnxruntime).")
        return "torch"
    return "torch" if torch_only else "onnxruntime"


def make_session(model: str | Path | bytes, *, threads: int | None = None):
    """A CPU InferenceSession with the worker's thread budget (torch's, unless given)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])


class OrtNetwork(nn.Module):
    """An onnxruntime session held as a module, so the worker's model cache keeps, counts
    and evicts it like the torch ones (``cache_bytes``: the model file's size, which is what
    the session holds in weights)."""

    def __init__(self, model: str | Path | bytes) -> None:
        super().__init__()
        self.session = make_session(model)
        self.cache_bytes = len(model) if isinstance(model, bytes) else Path(model).stat().st_size
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, *inputs: np.ndarray, outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        return self.session.run(list(outputs) if outputs else self.output_names[:1], dict(zip(self.input_names, inputs)))


def as_array(x: torch.Tensor, *, channels_last: bool = False) -> np.ndarray:
    """A C-contiguous float32 array of ``x`` for a session (NHWC with ``channels_last``).
    Conversions and layout changes in numpy, not torch: a torch op here wakes torch's OpenMP
    threads, whose spin-wait then competes with onnxruntime's own (measured 1.3x slower on 2 cores)."""
    x = x.detach().cpu()
    array = (x if x.dtype == torch.float32 else x.float()).numpy()
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1) if channels_last else array)


class ExportedNetwork(OrtNetwork):
    """A torch network exported to ONNX with a dynamic batch and size: called like the
    module it came from (tensors in, the first output out, on the CPU)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.run(*(as_array(x) for x in inputs))[0])


def cache_dir() -> Path | None:
    """Where exported networks are kept for every worker on the host (None: not writable)."""
    raw = os.environ.get(ENV_CACHE, "").strip()
    path = Path(raw) if raw else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "imagegen" / "onnx"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def export_onnx(
    module: nn.Module,
    example: tuple[torch.Tensor, ...],
    *,
    key: str,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict[str, dict[int, str]],
) -> bytes:
    """ONNX bytes of ``module`` (eval mode, CPU, float32), from the disk cache when a worker
    on this host already exported the same ``key`` (the weights' hash) with this torch."""
    tag = hashlib.sha256(f"{key}|torch {torch.__version__}|opset {OPSET}".encode()).hexdigest()[:24]
    folder = cache_dir()
    path = folder / f"{tag}.onnx" if folder else None
    if path is not None and path.is_file():
        return path.read_bytes()
    buffer = io.BytesIO()
    module = module.float().cpu().eval().to(memory_format=torch.contiguous_format)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice: it needs no onnxscript
        torch.onnx.export(
            module, example, buffer, dynamo=False, opset_version=OPSET,
            input_names=list(input_names), output_names=list(output_names), dynamic_axes=dynamic_axes,
        )  # fmt: skip
    data = buffer.getvalue()
    if path is not None:  # atomic: a worker reading it never sees half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    return data
