"""Training the 4x enhancer, self-supervised on the shop's own images.

Each step takes random ``size`` x ``size`` crops of catalogue images (flipped, lightly
colour-jittered: the pair gets the same jitter, so nothing leaks), reduces them 4x
(degrade.py: antialiased bicubic by default, the protocol the evaluation uses) and trains

    L_G = Charbonnier(G(x), y) [+ adv_weight * (-log D(G(x))) after adv_start]

Faithful by default (``adv_weight`` 0): a pixel loss only, so the network learns the most
likely high-resolution image and never invents texture a product does not have. The loss is
Charbonnier, sqrt((a - b)^2 + eps^2), an L1 that is smooth at zero (LapSRN, EDSR-style
training). The learning rate follows a cosine from ``lr_g`` down to ``lr_g * lr_floor``
over ``schedule`` steps (the run's budget): small networks on short budgets gain most from
ending at a low rate.

Two choices make a 20-minute CPU run go further. Crops are cut where there is something to
learn: of ``crop_tries`` random positions the busiest one (largest standard deviation) is
kept, because on a white catalogue background most random crops are flat, and bicubic is
already right there. And the network (networks/enhance.py, "rlfn") is built for speed.

The adversarial stage (``adv_weight`` > 0, ``imagegen_train enhance --adversarial``): a
patch discriminator joins at ``adv_start`` (after a pixel-loss warm start, as ESRGAN does)
with the non-saturating loss
    L_D = -log D(y) - log(1 - D(G(x)))
Sharper texture, less faithful (lower PSNR): an option, never the default.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import EngineError
from ..networks.enhance import ARCHITECTURES, SCALE, PatchDiscriminator
from .augment import color_jitter, flip
from .base import Trainer
from .data import CatalogueData
from .degrade import DEGRADATIONS, EVAL_DEGRADATION, degrade, random_degrade

__all__ = ["EnhanceConfig", "EnhanceTrainer", "build_enhancer", "charbonnier", "enhance_config", "budget_config", "SHARP", "LEGACY", "DEFAULT_STEPS"]

# The command's default budget: 12.5 minutes of training measured on 2 CPU cores, +3.9 dB
# PSNR-Y over bicubic on unseen product photos (docs/benchmarks.md); the margin under 20
# minutes is for slower CPUs, loading the catalogue and checkpoints.
DEFAULT_STEPS = 5000

# What `--adversarial` changes (the adversarial stage starts after a quarter of the budget).
SHARP = {"adv_weight": 5e-3}


@dataclass(frozen=True)
class EnhanceConfig:
    size: int = 96  # high-resolution crop side (inputs are size / 4)
    image_size: int = 256  # catalogue images are prepared at this side
    batch: int = 16
    arch: str = "rlfn"  # networks.enhance.ARCHITECTURES
    channels: int = 48
    blocks: int = 4
    loss: str = "charbonnier"  # or "l1"
    lr_g: float = 2e-3
    lr_floor: float = 0.01  # the cosine ends at lr_g * lr_floor
    schedule: int = DEFAULT_STEPS  # steps of the cosine (the run's budget); later steps stay at the floor
    warmup: int = 100  # linear warm-up: Adam's first steps move every weight by the full rate at once
    degradation: str = "bicubic"  # degrade.DEGRADATIONS
    crop_tries: int = 2
    lr_d: float = 1e-4
    adv_weight: float = 0.0  # > 0: the adversarial stage ("sharper, less faithful")
    adv_start: int = 600
    seed: int = 0
    log_every: int = 10

    def __post_init__(self) -> None:
        if self.size % SCALE or self.size < 4 * SCALE:
            raise EngineError(f"The enhancement crop size must be a multiple of {SCALE} and at least {4 * SCALE}, got {self.size}.")
        if self.image_size < self.size:
            raise EngineError(f"image_size ({self.image_size}) must be at least the crop size ({self.size}).")
        if self.arch not in ARCHITECTURES:
            raise EngineError(f"Unknown enhancement network {self.arch!r}; use one of {', '.join(ARCHITECTURES)}.")
        if self.loss not in ("charbonnier", "l1"):
            raise EngineError(f"Unknown enhancement loss {self.loss!r}; use 'charbonnier' or 'l1'.")
        if self.degradation not in DEGRADATIONS:
            raise EngineError(f"Unknown degradation {self.degradation!r}; use one of {', '.join(DEGRADATIONS)}.")
        if self.schedule < 1 or self.crop_tries < 1:
            raise EngineError("schedule and crop_tries must be at least 1.")

    @property
    def adversarial(self) -> bool:
        return self.adv_weight > 0


# What a config saved before the "arch" field meant (runs and weights made before the
# efficient network): the SRResNet-like generator, L1, constant rate, camera degradation.
LEGACY = {"arch": "srresnet", "loss": "l1", "lr_floor": 1.0, "degradation": "camera", "crop_tries": 1}


def enhance_config(values: dict[str, Any]) -> EnhanceConfig:
    """The config from saved plain data (a run row, a checkpoint, exported weights); data
    without "arch" predates the efficient network and gets the settings it was made with."""
    from .base import config_from_dict

    return config_from_dict(EnhanceConfig, values if "arch" in values else {**values, **LEGACY})


def budget_config(*, steps: int | None = None, adversarial: bool = False, **values: Any) -> EnhanceConfig:
    """The config for a run of ``steps`` steps (the cosine spans them); ``adversarial`` adds
    the patch-GAN stage (SHARP) from a quarter of the budget on."""
    steps = steps or DEFAULT_STEPS
    values.setdefault("schedule", steps)
    if adversarial:
        values = {**SHARP, "adv_start": steps // 4, **values}
    return EnhanceConfig(**values)


def build_enhancer(config: EnhanceConfig) -> nn.Module:
    return ARCHITECTURES[config.arch](channels=config.channels, blocks=config.blocks)


def charbonnier(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((a - b) ** 2 + eps * eps).mean()


class EnhanceTrainer(Trainer):
    kind = "enhance"

    def __init__(self, config: EnhanceConfig, data: CatalogueData, *, device: str | None = None) -> None:
        if data.images.shape[-1] != config.image_size:
            raise EngineError(f"The dataset is prepared at {data.images.shape[-1]} px, the config expects {config.image_size} px.")
        super().__init__(config, data, device=device)
        self.G = build_enhancer(config).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=(0.9, 0.99))
        # The discriminator exists only when it is used (smaller checkpoints, no wasted init).
        self.D = PatchDiscriminator().to(self.device) if config.adversarial else None
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=(0.9, 0.99)) if self.D is not None else None
        self.images = data.images  # crops are cut on the CPU; only the batch moves
        # Fixed pairs for the sample grid (first images, centre crops), not from self.rng.
        n = min(4, len(data))
        c = (config.image_size - config.size) // 2
        self.fixed_hr = data.images[:n, :, c : c + config.size, c : c + config.size].float() / 255
        self.fixed_low = torch.stack([degrade(hr, **EVAL_DEGRADATION) for hr in self.fixed_hr])

    def _modules(self) -> dict[str, Any]:
        modules: dict[str, Any] = {"G": self.G, "opt_g": self.opt_g}
        if self.D is not None:
            modules.update(D=self.D, opt_d=self.opt_d)
        return modules

    def learning_rate(self, step: int | None = None) -> float:
        """Cosine from lr_g to lr_g * lr_floor over ``schedule`` steps (a function of the step
        alone, so a resumed run follows the same curve)."""
        cfg = self.config
        step = self.step if step is None else step
        t = min(1.0, step / cfg.schedule)
        warm = min(1.0, (step + 1) / cfg.warmup) if cfg.warmup > 0 else 1.0
        return warm * cfg.lr_g * (cfg.lr_floor + (1 - cfg.lr_floor) * 0.5 * (1 + math.cos(math.pi * t)))

    def _crop(self, index: int) -> torch.Tensor:
        cfg = self.config
        span = cfg.image_size - cfg.size + 1
        best, best_std = None, -1.0
        for yx in torch.randint(span, (cfg.crop_tries, 2), generator=self.rng).tolist():
            crop = self.images[index, :, yx[0] : yx[0] + cfg.size, yx[1] : yx[1] + cfg.size]
            std = float(crop.float().std()) if cfg.crop_tries > 1 else 0.0
            if std > best_std:
                best, best_std = crop, std
        return best

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        idx = self.batch_indices(cfg.batch)
        crops = torch.stack([self._crop(i) for i in idx.tolist()])
        hr = color_jitter(flip(crops.float() / 255, self.rng), self.rng, amount=0.05).clamp(0, 1)
        low = random_degrade(hr, self.rng, cfg.degradation)
        return low.to(self.device), hr.to(self.device)

    def _train_step(self) -> dict[str, float]:
        cfg = self.config
        for group in self.opt_g.param_groups:
            group["lr"] = self.learning_rate()
        low, hr = self._batch()
        adversarial = self.D is not None and self.step >= cfg.adv_start
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
        pixel = charbonnier(sr.float(), hr) if cfg.loss == "charbonnier" else F.l1_loss(sr.float(), hr)
        loss_adv = torch.zeros((), device=pixel.device)
        if adversarial:
            with self.autocast():
                gen_logits = self.D(sr).float()
            loss_adv = F.binary_cross_entropy_with_logits(gen_logits, torch.ones_like(gen_logits))
        loss_g = pixel + cfg.adv_weight * loss_adv
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        with torch.no_grad():
            l1 = F.l1_loss(sr.float(), hr).item() if cfg.loss != "l1" else pixel.item()
        return {"l1": l1, "loss_pixel": pixel.item(), "loss_adv": loss_adv.item(), "loss_d": loss_d.item(), "loss_g": loss_g.item()}

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
        """Rows of: input (nearest-neighbour upscaled, to show its pixels), bicubic, network, original."""
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
            "arch": self.config.arch,
            "config": asdict(self.config),
            "generator": {k: v.detach().cpu() for k, v in self.G.state_dict().items()},
        }
