"""Training the product GAN.

Two presets:

- ``baseline`` is the article's GAN: DCGAN (networks/gan.py) with batch norm, the original
  losses on logits
      L_D = -log D(x) - log(1 - D(G(z)))   (BCEWithLogits against 1 for real, 0 for fake)
      L_G = -log D(G(z))                    (non-saturating generator loss)
  and Adam (lr 2e-4, betas 0.5/0.999), one D step per G step.
- ``strong`` is made for a catalogue of a hundred images: FastGAN's networks
  (networks/fastgan.py: skip-layer excitation in G, a self-supervised D that also
  reconstructs real images, Liu et al. 2021), spectral norm in D, the hinge loss
      L_D = max(0, 1 - D(x)) + max(0, 1 + D(G(z))) + recon_weight * L1 reconstructions,
      L_G = -D(G(z)),
  DiffAugment (color, translation, cutout) on every image D sees, real and fake, in both
  steps, and an exponential moving average of G's weights used for sampling.

A "step" is one discriminator update and one generator update on a batch.

Distributed (``shard``, see distributed.py): every process draws the whole batch's random
numbers from the same seeded generator and keeps its slice, and G's batch norm takes its
statistics over the whole batch, so N processes train the same networks as one process
with the same global batch (up to float rounding in the gradient all-reduce).
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import EngineError
from ..networks.fastgan import FastDiscriminator, FastGenerator, reconstruction_targets
from ..networks.gan import Discriminator, Generator, depth_for
from .augment import diff_augment, flip
from .base import Trainer, update_ema
from .data import CatalogueData

__all__ = ["GanConfig", "GanTrainer", "PRESETS", "ARCHS", "d_loss", "g_loss", "build_generator", "build_discriminator"]

ARCHS = ("dcgan", "fastgan")
PRESETS: dict[str, dict[str, Any]] = {
    "baseline": {"arch": "dcgan", "loss": "bce", "spectral_norm": False, "diffaugment": "", "ema": 0.0, "recon_weight": 0.0},
    "strong": {
        "arch": "fastgan", "loss": "hinge", "spectral_norm": True, "diffaugment": "color,translation,cutout", "ema": 0.999,
        "recon_weight": 1.0, "base_channels": 8, "batch": 16,
    },
}


@dataclass(frozen=True)
class GanConfig:
    size: int = 64
    preset: str = "strong"
    arch: str = "dcgan"  # "dcgan" (networks/gan.py) or "fastgan" (networks/fastgan.py); old runs are dcgan
    loss: str = "hinge"  # "bce" (the article's) or "hinge"
    spectral_norm: bool = True
    diffaugment: str = "color,translation,cutout"  # "" = off
    ema: float = 0.999  # 0 = off
    recon_weight: float = 0.0  # fastgan: weight of D's L1 reconstruction of real images
    conditional: bool = False
    batch: int = 32
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    z_dim: int = 128
    base_channels: int = 64  # dcgan: width at the 64 px end x 2^k; fastgan: width at 64 px
    seed: int = 0
    log_every: int = 10

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> GanConfig:
        if preset not in PRESETS:
            raise EngineError(f"Unknown GAN preset {preset!r}; use one of {', '.join(PRESETS)}.")
        return cls(preset=preset, **{**PRESETS[preset], **overrides})

    def __post_init__(self) -> None:
        depth_for(self.size)  # validates the size
        if self.arch not in ARCHS:
            raise EngineError(f"GAN architecture must be one of {', '.join(ARCHS)}, got {self.arch!r}.")
        if self.recon_weight and self.arch != "fastgan":
            raise EngineError("recon_weight needs the fastgan discriminator (the dcgan one has no decoders).")
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


def build_generator(config: GanConfig, num_classes: int) -> Generator | FastGenerator:
    classes = num_classes if config.conditional else 0
    if config.arch == "fastgan":
        return FastGenerator(config.size, z_dim=config.z_dim, base=config.base_channels, num_classes=classes)
    return Generator(config.size, z_dim=config.z_dim, base=config.base_channels, num_classes=classes)


def build_discriminator(config: GanConfig, num_classes: int) -> Discriminator | FastDiscriminator:
    classes = num_classes if config.conditional else 0
    if config.arch == "fastgan":
        return FastDiscriminator(config.size, base=config.base_channels, num_classes=classes, spectral=config.spectral_norm)
    return Discriminator(config.size, base=config.base_channels, num_classes=classes, spectral=config.spectral_norm, batch_norm=not config.spectral_norm)


class GanTrainer(Trainer):
    kind = "gan"

    def __init__(self, config: GanConfig, data: CatalogueData, *, device: str | None = None, shard: tuple[int, int] = (0, 1)) -> None:
        if data.images.shape[-1] != config.size:
            raise EngineError(f"The dataset is prepared at {data.images.shape[-1]} px but the GAN is {config.size} px.")
        rank, world = shard
        if config.batch % world:
            raise EngineError(f"The batch ({config.batch}) must split evenly over {world} processes.")
        super().__init__(config, data, device=device)
        self.shard = shard
        classes = len(data.label_names) if config.conditional else 0
        self.G = build_generator(config, classes).to(self.device)
        self.D = build_discriminator(config, classes).to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval() if config.ema else None
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=betas)
        # What the steps call: the networks themselves, or their DistributedDataParallel
        # wrappers (distributed.wrap); checkpoints always hold the bare networks.
        self.G_train: torch.nn.Module = self.G
        self.D_train: torch.nn.Module = self.D
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
        return diff_augment(x, self.rng, self.config.diffaugment, shard=self.shard) if self.config.diffaugment else x

    def _mine(self, x: torch.Tensor) -> torch.Tensor:
        """This process's slice of a tensor drawn for the whole batch."""
        rank, world = self.shard
        n = len(x) // world
        return x[rank * n : (rank + 1) * n]

    def _train_step(self) -> dict[str, float]:
        cfg = self.config
        idx = self._mine(self.batch_indices(cfg.batch)).to(self.device)
        real = flip(self.images[idx].float() / 127.5 - 1, self.rng, shard=self.shard)
        labels = self.labels[idx] if cfg.conditional else None
        z = self._mine(torch.randn(cfg.batch, cfg.z_dim, generator=self.rng)).to(self.device)
        fastgan = cfg.arch == "fastgan"
        part = int(torch.randint(4, (1,), generator=self.rng)) if fastgan else 0  # quadrant D reconstructs

        figures: dict[str, torch.Tensor] = {}
        with self.autocast():
            fake = self.G_train(z, labels)
            if fastgan:
                # One pass over real and fake (D has no batch norm, so this equals two passes);
                # the decoders run on the real rows only.
                real_aug, fake_aug = self._aug(real), self._aug(fake.detach())
                both_labels = torch.cat([labels, labels]) if labels is not None else None
                logits, (rec_whole, rec_part) = self.D_train(torch.cat([real_aug, fake_aug]), both_labels, part=part, rows=len(real))
                logits = logits.float()
                real_logits, fake_logits = logits[: len(real)], logits[len(real) :]
                whole, quadrant = reconstruction_targets(real_aug, part)
                recon = F.l1_loss(rec_whole.float(), whole.float()) + F.l1_loss(rec_part.float(), quadrant.float())
                figures["loss_recon"] = recon.detach()
            else:
                real_logits = self.D_train(self._aug(real), labels).float()
                fake_logits = self.D_train(self._aug(fake.detach()), labels).float()
        loss_d = d_loss(cfg.loss, real_logits, fake_logits)
        if fastgan and cfg.recon_weight:
            loss_d = loss_d + cfg.recon_weight * recon
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        # G's step goes through the bare D with its weights frozen: no gradients are computed
        # (or all-reduced) for D's weights.
        self.D.requires_grad_(False)
        try:
            with self.autocast():
                gen_logits = self.D(self._aug(fake), labels).float()
            loss_g = g_loss(cfg.loss, gen_logits)
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        finally:
            self.D.requires_grad_(True)
        self.opt_g.step()
        if self.G_ema is not None:
            update_ema(self.G_ema, self.G, self.config.ema, self.step)

        figures["loss_d"] = loss_d.detach()
        figures["loss_g"] = loss_g.detach()
        figures["d_accuracy"] = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()).detach() / 2
        return self._report(figures)

    def _report(self, figures: dict[str, torch.Tensor]) -> dict[str, float]:
        """Plain floats for the history; averaged over processes in a distributed run, so the
        history is the whole batch's, as in one process."""
        keys = ["loss_d", "loss_g", "d_accuracy", *(["loss_recon"] if "loss_recon" in figures else [])]
        values = torch.stack([figures[k].float() for k in keys])
        if self.shard[1] > 1:
            import torch.distributed as dist

            dist.all_reduce(values)
            values = values / self.shard[1]
        return dict(zip(keys, values.tolist()))

    def sampler(self) -> Generator | FastGenerator:
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
            "arch": self.config.arch,  # older exports have none: dcgan
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
