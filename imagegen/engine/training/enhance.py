"""Training the 4x enhancement GAN, self-supervised on the shop's own images.

Each step takes random ``size`` x ``size`` crops of catalogue images (flipped, lightly
colour-jittered: the pair gets the same jitter, so nothing leaks), degrades them (blur, 4x
downscale, JPEG; degrade.py) into the inputs, and trains
    L_G = L1(G(x), y) + adv_weight * (-log D(G(x)))       (non-saturating, on patch logits)
    L_D = -log D(y) - log(1 - D(G(x)))
with a patch discriminator. The first ``adv_start`` steps are L1 only (a PSNR-oriented warm
start, as ESRGAN does), because an adversary judging a random generator only adds noise.
The adversarial weight is small: the task is to be faithful first (PSNR, SSIM) and sharp
second; raising it trades PSNR for crisper texture.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import EngineError
from ..networks.enhance import SCALE, EnhanceGenerator, PatchDiscriminator
from .augment import color_jitter, flip
from .base import Trainer
from .data import CatalogueData
from .degrade import EVAL_DEGRADATION, degrade, random_degrade

__all__ = ["EnhanceConfig", "EnhanceTrainer", "build_enhancer"]


@dataclass(frozen=True)
class EnhanceConfig:
    size: int = 64  # high-resolution crop side (inputs are size / 4)
    image_size: int = 256  # catalogue images are prepared at this side
    batch: int = 16
    lr_g: float = 2e-4
    lr_d: float = 1e-4
    adv_weight: float = 1e-3
    adv_start: int = 200
    channels: int = 48
    blocks: int = 6
    seed: int = 0
    log_every: int = 10

    def __post_init__(self) -> None:
        if self.size % SCALE or self.size < 4 * SCALE:
            raise EngineError(f"The enhancement crop size must be a multiple of {SCALE} and at least {4 * SCALE}, got {self.size}.")
        if self.image_size < self.size:
            raise EngineError(f"image_size ({self.image_size}) must be at least the crop size ({self.size}).")


def build_enhancer(config: EnhanceConfig) -> EnhanceGenerator:
    return EnhanceGenerator(channels=config.channels, blocks=config.blocks)


class EnhanceTrainer(Trainer):
    kind = "enhance"

    def __init__(self, config: EnhanceConfig, data: CatalogueData, *, device: str | None = None) -> None:
        if data.images.shape[-1] != config.image_size:
            raise EngineError(f"The dataset is prepared at {data.images.shape[-1]} px, the config expects {config.image_size} px.")
        super().__init__(config, data, device=device)
        self.G = build_enhancer(config).to(self.device)
        self.D = PatchDiscriminator().to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=(0.9, 0.99))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=(0.9, 0.99))
        self.images = data.images  # crops are cut on the CPU; only the batch moves
        # Fixed pairs for the sample grid (first images, centre crops), not from self.rng.
        n = min(4, len(data))
        c = (config.image_size - config.size) // 2
        self.fixed_hr = data.images[:n, :, c : c + config.size, c : c + config.size].float() / 255
        self.fixed_low = torch.stack([degrade(hr, **EVAL_DEGRADATION) for hr in self.fixed_hr])

    def _modules(self) -> dict[str, Any]:
        return {"G": self.G, "D": self.D, "opt_g": self.opt_g, "opt_d": self.opt_d}

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        idx = self.batch_indices(cfg.batch)
        span = cfg.image_size - cfg.size + 1
        ys = torch.randint(span, (cfg.batch,), generator=self.rng).tolist()
        xs = torch.randint(span, (cfg.batch,), generator=self.rng).tolist()
        crops = torch.stack([self.images[i, :, y : y + cfg.size, x : x + cfg.size] for i, y, x in zip(idx.tolist(), ys, xs)])
        hr = color_jitter(flip(crops.float() / 255, self.rng), self.rng, amount=0.05)
        low = random_degrade(hr, self.rng)
        return low.to(self.device), hr.to(self.device)

    def _train_step(self) -> dict[str, float]:
        cfg = self.config
        low, hr = self._batch()
        adversarial = self.step >= cfg.adv_start
        with self.autocast():
            sr = self.G(low)
        loss_d = torch.zeros(())
        if adversarial:
            with self.autocast():
                real_logits = self.D(hr).float()
                fake_logits = self.D(sr.detach()).float()
            loss_d = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + F.binary_cross_entropy_with_logits(
                fake_logits, torch.zeros_like(fake_logits)
            )
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        l1 = F.l1_loss(sr.float(), hr)
        loss_adv = torch.zeros((), device=l1.device)
        if adversarial:
            with self.autocast():
                gen_logits = self.D(sr).float()
            loss_adv = F.binary_cross_entropy_with_logits(gen_logits, torch.ones_like(gen_logits))
        loss_g = l1 + cfg.adv_weight * loss_adv
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        return {"l1": l1.item(), "loss_adv": loss_adv.item(), "loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @torch.no_grad()
    def enhance(self, low: torch.Tensor) -> torch.Tensor:
        """(N, 3, h, w) 0..1 -> (N, 3, 4h, 4w) 0..1 on the CPU."""
        self.G.eval()
        try:
            with self.autocast():
                out = self.G(low.to(self.device))
        finally:
            self.G.train()
        return out.float().clamp(0, 1).cpu()

    def sample_grid(self) -> torch.Tensor:
        """Rows of: input (nearest-neighbour upscaled, to show its pixels), bicubic, GAN, original."""
        from .gan import make_grid

        low = self.fixed_low
        nearest = F.interpolate(low, scale_factor=SCALE, mode="nearest")
        bicubic = F.interpolate(low, scale_factor=SCALE, mode="bicubic", align_corners=False).clamp(0, 1)
        sr = self.enhance(low)
        tiles = torch.stack([t for row in zip(nearest, bicubic, sr, self.fixed_hr) for t in row])
        return make_grid(tiles, columns=4)

    def export(self) -> dict[str, Any]:
        return {
            "kind": "enhance",
            "config": asdict(self.config),
            "generator": {k: v.detach().cpu() for k, v in self.G.state_dict().items()},
        }
