"""Sampling a trained product GAN, with a memorisation guard.

A GAN trained on a few hundred product photos can reproduce one of them almost pixel for
pixel; publishing that as a "generated" image would be a copy of the shop's photo (or of a
photo the shop licensed). The guard compares every sample with every training image in the
thumb32-rms space (metrics/generative.py) and rejects samples closer than ``threshold``.
The default, 0.02, sits below the distance between the two closest *different* products of
the demo catalogue plus the Saleor photos (0.021: a teal and an emerald bottle of the same
shape), while re-encoded copies of one image are below 0.005.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ParameterError
from ..metrics.generative import nearest, thumbnails
from ..networks.fastgan import FastGenerator
from ..networks.gan import Generator
from .base import config_from_dict, resolve_device
from .gan import ARCHS, GanConfig, build_generator

__all__ = ["MemorisationGuard", "Sample", "GanSampler", "DEFAULT_MEMORISATION_THRESHOLD"]

DEFAULT_MEMORISATION_THRESHOLD = 0.02


class MemorisationGuard:
    def __init__(self, train_thumbs: torch.Tensor, keys: list[str], threshold: float = DEFAULT_MEMORISATION_THRESHOLD) -> None:
        # Stored as uint8 (0..255) in the weights file; compared as 0..1.
        self.thumbs = train_thumbs.float() / 255 if train_thumbs.dtype == torch.uint8 else train_thumbs.float()
        self.keys = keys
        self.threshold = threshold

    def check(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """(N, 3, H, W) 0..1 -> (accepted mask, nearest distance, nearest training key)."""
        distance, index = nearest(thumbnails(images), self.thumbs)
        return distance >= self.threshold, distance, [self.keys[int(i)] for i in index]


@dataclass
class Sample:
    image: torch.Tensor  # (3, S, S) 0..1
    seed: int
    label: str
    nearest_distance: float
    nearest_key: str


class GanSampler:
    """A generator loaded from a run's exported weights (see GanTrainer.export)."""

    def __init__(self, export: dict[str, Any], *, device: str | None = None, threshold: float = DEFAULT_MEMORISATION_THRESHOLD) -> None:
        if export.get("kind") != "gan":
            raise ParameterError(f"These weights are for {export.get('kind')!r}, not a product GAN.")
        arch = export.get("arch", "dcgan")  # exports before FastGAN have no "arch": DCGAN
        if arch not in ARCHS:
            raise ParameterError(f"These GAN weights use the {arch!r} architecture, which this version of imagegen cannot build "
                                 f"(it knows {', '.join(ARCHS)}); upgrade imagegen or train a new run.")
        self.config: GanConfig = config_from_dict(GanConfig, {**export["config"], "arch": arch})
        self.label_names: list[str] = list(export["label_names"])
        self.device, self.bf16 = resolve_device(device)
        self.net: Generator | FastGenerator = build_generator(self.config, len(self.label_names))
        self.net.load_state_dict(export["generator"])
        self.net.to(self.device).eval()
        self.guard = MemorisationGuard(export["train_thumbs"], list(export["train_keys"]), threshold)

    def label_index(self, label: str | None) -> int:
        if not self.config.conditional:
            if label:
                raise ParameterError("This GAN was trained without categories; leave the category empty.")
            return 0
        if label not in self.label_names:
            raise ParameterError(f"Unknown category {label!r} for this GAN; trained on: {', '.join(self.label_names) or 'none'}.")
        return self.label_names.index(label)

    @torch.no_grad()
    def render(self, seeds: list[int], label: str | None = None) -> torch.Tensor:
        """One image per seed (the same seed always gives the same image): (N, 3, S, S) 0..1."""
        index = self.label_index(label)
        images = []
        # One seed per forward pass: CPU convolution kernels are picked by batch size, so a
        # batch of three can differ from a batch of one in the last bit.
        for s in seeds:
            z = torch.randn(1, self.config.z_dim, generator=torch.Generator().manual_seed(s))
            labels = torch.full((1,), index, dtype=torch.long)
            with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                out = self.net(z.to(self.device), labels.to(self.device) if self.config.conditional else None)
            images.append(((out.float() + 1) / 2).clamp(0, 1).cpu())
        return torch.cat(images)

    def sample(self, n: int, *, label: str | None = None, seed: int = 0, max_tries: int | None = None) -> tuple[list[Sample], int]:
        """Up to ``n`` samples that pass the guard, trying seeds seed, seed+1, ... at most
        ``max_tries`` (default 4n) times. Returns (samples, number rejected)."""
        max_tries = max_tries or 4 * n
        accepted: list[Sample] = []
        rejected = 0
        next_seed = seed
        while len(accepted) < n and next_seed - seed < max_tries:
            seeds = list(range(next_seed, min(next_seed + max(n - len(accepted), 1), seed + max_tries)))
            next_seed += len(seeds)
            images = self.render(seeds, label)
            ok, distance, keys = self.guard.check(images)
            for i, s in enumerate(seeds):
                if not ok[i]:
                    rejected += 1
                elif len(accepted) < n:
                    accepted.append(Sample(images[i], s, label or "", float(distance[i]), keys[i]))
        return accepted, rejected
