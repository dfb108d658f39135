"""Evaluation on the held-out split.

GAN (unpaired: there is no "right" generated image, so PSNR/SSIM mean nothing here):
distribution distances between generated images and held-out catalogue images in the
``randconv64-v1`` embedding (KID, Frechet distance — not FID, see metrics/embedding.py —
and sliced Wasserstein), precision/recall, the discriminator's accuracy on held-out real vs
fresh generated images, and the memorisation figure (distance of each sample to its nearest
training image in thumb32-rms space).

Enhancement (paired, the usual super-resolution protocol): each held-out image is the
high-resolution truth; it is reduced 4x with antialiased bicubic and rounded to 8 bits
(degrade.EVAL_DEGRADATION), then restored by the network, by bicubic and by Lanczos
(Pillow). PSNR and SSIM on the BT.601 luma channel Y (MATLAB's rgb2ycbcr) and on RGB, data
range 1.0 (8-bit values / 255), with a 4-pixel border shaved. All three outputs are rounded
to 8 bits first, as a saved image would be. The network's figures are stored under "gan"
(the key older runs used; the admin reads it).
"""
from __future__ import annotations

from typing import Any

import torch

from ..metrics.embedding import EMBEDDING_NAME, embed
from ..metrics.generative import THUMB_SPACE, frechet_distance, kid, nearest, precision_recall, sliced_wasserstein, thumbnails
from ..metrics.quality import psnr, ssim
from .data import CatalogueData
from .degrade import EVAL_DEGRADATION, degrade, upscale_pil
from .enhance import EnhanceTrainer
from .gan import GanTrainer

__all__ = ["evaluate_gan", "evaluate_enhance", "rgb_to_y", "BORDER"]

BORDER = 4


@torch.no_grad()
def evaluate_gan(
    trainer: GanTrainer, data: CatalogueData, *, samples: int = 256, seed: int = 1234, memorisation_threshold: float = 0.02
) -> dict[str, Any]:
    """``data`` is the whole catalogue (its held-out flags say the split)."""
    held, train = data.held_out(), data.train()
    if len(held) < 2:
        raise ValueError("The held-out split has fewer than 2 images; add images to the catalogue or raise the hold-out share.")
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, trainer.config.z_dim, generator=g)
    labels = train.labels[torch.randint(len(train), (samples,), generator=g)]
    fake = torch.cat([trainer.sample(z[i : i + 64], labels[i : i + 64]) for i in range(0, samples, 64)])

    f_fake, f_held, f_train = embed(fake), embed(held.floats()), embed(train.floats())
    k = min(3, len(held) - 1)
    precision, recall = precision_recall(f_held, f_fake, k=k)
    distance, _ = nearest(thumbnails(fake), thumbnails(train.floats()))
    return {
        "embedding": EMBEDDING_NAME,
        "generated": samples,
        "held_out_images": len(held),
        "train_images": len(train),
        "kid": kid(f_held, f_fake),
        "frechet": frechet_distance(f_held, f_fake),
        "swd": sliced_wasserstein(f_held, f_fake),
        "precision": precision,
        "recall": recall,
        "pr_k": k,
        "kid_train": kid(f_train, f_fake),
        # How far apart the two real splits are: the floor a perfect generator would reach.
        "kid_real_floor": kid(f_held, f_train),
        "d_accuracy_held_out": _d_accuracy(trainer, held, fake[: max(len(held), 2)], seed),
        "d_accuracy_train": _d_accuracy(trainer, train, fake[: max(len(train), 2)], seed),
        "memorisation_space": THUMB_SPACE,
        "memorisation_threshold": memorisation_threshold,
        "nearest_train_min": float(distance.min()),
        "nearest_train_median": float(distance.median()),
        "memorised_share": float((distance < memorisation_threshold).float().mean()),
    }


def _d_accuracy(trainer: GanTrainer, real: CatalogueData, fake: torch.Tensor, seed: int) -> float:
    """Share of images D classifies right (logit > 0 = real), real and fake weighted equally."""
    D = trainer.D
    was_training = D.training
    D.eval()
    try:
        labels = real.labels.to(trainer.device) if trainer.config.conditional else None
        fake_labels = real.labels[: len(fake)].to(trainer.device) if trainer.config.conditional else None
        with trainer.autocast():
            real_logits = D(real.floats().to(trainer.device) * 2 - 1, labels).float()
            fake_logits = D(fake.to(trainer.device) * 2 - 1, fake_labels).float()
    finally:
        D.train(was_training)
    return float(((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2)


def rgb_to_y(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma as SR papers compute it (MATLAB rgb2ycbcr): 16..235 studio range, / 255."""
    r, g, b = rgb.unbind(-3)
    return ((16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255).unsqueeze(-3)


def _q8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round() / 255


@torch.no_grad()
def evaluate_enhance(trainer: EnhanceTrainer, data: CatalogueData) -> dict[str, Any]:
    """PSNR/SSIM of the network ("gan") vs bicubic vs Lanczos on the held-out images."""
    held = data.held_out()
    if len(held) < 1:
        raise ValueError("The held-out split is empty; add images to the catalogue or raise the hold-out share.")
    scores: dict[str, dict[str, list[float]]] = {m: {"psnr_y": [], "ssim_y": [], "psnr_rgb": [], "ssim_rgb": []} for m in ("gan", "bicubic", "lanczos")}
    for hr in held.floats():
        low = degrade(hr, **EVAL_DEGRADATION)
        outputs = {
            "gan": trainer.enhance(low[None])[0],
            "bicubic": upscale_pil(low, "bicubic"),
            "lanczos": upscale_pil(low, "lanczos"),
        }
        target = hr[:, BORDER:-BORDER, BORDER:-BORDER]
        for method, out in outputs.items():
            out = _q8(out)[:, BORDER:-BORDER, BORDER:-BORDER]
            scores[method]["psnr_rgb"].append(float(psnr(out, target)))
            scores[method]["ssim_rgb"].append(float(ssim(out, target)))
            scores[method]["psnr_y"].append(float(psnr(rgb_to_y(out), rgb_to_y(target))))
            scores[method]["ssim_y"].append(float(ssim(rgb_to_y(out), rgb_to_y(target))))
    result: dict[str, Any] = {
        "held_out_images": len(held),
        "image_size": int(held.images.shape[-1]),
        "degradation": {**EVAL_DEGRADATION, "scale": 4, "method": "bicubic, antialiased, 8-bit"},
        "data_range": 1.0,
        "border": BORDER,
    }
    for method, figures in scores.items():
        result[method] = {name: sum(values) / len(values) for name, values in figures.items()}
    return result
