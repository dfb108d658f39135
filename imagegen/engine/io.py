"""Safe image decoding and encoding with Pillow, and the engine's Image type.

Decoding is the engine's trust boundary: uploads may be empty, not images, truncated,
crafted to exhaust memory, in odd modes, rotated by EXIF or tagged with a colour profile.
Everything below turns them into one thing: float32 sRGB tensors plus an optional alpha
(the product mask), or a DecodeError whose message can be shown to a shop admin.
"""

from __future__ import annotations

import io as _io
import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps, features

from .color import lab_to_rgb_in_gamut
from .errors import DecodeError, ImageTooLargeError, ParameterError

__all__ = [
    "Image",
    "decode",
    "encode",
    "supported_formats",
    "resize_to_fit",
    "to_pil",
    "from_pil",
]

DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_BYTES = 200 * 1024 * 1024

_UPLOAD_HINT = "upload a JPEG, PNG or WebP"


@dataclass
class Image:
    """An image inside the engine.

    rgb: float32 (3, H, W), 0..1, sRGB (not premultiplied).
    alpha: float32 (1, H, W), 0..1, or None when the image is opaque.
    info: facts about the source (format, mode, notes) carried along for display.
    mask: float32 (1, H, W), 0..1: where the product is in an opaque photo, found by the
        segmentation network (segment.py) once per source and attached by the worker; None
        when not known. Never encoded: the alpha, when there is one, is the mask.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict)
    mask: torch.Tensor | None = None

    @property
    def width(self) -> int:
        return int(self.rgb.shape[-1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[-2])

    @property
    def has_alpha(self) -> bool:
        return self.alpha is not None


# ---------------------------------------------------------------------------- decode


def _sniff_text(data: bytes) -> str | None:
    """Name what a non-image upload looks like, for a helpful message."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "SVG"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "HTML"
    if head.startswith(b"%pdf"):
        return "PDF"
    try:
        sample = data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(c.isprintable() or c in "\r\n\t" for c in sample)
    return "text" if sample and printable >= 0.95 * len(sample) else None


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise DecodeError(f"The image has no pixels ({width}x{height}); {_UPLOAD_HINT} image.")
    if width * height > max_pixels:
        side = math.isqrt(max_pixels)
        raise ImageTooLargeError(
            f"The image is too large: {width}x{height} = {width * height:,} pixels, the limit is "
            f"{max_pixels:,} pixels. Upload a smaller image (for example at most {side}x{side})."
        )


@lru_cache(maxsize=1)
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _apply_icc(pil: PILImage.Image, icc: bytes, info: dict[str, Any]) -> PILImage.Image:
    """Convert colour data (modes RGB, L or CMYK) to sRGB. A broken profile is ignored:
    a photo with a bad tag is still better shown than rejected."""
    try:
        src = ImageCms.ImageCmsProfile(_io.BytesIO(icc))
        # Grey profiles also go to RGB: the sRGB profile is an RGB profile.
        converted = ImageCms.profileToProfile(pil, src, _srgb(), outputMode="RGB")
    except Exception as exc:  # noqa: BLE001 - any profile problem means "ignore it"
        info["icc"] = f"ignored (unreadable profile: {exc})"
        return pil
    info["icc"] = "converted to sRGB"
    return converted


def _to_float(pil: PILImage.Image, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (H, W, 3) float32 colour and (H, W) float32 alpha or None, both 0..1."""
    mode = pil.mode
    icc = pil.info.get("icc_profile")
    alpha: np.ndarray | None = None

    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # float64 only where 32-bit values need it; 16-bit data is exact in float32
        arr = np.asarray(pil).astype(np.float32 if mode.startswith("I;16") else np.float64)
        if mode.startswith("I;16"):
            arr = arr / 65535.0
        elif mode == "I":
            lo, hi = float(arr.min()), float(arr.max())
            if lo >= 0 and hi <= 65535:
                arr = arr / 65535.0  # 16-bit data (e.g. PNG) stored in a 32-bit mode
            else:
                arr = (arr - lo) / max(hi - lo, 1.0)
                info["note"] = "32-bit values rescaled from their range"
        else:  # "F"
            arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
            lo, hi = float(arr.min()), float(arr.max())
            if lo < 0 or hi > 1:
                arr = (arr - lo) / max(hi - lo, 1e-12)
                info["note"] = "floating-point values rescaled from their range"
        grey = arr.astype(np.float32)
        if icc:
            info["icc"] = "ignored (not supported for high bit depth)"
        return np.repeat(grey[:, :, None], 3, axis=2), None

    if mode == "LAB":
        # Pillow's LAB -> RGB convert is not colorimetric: do it with the engine's Lab maths.
        # read the raw bytes band by band (L 0..255 -> 0..100; a, b stored with a +128 offset)
        L, a, b = (np.asarray(band, dtype=np.float32) for band in pil.split())
        lab_t = torch.from_numpy(np.stack([L * (100.0 / 255.0), a - 128.0, b - 128.0], -1))
        return lab_to_rgb_in_gamut(lab_t, dim=-1).numpy().astype(np.float32), None

    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and ("transparency" in pil.info or (pil.palette and pil.palette.mode == "RGBA"))
    ):
        target = "LA" if mode in ("LA", "La") else "RGBA"
        pil = pil.convert(target)
        alpha = np.asarray(pil.getchannel("A"), dtype=np.float32) / 255.0
        pil = pil.convert("L" if target == "LA" else "RGB")
    elif mode == "L" and "transparency" in pil.info:
        pil = pil.convert("LA")
        alpha = np.asarray(pil.getchannel("A"), dtype=np.float32) / 255.0
        pil = pil.convert("L")
    elif mode == "RGB" and "transparency" in pil.info:
        pil = pil.convert("RGBA")
        alpha = np.asarray(pil.getchannel("A"), dtype=np.float32) / 255.0
        pil = pil.convert("RGB")
    elif mode == "1":
        pil = pil.convert("L")
    elif mode == "P":
        pil = pil.convert("RGB")

    if pil.mode not in ("RGB", "L", "CMYK"):
        try:
            pil = pil.convert("RGB")
        except Exception as exc:  # noqa: BLE001
            raise DecodeError(
                f"The image uses colour mode {mode}, which cannot be converted to RGB; "
                f"save it as an RGB {_UPLOAD_HINT}."
            ) from exc

    if icc:
        pil = _apply_icc(pil, icc, info)
    if pil.mode != "RGB" and pil.mode != "L":
        pil = pil.convert("RGB")  # CMYK without a profile: Pillow's naive conversion
    arr = np.asarray(pil, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return arr, alpha


def decode(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> Image:
    """Decode uploaded bytes into an Image, or raise DecodeError with a readable message.

    The pixel limit is checked from the header before any pixel is decoded. Only the first
    frame of an animation is used (info["frames"], info["note"] say so).
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise DecodeError(f"Expected the file's bytes, got {type(data).__name__}.")
    if not data:
        raise DecodeError(f"The file is empty; {_UPLOAD_HINT} image.")
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageTooLargeError(
            f"The file is too large: {len(data):,} bytes, the limit is {max_bytes:,} bytes. "
            "Upload a smaller or more compressed image."
        )

    info: dict[str, Any] = {}
    try:
        with warnings.catch_warnings():
            # Our own limit (checked next, from the header, before any pixel is decoded) decides,
            # with the dimensions in its message; Pillow still refuses beyond twice its own limit.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            pil = PILImage.open(_io.BytesIO(data))
            info["format"] = pil.format
            info["mode"] = pil.mode
            _check_size(pil.width, pil.height, max_pixels)
            frames = int(getattr(pil, "n_frames", 1) or 1)
            if frames > 1:
                pil.seek(0)
                info["frames"] = frames
                info["note"] = f"first frame of {frames} used"
            pil.load()
            icc = pil.info.get("icc_profile")
            pil = ImageOps.exif_transpose(pil)
            if icc and not pil.info.get("icc_profile"):
                pil.info["icc_profile"] = icc
            _check_size(pil.width, pil.height, max_pixels)
            rgb, alpha = _to_float(pil, info)
    except DecodeError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(
            f"The image is too large to decode safely: {exc} The limit is {max_pixels:,} pixels; "
            "upload a smaller image."
        ) from exc
    except PILImage.UnidentifiedImageError as exc:
        # Sniff only now: some binary image formats (TGA) would pass a "is it text?" test.
        kind = _sniff_text(data)
        looks = f" (looks like {kind})" if kind else ""
        raise DecodeError(f"The file is not an image Pillow can read{looks}; {_UPLOAD_HINT} image.") from exc
    except MemoryError as exc:
        raise ImageTooLargeError("The image needs too much memory to decode; upload a smaller image.") from exc
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError, struct.error...
        detail = str(exc) or type(exc).__name__
        if "truncated" in detail.lower():
            msg = f"The image file is truncated (incomplete upload?): {detail}. Upload the file again."
        else:
            msg = f"The image file is damaged or unsupported ({detail}); {_UPLOAD_HINT} image."
        raise DecodeError(msg) from exc

    rgb_t = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
    alpha_t = None if alpha is None else torch.from_numpy(np.ascontiguousarray(alpha))[None]
    return Image(rgb=rgb_t, alpha=alpha_t, info=info)


# ---------------------------------------------------------------------------- encode

_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF")
_ALIASES = {"JPG": "JPEG"}


def supported_formats() -> list[str]:
    """Output formats this Pillow build can write."""
    return [f for f in _FORMATS if f != "AVIF" or features.check("avif")]


def _u8(t: torch.Tensor) -> np.ndarray:
    return (t.detach().float().cpu().clamp(0, 1) * 255.0).round().to(torch.uint8).numpy()


def to_pil(image: Image) -> PILImage.Image:
    """RGB or RGBA Pillow image (8 bits per channel)."""
    rgb = _u8(image.rgb).transpose(1, 2, 0)
    if image.alpha is None:
        return PILImage.fromarray(np.ascontiguousarray(rgb), "RGB")
    a = _u8(image.alpha)[0]
    return PILImage.fromarray(np.ascontiguousarray(np.dstack([rgb, a])), "RGBA")


def from_pil(pil: PILImage.Image) -> Image:
    """Convert an already-loaded Pillow image (any mode) without EXIF/limit handling."""
    info: dict[str, Any] = {"format": pil.format, "mode": pil.mode}
    rgb, alpha = _to_float(pil, info)
    rgb_t = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
    alpha_t = None if alpha is None else torch.from_numpy(np.ascontiguousarray(alpha))[None]
    return Image(rgb=rgb_t, alpha=alpha_t, info=info)


def encode(
    image: Image,
    format: str,
    *,
    quality: int = 85,
    background: tuple[int, int, int] = (255, 255, 255),
) -> bytes:
    """Encode to JPEG, PNG, WEBP or AVIF. JPEG has no alpha, so a transparent image is
    composited over ``background`` (white by default) rather than losing its mask to black."""
    fmt = _ALIASES.get(str(format).upper(), str(format).upper())
    if fmt not in _FORMATS:
        raise ParameterError(f"Unknown output format '{format}'; use one of {', '.join(_FORMATS)}.")
    if fmt not in supported_formats():
        raise ParameterError(
            f"This server's Pillow cannot write {fmt}; use one of {', '.join(supported_formats())}."
        )
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ParameterError(f"quality must be an integer from 1 to 100, got {quality!r}.")
    if len(background) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in background):
        raise ParameterError(f"background must be three integers 0..255, got {background!r}.")

    if fmt == "JPEG" and image.alpha is not None:
        a = image.alpha.float().cpu().clamp(0, 1)
        bg = torch.tensor(background, dtype=torch.float32).view(3, 1, 1) / 255.0
        image = Image(rgb=image.rgb.float().cpu() * a + bg * (1 - a), alpha=None, info=image.info)
    pil = to_pil(image)
    buf = _io.BytesIO()
    kwargs: dict[str, Any] = {}
    if fmt in ("JPEG", "WEBP", "AVIF"):
        kwargs["quality"] = quality
    if fmt == "PNG":
        kwargs["optimize"] = False
        kwargs["compress_level"] = 6
    pil.save(buf, fmt, **kwargs)
    return buf.getvalue()


# ---------------------------------------------------------------------------- resize


def fitted_size(height: int, width: int, max_size: int | None) -> tuple[int, int]:
    """(height, width) after resize_to_fit(..., max_size)."""
    if max_size is None or max(height, width) <= max_size:
        return height, width
    scale = max_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_to_fit(image: Image, max_size: int | None) -> Image:
    """Downscale (never upscale) so that the longest side is at most ``max_size``."""
    if max_size is None:
        return image
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise ParameterError(f"max_size must be a positive integer or None, got {max_size!r}.")
    h, w = image.height, image.width
    if max(h, w) <= max_size:
        return image
    size = fitted_size(h, w, max_size)

    def down(t: torch.Tensor) -> torch.Tensor:
        return F.interpolate(t[None], size=size, mode="bilinear", antialias=True, align_corners=False)[0]

    if image.alpha is None:
        rgb, alpha = down(image.rgb).clamp(0, 1), None
    else:
        # Resize premultiplied colour so the (arbitrary) colour under transparent pixels
        # does not bleed into the product's edges.
        alpha = down(image.alpha).clamp(0, 1)
        premul = down(image.rgb * image.alpha)
        straight = down(image.rgb)
        rgb = torch.where(alpha > 1e-4, premul / alpha.clamp(min=1e-4), straight).clamp(0, 1)
    mask = None if image.mask is None else down(image.mask).clamp(0, 1)
    info = dict(image.info)
    info["resized_from"] = (w, h)
    return Image(rgb=rgb, alpha=alpha, info=info, mask=mask)
