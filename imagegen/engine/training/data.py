"""The catalogue dataset: collected images cleaned, composited, squared, resized and cached.

Input is plain data (``CatalogueItem``: a key saying where the image came from, its bytes and
an optional category label); the Django side collects them from the registered sources.

Cleaning, in order, each skip recorded in the report with its reason:
- corrupt: ``engine.decode`` refuses the bytes (not an image, truncated, a bomb...);
- too small: the shorter side is below ``min_side`` pixels;
- exact duplicates: the same sha256 of bytes as an earlier image;
- near duplicates: closer than ``near_duplicate`` in the thumb32-rms space (see
  metrics/generative.py) to an earlier kept image (re-encodes, resaves, tiny edits).

Preparation: transparent images are composited on ``background`` on purpose (dropping the
alpha would turn the background black), padded to a square with the same background (the
product stays whole and centred), resized with antialiasing to ``size`` and kept as uint8.
Each image's result is cached under a key made from its content hash and the preparation
settings, so a second run skips decoding (product photos are often 2000+ px PNGs).

The held-out split is decided by each image's content hash, so it is stable when the
catalogue grows (an image never moves between train and held-out).
"""
from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F

from ..errors import DecodeError
from ..io import decode
from ..metrics.generative import nearest, thumbnails

__all__ = ["CatalogueItem", "CatalogueData", "CleanReport", "TensorCache", "DirectoryCache", "prepare", "prepare_image"]

logger = logging.getLogger(__name__)

PREP_VERSION = "1"


@dataclass(frozen=True)
class CatalogueItem:
    key: str  # where it came from, e.g. "shop.productimage.image:42" or a file name
    data: bytes
    label: str = ""  # category, for conditional models ("" = none)


class TensorCache(Protocol):
    def get(self, name: str) -> bytes | None: ...

    def put(self, name: str, data: bytes) -> None: ...


class DirectoryCache:
    """A TensorCache in a local folder (benchmarks, scripts)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def get(self, name: str) -> bytes | None:
        target = self.path / name
        return target.read_bytes() if target.exists() else None

    def put(self, name: str, data: bytes) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / (name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(self.path / name)


@dataclass
class CleanReport:
    collected: int = 0
    kept: int = 0
    corrupt: list[tuple[str, str]] = field(default_factory=list)  # (key, reason)
    too_small: list[tuple[str, str]] = field(default_factory=list)  # (key, "WxH")
    exact_duplicates: list[tuple[str, str]] = field(default_factory=list)  # (key, duplicate of)
    near_duplicates: list[tuple[str, str, float]] = field(default_factory=list)  # (key, near, distance)

    def as_dict(self) -> dict:
        return {
            "collected": self.collected,
            "kept": self.kept,
            "corrupt": [list(x) for x in self.corrupt],
            "too_small": [list(x) for x in self.too_small],
            "exact_duplicates": [list(x) for x in self.exact_duplicates],
            "near_duplicates": [[k, n, round(d, 4)] for k, n, d in self.near_duplicates],
        }

    def summary(self) -> str:
        return (
            f"{self.kept} of {self.collected} images kept; skipped {len(self.corrupt)} corrupt, "
            f"{len(self.too_small)} too small, {len(self.exact_duplicates)} exact and "
            f"{len(self.near_duplicates)} near duplicates"
        )


@dataclass
class CatalogueData:
    images: torch.Tensor  # (N, 3, S, S) uint8, on the background
    labels: torch.Tensor  # (N,) int64 index into label_names (0 when unconditional)
    label_names: list[str]
    keys: list[str]
    hashes: list[str]  # sha256 of each source file
    holdout: torch.Tensor  # (N,) bool
    report: CleanReport

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, mask: torch.Tensor) -> CatalogueData:
        idx = mask.nonzero().flatten().tolist()
        return CatalogueData(
            self.images[idx],
            self.labels[idx],
            self.label_names,
            [self.keys[i] for i in idx],
            [self.hashes[i] for i in idx],
            self.holdout[idx],
            self.report,
        )

    def train(self) -> CatalogueData:
        return self.subset(~self.holdout)

    def held_out(self) -> CatalogueData:
        return self.subset(self.holdout)

    def floats(self) -> torch.Tensor:
        """Images as float 0..1."""
        return self.images.float() / 255.0


def prepare_image(data: bytes, size: int, background: tuple[int, int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
    """Decode, composite on the background, pad to square, resize: (3, size, size) uint8,
    and the original (width, height). Raises DecodeError when the bytes are not an image."""
    image = decode(data)
    bg = torch.tensor(background, dtype=torch.float32).view(3, 1, 1) / 255.0
    rgb = image.rgb.float()
    if image.alpha is not None:
        rgb = rgb * image.alpha + bg * (1 - image.alpha)
    h, w = rgb.shape[-2:]
    side = max(h, w)
    square = bg.expand(3, side, side).clone()
    top, left = (side - h) // 2, (side - w) // 2
    square[:, top : top + h, left : left + w] = rgb
    resized = F.interpolate(square[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    return (resized.clamp(0, 1) * 255).round().to(torch.uint8), (w, h)


def _cache_name(digest: str, size: int, background: tuple[int, int, int]) -> str:
    bg = "-".join(str(int(c)) for c in background)
    return f"{digest}-{size}-{bg}-v{PREP_VERSION}.pt"


def _is_held_out(digest: str, fraction: float) -> bool:
    return int(digest[:8], 16) / 0x100000000 < fraction


def prepare(
    items: Iterable[CatalogueItem],
    *,
    size: int,
    background: tuple[int, int, int] = (255, 255, 255),
    min_side: int = 64,
    near_duplicate: float = 0.01,
    holdout: float = 0.2,
    cache: TensorCache | None = None,
) -> CatalogueData:
    """Clean and prepare the catalogue. ``items`` may be a lazy iterator: each file's bytes
    are dropped once prepared. Raises ValueError when nothing usable is left."""
    report = CleanReport()
    kept_items: list[tuple[str, str]] = []  # (key, label)
    digests: list[str] = []
    tensors: list[torch.Tensor] = []
    seen: dict[str, str] = {}
    for item in items:
        report.collected += 1
        digest = hashlib.sha256(item.data).hexdigest()
        if digest in seen:
            report.exact_duplicates.append((item.key, seen[digest]))
            continue
        seen[digest] = item.key
        name = _cache_name(digest, size, background)
        cached = cache.get(name) if cache is not None else None
        if cached is not None:
            entry = torch.load(io.BytesIO(cached), weights_only=True)
            tensor, original = entry["image"], tuple(entry["original"])
        else:
            try:
                tensor, original = prepare_image(item.data, size, background)
            except DecodeError as exc:
                report.corrupt.append((item.key, str(exc)))
                continue
            if cache is not None:
                buf = io.BytesIO()
                torch.save({"image": tensor, "original": list(original)}, buf)
                cache.put(name, buf.getvalue())
        if min(original) < min_side:
            report.too_small.append((item.key, f"{original[0]}x{original[1]}"))
            continue
        kept_items.append((item.key, item.label))
        digests.append(digest)
        tensors.append(tensor)

    # Near duplicates: greedy in catalogue order, an image is dropped if close to one kept.
    keep: list[int] = []
    if tensors:
        thumbs = thumbnails(torch.stack(tensors).float() / 255.0)
        for i in range(len(tensors)):
            if keep:
                distance, where = nearest(thumbs[i : i + 1], thumbs[keep])
                if float(distance[0]) < near_duplicate:
                    report.near_duplicates.append((kept_items[i][0], kept_items[keep[int(where[0])]][0], float(distance[0])))
                    continue
            keep.append(i)
    report.kept = len(keep)
    if not keep:
        raise ValueError(f"No usable images in the catalogue: {report.summary()}.")

    names = sorted({kept_items[i][1] for i in keep})
    label_index = {name: n for n, name in enumerate(names)}
    held = torch.tensor([_is_held_out(digests[i], holdout) for i in keep], dtype=torch.bool)
    if holdout > 0 and len(keep) >= 2:
        # Tiny catalogues: make sure both sides of the split are non-empty.
        order = sorted(range(len(keep)), key=lambda j: digests[keep[j]])
        if not held.any():
            held[order[0]] = True
        if held.all():
            held[order[-1]] = False
    return CatalogueData(
        images=torch.stack([tensors[i] for i in keep]),
        labels=torch.tensor([label_index[kept_items[i][1]] for i in keep], dtype=torch.long),
        label_names=names,
        keys=[kept_items[i][0] for i in keep],
        hashes=[digests[i] for i in keep],
        holdout=held,
        report=report,
    )
