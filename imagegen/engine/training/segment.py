"""Fine-tuning the U²-Net-p product segmenter on the shop's own transparent photos.

Starts from the built-in weights (ported from ``rembg/u2netp.onnx``) and trains on pairs
composited on the fly (segment_data.py): a transparent product on a background photo or a
procedural background, augmented; the mask to learn is the composited alpha. Every draw
comes from ``self.rng``, so a resumed run makes the same pairs.

Loss: binary cross-entropy on all seven outputs (the fused mask and the six side outputs:
U²-Net's deep supervision, as the network was trained) plus ``dice_weight`` x (1 - soft
IoU) on the fused one, which weighs a small product's pixels as much as a big one's.
Adam at a low learning rate: the network already segments products on plain backgrounds,
and should keep doing so while it learns which salient thing on a busy photo is the product.

``export()`` writes the format ``engine.segment`` loads (``{"kind": "segment",
"state_dict": ...}``), so the run's weights file is what the ``cutout`` style keeps.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import EngineError
from ..networks.u2netp import U2NetP
from .base import Trainer
from .segment_data import SegmentData, compose, random_params

__all__ = ["DEFAULT_STEPS", "SegmentConfig", "SegmentTrainer", "builtin_segmenter", "segment_loss", "predict"]

# Steps of `imagegen_train segment` by default: about 19 minutes on 2 idle CPU cores (1.1 s a step, docs/models.md).
DEFAULT_STEPS = 1000


@dataclass(frozen=True)
class SegmentConfig:
    size: int = 224  # training resolution (the network runs at 320 px in production; see docs/models.md)
    batch: int = 4
    lr: float = 1e-4
    freeze_stages: int = 1  # first encoder stages kept as built (edges, colours): a cheaper backward, less overfitting
    dice_weight: float = 1.0
    photo_share: float = 0.75  # of the non-plain backgrounds, how many are photos (when there are any)
    plain_share: float = 0.2  # plain backgrounds (half pure white), so the studio case is not forgotten
    min_scale: float = 0.35  # product's long side as a share of the frame
    max_scale: float = 1.0
    shadow: float = 0.5  # probability of a synthetic shadow
    blur: float = 0.3
    jpeg: float = 0.5
    seed: int = 0
    log_every: int = 10

    def __post_init__(self) -> None:
        if not 32 <= self.size <= 1024 or self.size % 32:
            raise EngineError(f"The segmentation training size must be a multiple of 32 between 32 and 1024, got {self.size}.")
        if not 0 <= self.freeze_stages <= 6:
            raise EngineError(f"freeze_stages must be between 0 and 6 (the encoder's stages), got {self.freeze_stages}.")
        if self.batch < 1:
            raise EngineError(f"The batch must be at least 1, got {self.batch}.")
        if not 0 < self.min_scale <= self.max_scale <= 1:
            raise EngineError(f"Need 0 < min_scale <= max_scale <= 1, got {self.min_scale} and {self.max_scale}.")

    def params(self, g: torch.Generator, n_backgrounds: int) -> dict[str, Any]:
        return random_params(
            g, n_backgrounds=n_backgrounds, photo_share=self.photo_share, plain_share=self.plain_share,
            scale=(self.min_scale, self.max_scale), shadow=self.shadow, blur=self.blur, jpeg=self.jpeg,
        )


def builtin_segmenter() -> U2NetP:
    """The built-in U²-Net-p (weights read from the installed package's ONNX file)."""
    from ..networks.onnx_weights import u2netp_path
    from ..networks.u2netp import load_u2netp

    return load_u2netp(u2netp_path())


def segment_loss(logits: list[torch.Tensor], mask: torch.Tensor, dice_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """BCE summed over the seven outputs, plus dice_weight x (1 - soft IoU) of the fused one."""
    bce = sum(F.binary_cross_entropy_with_logits(out.float(), mask) for out in logits)
    prob = torch.sigmoid(logits[0].float())
    inter = (prob * mask).sum(dim=(1, 2, 3))
    union = (prob + mask - prob * mask).sum(dim=(1, 2, 3)).clamp(min=1e-6)
    soft_iou = 1 - (inter / union).mean()
    return {"loss": bce + dice_weight * soft_iou, "bce": bce, "iou_loss": soft_iou}


@torch.no_grad()
def predict(net: torch.nn.Module, rgb: torch.Tensor, *, batch: int = 8) -> torch.Tensor:
    """(N, 3, S, S) 0..1 -> (N, 1, S, S) probability, at the input's own size."""
    net.eval()
    out = [torch.sigmoid(net(net.normalise(rgb[i : i + batch]))[0].float()) for i in range(0, len(rgb), batch)]
    return torch.cat(out)


class SegmentTrainer(Trainer):
    kind = "segment"

    def __init__(self, config: SegmentConfig, data: SegmentData, *, device: str | None = None) -> None:
        if len(data) == 0:
            raise EngineError("No transparent product photos to train on.")
        super().__init__(config, data, device=device)
        # channels-last: oneDNN's fast convolution layout on CPU, also good on GPU
        self.net = builtin_segmenter().train().to(self.device, memory_format=torch.channels_last)
        for stage in self.net.encoder[: config.freeze_stages]:
            stage.requires_grad_(False)
        self.opt = torch.optim.Adam([p for p in self.net.parameters() if p.requires_grad], lr=config.lr)
        # fixed pairs for the sample grid: first products on a spread of backgrounds, not from self.rng
        g = torch.Generator().manual_seed(20261201)
        n = min(4, len(data))
        pairs = [compose(data.products[i], config.params(g, len(data.backgrounds)), data.backgrounds, config.size) for i in range(n)]
        self.fixed_rgb = torch.stack([p[0] for p in pairs])
        self.fixed_mask = torch.stack([p[1] for p in pairs])
        self._builtin_fixed: torch.Tensor | None = None

    def _modules(self) -> dict[str, Any]:
        return {"net": self.net, "opt": self.opt}

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        cfg, data = self.config, self.data
        pairs = [compose(data.products[i], cfg.params(self.rng, len(data.backgrounds)), data.backgrounds, cfg.size)
                 for i in self.batch_indices(cfg.batch).tolist()]
        rgb = torch.stack([p[0] for p in pairs]).to(self.device)
        mask = torch.stack([p[1] for p in pairs]).to(self.device)
        return rgb, mask

    def _train_step(self) -> dict[str, float]:
        rgb, mask = self._batch()
        self.net.train()
        with self.autocast():
            logits = self.net(self.net.normalise(rgb).contiguous(memory_format=torch.channels_last))
        losses = segment_loss(logits, mask, self.config.dice_weight)
        self.opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        self.opt.step()
        return {k: float(v.detach()) for k, v in losses.items()}

    def sample_grid(self) -> torch.Tensor:
        """Rows of: input, built-in mask, fine-tuned mask, truth (fixed pairs)."""
        from .gan import make_grid

        if self._builtin_fixed is None:
            self._builtin_fixed = predict(builtin_segmenter(), self.fixed_rgb)
        tuned = predict(self.net, self.fixed_rgb.to(self.device)).cpu()
        self.net.train()
        grey = [m.expand(-1, 3, -1, -1) for m in (self._builtin_fixed, tuned, self.fixed_mask)]
        tiles = torch.stack([t for row in zip(self.fixed_rgb, *grey) for t in row])
        return make_grid(tiles, columns=4)

    def export(self) -> dict[str, Any]:
        return {
            "kind": "segment",
            "state_dict": {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()},
            "config": asdict(self.config),
            "step": self.step,
        }
