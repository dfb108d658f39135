"""Instance-norm statistics that the tiles of one image can share.

Both style networks normalise every layer by its mean and variance over the whole image.
Run tile by tile, each tile would normalise by its own statistics and the tiles would not
match (visible seams). ``NormStats`` records the statistics of a guide pass over the whole
image and replays them, layer by layer, for every tile, so all tiles are normalised alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

__all__ = ["NormStats", "shared_stats"]

Stats = tuple[torch.Tensor, torch.Tensor]


class NormStats:
    def __init__(self) -> None:
        self.mode: str | None = None  # None (compute), "record" or "replay"
        self.values: list[Stats] = []
        self._next = 0

    def __call__(self, compute: Callable[[], Stats]) -> Stats:
        if self.mode is None:
            return compute()
        if self.mode == "record":
            stats = compute()
            self.values.append(stats)
            return stats
        if self._next >= len(self.values):
            raise RuntimeError("replaying more normalisation layers than were recorded")
        stats = self.values[self._next]
        self._next += 1
        return stats

    @contextmanager
    def recording(self) -> Iterator[NormStats]:
        self.mode, self.values, self._next = "record", [], 0
        try:
            yield self
        finally:
            self.mode = None

    @contextmanager
    def replaying(self) -> Iterator[NormStats]:
        self.mode, self._next = "replay", 0
        try:
            yield self
        finally:
            self.mode = None


def shared_stats(stats: NormStats | None) -> NormStats:
    """A pass-through NormStats when the caller gave none."""
    return stats if stats is not None else NormStats()
