"""Training the product-image GAN.

Two presets, same networks and optimiser settings, so a comparison at equal steps is fair:

- ``baseline`` is the article's GAN: DCGAN with batch norm, the original losses on logits
      L_D = -log D(x) - log(1 - D(G(z)))   (BCEWithLogits against 1 for real, 0 for fake)
      L_G = -log D(G(z))                    (non-saturating generator loss)
  and Adam (lr 2e-4, betas 0.5/0.999), one D step per G step.
- ``strong`` adds what makes GANs work on small catalogues: spectral norm in D (and no
  batch norm there), the hinge loss
      L_D = max(0, 1 - D(x)) + max(0, 1 + D(G(z))),   L_G = -D(G(z)),
  DiffAugment on everything D sees, and an exponential moving average of G's weights used
  for sampling.

A "step" is one discriminator update and one generator update on a batch.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import EngineError
from ..networks.gan import Discriminator, Generator, depth_for
from .augment import diff_augment, flip
from .base import Trainer
from .data import CatalogueData

__all__ = ["GanConfig", "GanTrainer", "PRESETS", "d_loss", "g_loss", "build_generator"]

PRESETS: dict[str, dict[str, Any]] = {
    "baseline": {"loss": "bce", "spectral_norm": False, "diffaugment": "", "ema": 0.0},
    "strong": {"loss": "hinge", "spectral_norm": True, "diffaugment": "color,translation,cutout", "ema": 0.999},
}


@dataclass(frozen=True)
class GanConfig:
    size: int = 64
    preset: str = "strong"
    loss: str = "hinge"  # "bce" (the article's) or "hinge"
    spectral_norm: bool = True
    diffaugment: str = "color,translation,cutout"  # "" = off
    ema: float = 0.999  # 0 = off
    conditional: bool = False
    batch: int = 32
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    z_dim: int = 128
    base_channels: int = 64
    seed: int = 0
    log_every: int = 10

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> GanConfig:
        if preset not in PRESETS:
            raise EngineError(f"Unknown GAN preset {preset!r}; use one of {', '.join(PRESETS)}.")
        return cls(preset=preset, **{**PRESETS[preset], **overrides})

    def __post_init__(self) -> None:
        depth_for(self.size)  # validates the size
        if self.loss not in ("bce", "hinge"):
            raise EngineError(f"GAN loss must be 'bce' or 'hinge', got {self.loss!r}.")
        if not 0 <= self.ema < 1:
            raise EngineError(f"EMA decay must be in [0, 1), got {self.ema}.")


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    if kind == "bce":  # -log D(x) - log(1 - D(G(z))), D = sigmoid(logit)
        return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + F.binary_cross_entropy_with_logits(
            fake_logits, torch.zeros_like(fake_logits)
        )
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    if kind == "bce":  # -log D(G(z)), the non-saturating form
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return -fake_logits.mean()


def build_generator(config: GanConfig, num_classes: int) -> Generator:
    return Generator(config.size, z_dim=config.z_dim, base=config.base_channels, num_classes=num_classes if config.conditional else 0)


class GanTrainer(Trainer):
    kind = "gan"

    def __init__(self, config: GanConfig, data: CatalogueData, *, device: str | None = None) -> None:
        if data.images.shape[-1] != config.size:
            raise EngineError(f"The dataset is prepared at {data.images.shape[-1]} px but the GAN is {config.size} px.")
        super().__init__(config, data, device=device)
        classes = len(data.label_names) if config.conditional else 0
        self.G = build_generator(config, classes).to(self.device)
        self.D = Discriminator(
            config.size, base=config.base_channels, num_classes=classes, spectral=config.spectral_norm, batch_norm=not config.spectral_norm
        ).to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval() if config.ema else None
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=betas)
        self.images = data.images.to(self.device)
        self.labels = data.labels.to(self.device)
        # Fixed inputs for sample grids, from their own generator: drawing them must not
        # disturb the training stream (exact resume).
        g = torch.Generator().manual_seed(config.seed + 1)
        self.fixed_z = torch.randn(64, config.z_dim, generator=g)
        self.fixed_labels = torch.arange(64) % max(1, len(data.label_names))

    def _modules(self) -> dict[str, Any]:
        modules: dict[str, Any] = {"G": self.G, "D": self.D, "opt_g": self.opt_g, "opt_d": self.opt_d}
        if self.G_ema is not None:
            modules["G_ema"] = self.G_ema
        return modules

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.rng, self.config.diffaugment) if self.config.diffaugment else x

    def _train_step(self) -> dict[str, float]:
        cfg = self.config
        idx = self.batch_indices(cfg.batch).to(self.device)
        real = flip(self.images[idx].float() / 127.5 - 1, self.rng)
        labels = self.labels[idx] if cfg.conditional else None
        z = torch.randn(cfg.batch, cfg.z_dim, generator=self.rng).to(self.device)

        with self.autocast():
            fake = self.G(z, labels)
            real_logits = self.D(self._aug(real), labels).float()
            fake_logits = self.D(self._aug(fake.detach()), labels).float()
        loss_d = d_loss(cfg.loss, real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        with self.autocast():
            gen_logits = self.D(self._aug(fake), labels).float()
        loss_g = g_loss(cfg.loss, gen_logits)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self._update_ema()

        accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_accuracy": accuracy.item()}

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.G_ema is None:
            return
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))  # warm-up: early weights fade fast
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.lerp_(p, 1 - decay)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    def sampler(self) -> Generator:
        """The generator used for sampling: the EMA copy when there is one."""
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images in 0..1 (N, 3, S, S) on the CPU, in eval mode (batch norm running stats)."""
        net = self.sampler()
        was_training = net.training
        net.eval()
        try:
            with self.autocast():
                out = net(z.to(self.device), labels.to(self.device) if (labels is not None and self.config.conditional) else None)
        finally:
            net.train(was_training)
        return ((out.float() + 1) / 2).clamp(0, 1).cpu()

    def sample_grid(self) -> torch.Tensor:
        return make_grid(self.sample(self.fixed_z, self.fixed_labels))

    def export(self) -> dict[str, Any]:
        from ..metrics.generative import thumbnails

        train = self.data.train()
        return {
            "kind": "gan",
            "config": asdict(self.config),
            "label_names": self.data.label_names,
            "generator": {k: v.detach().cpu() for k, v in self.sampler().state_dict().items()},
            # For the memorisation guard: the images this model saw, in thumb32-rms space.
            "train_thumbs": (thumbnails(train.floats()) * 255).round().to(torch.uint8),
            "train_keys": train.keys,
        }


def make_grid(images: torch.Tensor, columns: int = 8, pad: int = 2) -> torch.Tensor:
    """(N, 3, H, W) -> one (3, rows*(H+pad)+pad, cols*(W+pad)+pad) picture on white."""
    n, c, h, w = images.shape
    columns = min(columns, n)
    rows = -(-n // columns)
    grid = torch.ones(c, rows * (h + pad) + pad, columns * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, top : top + h, left : left + w] = images[i]
    return grid
