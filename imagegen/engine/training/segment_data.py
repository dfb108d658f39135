"""Segmentation training data: transparent product photos composited on backgrounds.

A transparent product photo (RGBA, alpha = the true mask) pasted onto any background gives a
training pair whose right answer is known exactly: the pasted alpha. ``prepare_segment``
keeps the products with *real* transparency (some pixels see-through, some opaque), cropped
to their alpha's bounds and stored small (long side ``store_size``) as uint8 RGBA; the split
into train and held-out is decided by each file's content hash, as for the other models.

``compose`` makes one pair at a given size from explicit parameters; ``random_params`` draws
those parameters from a ``torch.Generator`` (the trainer's, so a resumed run composes the
same pairs). Augmentations: product scale and position, mirror, colour jitter of the product
and of the background, a synthetic shadow under the product (contact or drop, darkening the
background only: a shadow is not the product), blur, noise and JPEG of the composite. The
mask is never blurred or compressed: it equals the composited alpha.

Backgrounds: photos (a random crop of each, jittered) and procedural ones drawn from the same
generator (gradients, smooth noise textures, stripes, checks, and scattered shapes that are
salient but are not the product), so training works without any photo.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import DecodeError
from ..io import decode
from .data import CatalogueItem, CleanReport, _is_held_out
from .degrade import blur, jpeg_round_trip

__all__ = [
    "SegmentData",
    "prepare_segment",
    "prepare_backgrounds",
    "has_real_transparency",
    "compose",
    "random_params",
    "procedural_background",
    "NEEDS_TRANSPARENCY",
    "SegmentReport",
]

NEEDS_TRANSPARENCY = (
    "Segmentation training needs transparent product photos (PNG or WebP whose alpha cuts the product out): "
    "their alpha is the right answer the network learns from"
)
STORE_SIZE = 512  # long side products are kept at: room to scale up to a full 320 px frame


def has_real_transparency(alpha: torch.Tensor | None) -> bool:
    """True when at least 1% of the pixels are see-through and 1% opaque (an alpha channel
    that is all opaque, or all transparent, says nothing about where the product is)."""
    if alpha is None:
        return False
    see_through = float((alpha < 0.5).float().mean())
    return 0.01 <= see_through <= 0.99


@dataclass
class SegmentReport(CleanReport):
    """The cleaning report, plus the images skipped because they have no real transparency."""

    no_transparency: list[tuple[str, str]] = field(default_factory=list)  # (key, WxH)

    def as_dict(self) -> dict:
        return {**super().as_dict(), "no_transparency": [list(x) for x in self.no_transparency]}

    def summary(self) -> str:
        return f"{super().summary()}, {len(self.no_transparency)} without transparency"


@dataclass
class SegmentData:
    """Products as uint8 (4, h, w) tensors (RGB + alpha, cropped to the alpha's bounds) and
    background photos as uint8 (3, H, W)."""

    products: list[torch.Tensor]
    keys: list[str]
    hashes: list[str]
    holdout: torch.Tensor  # (N,) bool
    report: SegmentReport
    backgrounds: list[torch.Tensor] = field(default_factory=list)
    background_names: list[str] = field(default_factory=list)
    label_names: list[str] = field(default_factory=list)  # the Trainer base checks it on resume
    background_origin: str = ""  # where the photos came from, for the report

    def __len__(self) -> int:
        return len(self.products)

    def subset(self, mask: torch.Tensor) -> SegmentData:
        idx = mask.nonzero().flatten().tolist()
        return SegmentData(
            [self.products[i] for i in idx],
            [self.keys[i] for i in idx],
            [self.hashes[i] for i in idx],
            self.holdout[idx],
            self.report,
            self.backgrounds,
            self.background_names,
            self.label_names,
            self.background_origin,
        )

    def train(self) -> SegmentData:
        return self.subset(~self.holdout)

    def held_out(self) -> SegmentData:
        return self.subset(self.holdout)


def _crop_product(rgb: torch.Tensor, alpha: torch.Tensor, store_size: int) -> torch.Tensor:
    """RGBA cropped to the alpha's bounds (a 2% margin), long side at most ``store_size``,
    resized premultiplied (no dark fringe from the RGB under alpha 0), as uint8."""
    rows = (alpha[0] > 0.02).any(dim=1).nonzero().flatten()
    cols = (alpha[0] > 0.02).any(dim=0).nonzero().flatten()
    h, w = alpha.shape[-2:]
    pad = max(1, round(0.02 * max(h, w)))
    top, bottom = max(0, int(rows[0]) - pad), min(h, int(rows[-1]) + 1 + pad)
    left, right = max(0, int(cols[0]) - pad), min(w, int(cols[-1]) + 1 + pad)
    rgb, alpha = rgb[:, top:bottom, left:right], alpha[:, top:bottom, left:right]
    scale = min(1.0, store_size / max(rgb.shape[-2:]))
    if scale < 1:
        size = (max(1, round(rgb.shape[-2] * scale)), max(1, round(rgb.shape[-1] * scale)))
        rgb, alpha = _resize_rgba(rgb[None], alpha[None], size)
        rgb, alpha = rgb[0], alpha[0]
    return (torch.cat([rgb, alpha]).clamp(0, 1) * 255).round().to(torch.uint8)


def _resize_rgba(rgb: torch.Tensor, alpha: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Premultiplied antialiased resize of (N, 3, h, w) and (N, 1, h, w)."""
    pre = F.interpolate(torch.cat([rgb * alpha, alpha], dim=1), size=size, mode="bilinear", antialias=True, align_corners=False)
    a = pre[:, 3:].clamp(0, 1)
    return (pre[:, :3] / a.clamp(min=1e-4)).clamp(0, 1), a


def prepare_segment(
    items: Iterable[CatalogueItem], *, holdout: float = 0.2, min_side: int = 64, store_size: int = STORE_SIZE
) -> SegmentData:
    """The products with real transparency, split by content hash. Raises ValueError (the
    message starts with ``NEEDS_TRANSPARENCY``) when none is left."""
    report = SegmentReport()
    products: list[torch.Tensor] = []
    keys: list[str] = []
    hashes: list[str] = []
    seen: dict[str, str] = {}
    for item in items:
        report.collected += 1
        digest = hashlib.sha256(item.data).hexdigest()
        if digest in seen:
            report.exact_duplicates.append((item.key, seen[digest]))
            continue
        seen[digest] = item.key
        try:
            image = decode(item.data)
        except DecodeError as exc:
            report.corrupt.append((item.key, str(exc)))
            continue
        if min(image.width, image.height) < min_side:
            report.too_small.append((item.key, f"{image.width}x{image.height}"))
            continue
        if not has_real_transparency(image.alpha):
            report.no_transparency.append((item.key, f"{image.width}x{image.height}"))
            continue
        products.append(_crop_product(image.rgb.float(), image.alpha.float(), store_size))
        keys.append(item.key)
        hashes.append(digest)
    report.kept = len(products)
    if not products:
        raise ValueError(f"{NEEDS_TRANSPARENCY}; none found ({report.summary()}).")
    held = torch.tensor([_is_held_out(d, holdout) for d in hashes], dtype=torch.bool)
    if holdout > 0 and len(hashes) >= 2:
        order = sorted(range(len(hashes)), key=lambda j: hashes[j])
        if not held.any():
            held[order[0]] = True
        if held.all():
            held[order[-1]] = False
    return SegmentData(products, keys, hashes, held, report)


def prepare_backgrounds(items: Iterable[tuple[str, bytes]], *, short_side: int = 480) -> tuple[list[torch.Tensor], list[str]]:
    """Background photos (name, bytes) -> uint8 (3, H, W) with the short side ``short_side``
    (transparent ones on mid grey). Unreadable files are skipped."""
    tensors: list[torch.Tensor] = []
    names: list[str] = []
    for name, data in items:
        try:
            image = decode(data)
        except DecodeError:
            continue
        tensors.append(photo_at_short_side(image, short_side))
        names.append(name)
    return tensors, names


def photo_at_short_side(image, short_side: int) -> torch.Tensor:
    """A decoded photo as uint8 (3, H, W) with its short side ``short_side`` (transparent
    parts on mid grey): how background and backdrop photos are kept for training."""
    rgb = image.rgb.float()
    if image.alpha is not None:
        rgb = rgb * image.alpha + 0.5 * (1 - image.alpha)
    h, w = rgb.shape[-2:]
    scale = short_side / min(h, w)
    size = (max(short_side, round(h * scale)), max(short_side, round(w * scale)))
    rgb = F.interpolate(rgb[None], size=size, mode="bilinear", antialias=scale < 1, align_corners=False)[0]
    return (rgb.clamp(0, 1) * 255).round().to(torch.uint8)


# ----------------------------------------------------------------------------- composing


def _u(g: torch.Generator, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def _i(g: torch.Generator, n: int) -> int:
    return int(torch.randint(n, (), generator=g))


def random_params(g: torch.Generator, *, n_backgrounds: int, photo_share: float = 0.75, plain_share: float = 0.15,
                  scale: tuple[float, float] = (0.35, 1.0), shadow: float = 0.5, blur: float = 0.3, jpeg: float = 0.5) -> dict[str, Any]:
    """One composition's parameters, every number drawn from ``g`` in a fixed order (the
    same count of draws whatever is chosen, so one choice never shifts the next pair)."""
    r = [_u(g) for _ in range(24)]
    kind_draw = r[0]
    white = kind_draw < plain_share and r[1] < 0.5  # half the plain ones pure white, untouched: the studio case
    if kind_draw < plain_share:
        background: dict[str, Any] = {"kind": "plain", "level": 1.0 if white else 0.82 + 0.18 * r[2]}
    elif n_backgrounds and kind_draw < plain_share + (1 - plain_share) * photo_share:
        background = {"kind": "photo", "index": min(n_backgrounds - 1, int(r[1] * n_backgrounds)), "zoom": 0.5 + 0.5 * r[2], "x": r[3], "y": r[4]}
    else:
        background = {"kind": "procedural", "style": min(4, int(r[1] * 5)), "seed": int(r[2] * 2**31)}
    return {
        "background": background,
        "bg_jitter": (1.0, 1.0, 1.0) if white else (0.75 + 0.5 * r[5], 0.7 + 0.6 * r[6], 0.6 + 0.8 * r[7]),  # brightness, contrast, saturation
        "fg_jitter": (0.8 + 0.4 * r[8], 0.8 + 0.4 * r[9], 0.7 + 0.6 * r[10]),
        "scale": scale[0] + (scale[1] - scale[0]) * r[11],
        "x": r[12],
        "y": r[13],
        "flip": r[14] < 0.5,
        "shadow": ("contact" if r[16] < 0.5 else "drop") if r[15] < shadow else "none",
        "shadow_strength": 0.25 + 0.5 * r[17],
        "shadow_offset": (-0.1 + 0.2 * r[18], 0.02 + 0.08 * r[19]),
        "blur": 0.3 + 1.2 * r[21] if r[20] < blur else 0.0,
        "jpeg": int(35 + 60 * r[23]) if r[22] < jpeg else 0,
        "noise": 0.02 * r[5] * r[21],
    }


def _jitter(x: torch.Tensor, b: float, c: float, s: float) -> torch.Tensor:
    x = x * b
    mean = x.mean(dim=(-3, -2, -1), keepdim=True)
    x = (x - mean) * c + mean
    grey = x.mean(dim=-3, keepdim=True)
    return ((x - grey) * s + grey).clamp(0, 1)


def procedural_background(style: int, seed: int, size: int) -> torch.Tensor:
    """(3, size, size) 0..1: 0 gradient, 1 smooth noise texture, 2 stripes, 3 checks,
    4 scattered shapes on a texture (salient things that are not the product)."""
    g = torch.Generator().manual_seed(seed)
    c1, c2 = torch.rand(3, 1, 1, generator=g), torch.rand(3, 1, 1, generator=g)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    angle = float(torch.rand((), generator=g)) * math.pi
    along = xx * math.cos(angle) + yy * math.sin(angle)
    along = (along - along.min()) / (along.max() - along.min())  # 0..1 across the frame, any angle
    if style == 0:
        return (c1 + (c2 - c1) * along).clamp(0, 1)
    if style in (1, 4):
        t = torch.zeros(1, 1, size, size)
        for octave, cells in enumerate((4, 8, 16, 48)):
            noise = torch.rand(1, 1, cells, cells, generator=g)
            t += F.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False) / (octave + 1)
        t = (t - t.min()) / (t.max() - t.min() + 1e-6)
        out = c1 + (c2 - c1) * t[0]
        if style == 1:
            return out.clamp(0, 1)
        for _ in range(3 + int(torch.randint(6, (), generator=g))):  # shapes: ellipses and boxes
            colour = torch.rand(3, 1, 1, generator=g)
            cy, cx, ry, rx = (float(v) for v in torch.rand(4, generator=g))
            ry, rx = 0.05 + 0.25 * ry, 0.05 + 0.25 * rx
            if float(torch.rand((), generator=g)) < 0.5:
                inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
            else:
                inside = ((yy - cy).abs() < ry) & ((xx - cx).abs() < rx)
            out = torch.where(inside, colour * (0.8 + 0.4 * t[0]), out)
        return out.clamp(0, 1)
    freq = 4 + 28 * float(torch.rand((), generator=g))
    if style == 2:
        wave = (torch.sin(along * freq * 2 * math.pi) > 0).float()
    else:
        wave = ((torch.floor(xx * freq / 2) + torch.floor(yy * freq / 2)) % 2).float()
    return (c1 + (c2 - c1) * wave).clamp(0, 1)


def _background(p: dict[str, Any], photos: Sequence[torch.Tensor], size: int) -> torch.Tensor:
    bg = p["background"]
    if bg["kind"] == "plain":
        return torch.full((3, size, size), bg["level"])
    if bg["kind"] == "procedural":
        return procedural_background(bg["style"], bg["seed"], size)
    photo = photos[bg["index"]].float() / 255
    h, w = photo.shape[-2:]
    side = max(8, round(min(h, w) * bg["zoom"]))
    top, left = round((h - side) * bg["y"]), round((w - side) * bg["x"])
    crop = photo[:, top : top + side, left : left + side]
    return F.interpolate(crop[None], size=(size, size), mode="bilinear", antialias=side > size, align_corners=False)[0]


def _shadow(alpha: torch.Tensor, kind: str, strength: float, offset: tuple[float, float], size: int) -> torch.Tensor:
    """(1, S, S) darkening in 0..1 under the product: a soft ellipse at its base (contact) or
    its own silhouette shifted and blurred (drop)."""
    rows = (alpha[0] > 0.5).any(dim=1).nonzero().flatten()
    cols = (alpha[0] > 0.5).any(dim=0).nonzero().flatten()
    if len(rows) == 0:
        return torch.zeros_like(alpha)
    if kind == "contact":
        base, left, right = float(rows[-1]), float(cols[0]), float(cols[-1])
        yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32), indexing="ij")
        cx, rx = (left + right) / 2, max(2.0, (right - left) / 2 * 1.05)
        ry = max(2.0, rx * 0.15)
        d = ((xx - cx) / rx) ** 2 + ((yy - base) / ry) ** 2
        return (strength * torch.exp(-2 * d))[None]
    dx, dy = round(offset[0] * size), round(offset[1] * size)
    shifted = torch.roll(alpha, shifts=(dy, dx), dims=(-2, -1))
    return strength * blur(shifted[None], max(0.5, size / 80))[0]


def compose(product: torch.Tensor, p: dict[str, Any], photos: Sequence[torch.Tensor], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One training pair: (3, S, S) RGB in 0..1 and its (1, S, S) mask, the composited alpha.
    ``product`` is a uint8 (4, h, w) RGBA from ``prepare_segment``."""
    rgb = product[:3].float() / 255
    alpha = product[3:].float() / 255
    if p["flip"]:
        rgb, alpha = rgb.flip(-1), alpha.flip(-1)
    h, w = alpha.shape[-2:]
    scale = p["scale"] * size / max(h, w)
    ph, pw = max(1, min(size, round(h * scale))), max(1, min(size, round(w * scale)))
    fg, fa = _resize_rgba(rgb[None], alpha[None], (ph, pw))
    fg = _jitter(fg[0], *p["fg_jitter"])
    top, left = round((size - ph) * p["y"]), round((size - pw) * p["x"])
    mask = torch.zeros(1, size, size)
    mask[:, top : top + ph, left : left + pw] = fa[0]
    layer = torch.zeros(3, size, size)
    layer[:, top : top + ph, left : left + pw] = fg

    bg = _jitter(_background(p, photos, size), *p["bg_jitter"])
    if p["shadow"] != "none":
        bg = bg * (1 - _shadow(mask, p["shadow"], p["shadow_strength"], p["shadow_offset"], size)).clamp(0, 1)
    out = layer * mask + bg * (1 - mask)
    if p["blur"] > 0:
        out = blur(out[None], p["blur"])[0]
    if p["noise"] > 0:
        # a fixed pattern per pair (seeded from its parameters), not a draw from the trainer's generator
        g = torch.Generator().manual_seed(int(p["noise"] * 1e9) % 2**31)
        out = out + p["noise"] * torch.randn(out.shape, generator=g)
    out = out.clamp(0, 1)
    if p["jpeg"]:
        out = jpeg_round_trip(out, p["jpeg"])
    return out, mask
