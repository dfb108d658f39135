"""Training the backdrop GAN on a handful of backdrop photos, and generating backdrops of any size.

A texture GAN with DiffAugment (networks/backdrop.py): every step takes random ``crop`` px
crops of the training photos (kept at ``photo_short`` px on the short side), at a scale drawn
from ``scales`` (1.0: the photo's own pixels; 0.7: a 1.43x wider crop shrunk to ``crop``, so
the generator sees each texture at a couple of sizes) and mirrored at random; the generator
makes crops of the same size from an 8x8 noise field and the look (which photo). Hinge loss,
spectral norm in D, DiffAugment (color, translation, cutout) on real and generated images in
both D's and G's step, Adam, an EMA of G for sampling. Every random draw comes from
``self.rng``: resume is exact (base.Trainer).

Generating a backdrop for a frame (``generate``): the generator runs at the training scale,
where the frame's short side is ``render_short`` px (as many noise cells as that takes), and
the result is resized smoothly to the frame. A 1280x1600 frame is generated at 960x1200: at
that scale the texture's grain is fine next to a product (generated at 384 px and upscaled,
the same grain became blotches the size of a logo: docs/models.md), in about 1-2 s on a CPU.
"""
from __future__ import annotations

import copy
import hashlib
import io
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import torch
import torch.nn.functional as F

from ..errors import EngineError
from ..networks.backdrop import BackdropGenerator, PatchDiscriminator
from .augment import diff_augment, flip
from .base import Trainer, config_from_dict, update_ema
from .data import CleanReport
from .gan import d_loss, g_loss
from .segment_data import photo_at_short_side

__all__ = [
    "DEFAULT_STEPS", "BackdropConfig", "BackdropData", "BackdropTrainer", "prepare_backdrops", "backdrop_config", "build_generator",
    "generator_from_export", "generate", "is_backdrop_export", "seed_for", "STYLE_PARAMS",
]

# The published style's parameters for the `background` processor: the product standing on a
# table top in front of a wall, both made of the generated backdrop (scene "tabletop"), portrait
# frame, with a contact shadow, slightly defocused (blur 2: sigma 3 px at 1600 px); an admin may
# change any of it on the style (docs/models.md, "Generated backdrops").
STYLE_PARAMS = {"shadow": "contact", "aspect": "4:5", "fill": 0.8, "align": "bottom", "blur": 2, "scene": "tabletop"}

# What an export written before these generator options existed was built with.
LEGACY_GENERATOR = {"upsample": "nearest", "rgb_skips": False, "periodic": 0}

# Steps of `imagegen_train backdrop` by default; measured steps/s and wall-clock in docs/models.md.
DEFAULT_STEPS = 1500


@dataclass(frozen=True)
class BackdropConfig:
    crop: int = 64  # training crop, px (8 noise cells of 8 px)
    batch: int = 16
    photo_short: int = 256  # training photos' short side, px: the scale backdrops are generated at
    scales: tuple[float, ...] = (1.0, 0.7)
    z_channels: int = 16
    look_dim: int = 16
    lr_g: float = 2e-4
    lr_d: float = 4e-4  # TTUR: D learns at twice G's rate (docs/models.md: the A/B that chose it)
    beta1: float = 0.5
    beta2: float = 0.99
    diffaugment: str = "color,translation,cutout"
    ema: float = 0.995
    upsample: str = "bilinear"  # generator upsampling: "nearest" or "bilinear"
    rgb_skips: bool = True  # StyleGAN2-style RGB output at every level (networks/backdrop.py)
    periodic: int = 4  # PSGAN-style periodic input channels, wave vectors learned per look
    render_short: int = 960  # px: a frame's short side is generated at this size, then resized
    seed: int = 0
    log_every: int = 10

    def __post_init__(self) -> None:
        if self.crop < 16 or self.crop % 8:
            raise EngineError(f"The backdrop crop must be a multiple of 8 of at least 16 px, got {self.crop}.")
        if self.photo_short < self.crop * 2:
            raise EngineError(f"photo_short ({self.photo_short}) must be at least twice the crop ({self.crop}).")
        if not self.scales or not all(0.25 <= s <= 1.0 for s in self.scales):
            raise EngineError(f"Crop scales must be between 0.25 and 1, got {self.scales}.")
        if self.batch < 1:
            raise EngineError(f"The batch must be at least 1, got {self.batch}.")
        if not 0 <= self.ema < 1:
            raise EngineError(f"EMA decay must be in [0, 1), got {self.ema}.")


@dataclass
class BackdropData:
    """Backdrop photos as uint8 (3, H, W), short side ``photo_short``; each is one look."""

    photos: list[torch.Tensor]
    names: list[str]
    hashes: list[str]
    report: CleanReport = field(default_factory=CleanReport)
    origin: str = ""

    @property
    def label_names(self) -> list[str]:  # the base Trainer checks it on resume: same photos, same looks
        return list(self.names)

    @property
    def keys(self) -> list[str]:
        return list(self.names)

    def __len__(self) -> int:
        return len(self.photos)

    # Every photo is trained on: with a handful of photos, holding one out would lose a look.
    # Memorisation is measured against the training photos themselves (backdrop_eval.py).
    def train(self) -> BackdropData:
        return self

    def held_out(self) -> BackdropData:
        return BackdropData([], [], [], self.report, self.origin)


def prepare_backdrops(items: Iterable[tuple[str, bytes]], *, photo_short: int = 256, min_side: int = 128) -> BackdropData:
    """(name, bytes) photos -> BackdropData; unreadable, too small and duplicate files are
    listed in the report and skipped."""
    from ..errors import DecodeError
    from ..io import decode

    report = CleanReport()
    photos: list[torch.Tensor] = []
    names: list[str] = []
    hashes: list[str] = []
    for name, data in items:
        report.collected += 1
        digest = hashlib.sha256(data).hexdigest()
        if digest in hashes:
            report.exact_duplicates.append((name, names[hashes.index(digest)]))
            continue
        try:
            image = decode(data)
        except DecodeError as exc:
            report.corrupt.append((name, str(exc)))
            continue
        if min(image.width, image.height) < min_side:
            report.too_small.append((name, f"{image.width}x{image.height}"))
            continue
        photos.append(photo_at_short_side(image, photo_short))
        names.append(name)
        hashes.append(digest)
    report.kept = len(photos)
    if not photos:
        raise ValueError(f"No usable backdrop photo ({report.summary()}); photos need a short side of at least {min_side} px.")
    return BackdropData(photos, names, hashes, report)


def backdrop_config(values: dict[str, Any]) -> BackdropConfig:
    """The config from saved plain data (a run row, a checkpoint, an export); data from before
    the generator had its options gets the first design it was made with (LEGACY_GENERATOR)."""
    return config_from_dict(BackdropConfig, {**LEGACY_GENERATOR, **values})


def build_generator(config: BackdropConfig, looks: int) -> BackdropGenerator:
    return BackdropGenerator(looks, z_channels=config.z_channels, look_dim=config.look_dim,
                             upsample=config.upsample, rgb_skips=config.rgb_skips, periodic=config.periodic)


def random_crops(photos: list[torch.Tensor], g: torch.Generator, n: int, crop: int, scales: tuple[float, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """n crops (N, 3, crop, crop) in 0..1 and their photo index; one scale per batch."""
    scale = scales[int(torch.randint(len(scales), (1,), generator=g))]
    side = round(crop / scale)
    looks = torch.randint(len(photos), (n,), generator=g)
    out = []
    for k in looks.tolist():
        p = photos[k]
        h, w = p.shape[-2:]
        top = int(torch.randint(h - side + 1, (1,), generator=g))
        left = int(torch.randint(w - side + 1, (1,), generator=g))
        out.append(p[:, top : top + side, left : left + side])
    x = torch.stack(out).float() / 255
    if side != crop:
        x = F.interpolate(x, size=(crop, crop), mode="bilinear", antialias=True, align_corners=False)
    return x, looks


class BackdropTrainer(Trainer):
    kind = "backdrop"

    def __init__(self, config: BackdropConfig, data: BackdropData, *, device: str | None = None) -> None:
        if len(data) == 0:
            raise EngineError("No backdrop photos to train on.")
        if min(min(p.shape[-2:]) for p in data.photos) < round(config.crop / min(config.scales)):
            raise EngineError("The backdrop photos are smaller than the training crop at its smallest scale.")
        super().__init__(config, data, device=device)
        looks = len(data)
        self.G = build_generator(config, looks).to(self.device)
        self.D = PatchDiscriminator(looks).to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval()
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=betas)
        self.cells = config.crop // self.G.factor
        # fixed inputs for sample grids from their own generator (exact resume)
        g = torch.Generator().manual_seed(config.seed + 1)
        n = max(8, 2 * looks) if looks <= 8 else looks
        self.fixed_looks = torch.arange(n) % looks
        self.fixed_z = torch.randn(n, config.z_channels, 2 * self.cells, 2 * self.cells, generator=g)

    def _modules(self) -> dict[str, Any]:
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema, "opt_g": self.opt_g, "opt_d": self.opt_d}

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.rng, self.config.diffaugment) if self.config.diffaugment else x

    def _train_step(self) -> dict[str, float]:
        cfg = self.config
        real, looks = random_crops(self.data.photos, self.rng, cfg.batch, cfg.crop, cfg.scales)
        real = flip(real * 2 - 1, self.rng).to(self.device)
        looks = looks.to(self.device)
        z = torch.randn(cfg.batch, cfg.z_channels, self.cells, self.cells, generator=self.rng).to(self.device)

        with self.autocast():
            fake = self.G(z, looks)
            real_logits = self.D(self._aug(real), looks).float()
            fake_logits = self.D(self._aug(fake.detach()), looks).float()
        loss_d = d_loss("hinge", real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        with self.autocast():
            gen_logits = self.D(self._aug(fake), looks).float()
        loss_g = g_loss("hinge", gen_logits)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        update_ema(self.G_ema, self.G, self.config.ema, self.step)
        accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_accuracy": accuracy.item()}

    @torch.no_grad()
    def sample(self, z: torch.Tensor, looks: torch.Tensor) -> torch.Tensor:
        """EMA generator's images in 0..1 on the CPU."""
        with self.autocast():
            out = self.G_ema(z.to(self.device), looks.to(self.device))
        return ((out.float() + 1) / 2).clamp(0, 1).cpu()

    def sample_grid(self) -> torch.Tensor:
        """Generated 128 px backdrops, two per look, next to a crop of that look's photo."""
        from .gan import make_grid

        fake = self.sample(self.fixed_z, self.fixed_looks)
        side = fake.shape[-1]
        real = []
        for k in self.fixed_looks.tolist():
            p = self.data.photos[k].float() / 255
            real.append(F.interpolate(p[None], size=(side, round(side * p.shape[2] / p.shape[1])), mode="bilinear",
                                      antialias=True, align_corners=False)[0, :, :, :side])
        tiles = torch.stack([t for pair in zip(torch.stack(real), fake) for t in pair])
        return make_grid(tiles, columns=4)

    def export(self) -> dict[str, Any]:
        return {
            "kind": "backdrop",
            "config": asdict(self.config),
            "looks": list(self.data.names),
            "generator": {k: v.detach().cpu().contiguous() for k, v in self.G_ema.state_dict().items()},
            "step": self.step,
        }


# ----------------------------------------------------------------------------- inference

TORCH_ZIP = b"PK\x03\x04"  # torch.save's zip container; no photo format starts with it


def is_backdrop_export(data: bytes | None) -> bool:
    """True for a file written by ``torch.save(trainer.export())``; photos are never zips."""
    return bool(data) and data[:4] == TORCH_ZIP


def generator_from_export(data: bytes) -> tuple[BackdropGenerator, BackdropConfig]:
    """The EMA generator from an export's bytes (weights-only loading: a file cannot run code)."""
    try:
        export = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        if not isinstance(export, dict) or export.get("kind") != "backdrop":
            raise ValueError(f"kind is {export.get('kind') if isinstance(export, dict) else type(export).__name__!r}, not 'backdrop'")
        config = backdrop_config(export["config"])
        net = build_generator(config, len(export["looks"]))
        net.load_state_dict(export["generator"])
    except Exception as exc:  # noqa: BLE001 - any problem with the file is the same problem for the admin
        raise EngineError(
            f"The style's reference file is not a backdrop generator made by `imagegen_train backdrop` ({exc}). "
            "Train one, or upload a background photo instead."
        ) from exc
    return net.eval().requires_grad_(False), config


def seed_for(rgb: torch.Tensor) -> int:
    """A seed from an image's content (quantised, subsampled): the same upload gets the same backdrop."""
    sample = (rgb[:, ::4, ::4].float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().contiguous()
    return int.from_bytes(hashlib.sha256(sample.numpy().tobytes()).digest()[:8], "little") >> 1


@torch.no_grad()
def generate(net: BackdropGenerator, config: BackdropConfig, width: int, height: int, seed: int, *,
             look: int | None = None, device: torch.device | None = None) -> torch.Tensor:
    """A (3, height, width) backdrop in 0..1: the look (``seed`` picks one unless given) and the
    noise come from ``seed``; generated with the frame's short side at ``render_short`` px
    (at most the frame's own), then resized to the frame."""
    device = device or next(net.parameters()).device
    g = torch.Generator().manual_seed(seed)
    if look is None:
        look = int(torch.randint(net.looks, (1,), generator=g))
    short = min(config.render_short, min(width, height))
    scale = short / min(width, height)
    f = net.factor
    cells = (max(1, math.ceil(height * scale / f)), max(1, math.ceil(width * scale / f)))
    z = torch.randn(1, net.z_channels, *cells, generator=g).to(device)
    out = (net(z, torch.tensor([look], device=device)).float() + 1) / 2
    gh, gw = round(height * scale), round(width * scale)
    out = out[:, :, :gh, :gw]  # the noise grid rounds up to whole cells
    if (gh, gw) != (height, width):
        out = F.interpolate(out, size=(height, width), mode="bicubic", align_corners=False)
    return out[0].clamp(0, 1).contiguous()
