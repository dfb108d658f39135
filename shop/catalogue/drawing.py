"""Procedural product photography for the demo catalogue.

The demo shop must work offline, so instead of downloading stock photos it draws its own:
studio-style product shots of t-shirts, hoodies, mugs, bottles, sneakers and beanies, lit
from the upper left, with soft shadows and small details (collars, seams, handles, labels,
laces, ribbing). Everything is deterministic in ``(kind, color, size, transparent, seed)``.

Only Pillow and numpy are used (no Django, no torch) so the module can be imported anywhere,
including plain unit tests.

Rendering works on a supersampled canvas (``SUPERSAMPLE`` times the requested size) that
holds premultiplied colour and alpha as float32; parts are painted back to front with
Porter-Duff "over" and the result is downscaled with LANCZOS.

Also here: a few procedural "reference photos" (:func:`draw_reference_palette`) whose
colours the ``look`` style can copy, and :func:`make_cube_lut` which writes ``.cube`` 3D
LUTs for the ``lut`` style.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = [
    "KINDS",
    "CATEGORIES",
    "REFERENCE_PALETTES",
    "LUT_LOOKS",
    "draw_product",
    "demo_catalogue",
    "draw_reference_palette",
    "make_cube_lut",
]

KINDS: tuple[str, ...] = ("tshirt", "hoodie", "mug", "bottle", "shoe", "beanie")

#: Shop category per kind (the name the catalogue shows).
CATEGORIES: dict[str, str] = {
    "tshirt": "T-Shirts",
    "hoodie": "Hoodies",
    "mug": "Mugs",
    "bottle": "Bottles",
    "shoe": "Sneakers",
    "beanie": "Hats",
}

SUPERSAMPLE = 2

Color = tuple[int, int, int]
BBox = tuple[int, int, int, int]

# Key light from the upper left and slightly in front (x right, y down, z towards the viewer).
_L = np.array([-0.48, -0.58, 0.66])
_L = _L / np.linalg.norm(_L)
_H = _L + np.array([0.0, 0.0, 1.0])
_H = _H / np.linalg.norm(_H)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def _spline(pts: Sequence[tuple[float, float]], closed: bool = False, n: int = 10) -> list[tuple[float, float]]:
    """Catmull-Rom spline through ``pts`` (normalised coordinates)."""
    P = np.asarray(pts, dtype=np.float64)
    if closed:
        P = np.vstack([P[-1], P, P[0], P[1]])
    else:
        P = np.vstack([P[0], P, P[-1]])
    t = np.linspace(0.0, 1.0, n, endpoint=False)[:, None]
    out = []
    for i in range(1, len(P) - 2):
        p0, p1, p2, p3 = P[i - 1], P[i], P[i + 1], P[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    if not closed:
        out.append(P[-2][None])
    return [(float(x), float(y)) for x, y in np.vstack(out)]


def _path(*segments: Sequence[tuple[float, float]], n: int = 10) -> list[tuple[float, float]]:
    """Join open spline segments; the joins stay sharp corners."""
    out: list[tuple[float, float]] = []
    for seg in segments:
        pts = _spline(seg, closed=False, n=n) if len(seg) > 2 else list(seg)
        if out and pts and out[-1] == pts[0]:
            pts = pts[1:]
        out.extend(pts)
    return out


def _mirror(pts: Iterable[tuple[float, float]], cx: float = 0.5) -> list[tuple[float, float]]:
    return [(2 * cx - x, y) for x, y in pts]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 32) -> list[tuple[float, float]]:
    t = np.linspace(a0, a1, n)
    return [(float(cx + rx * math.cos(a)), float(cy + ry * math.sin(a))) for a in t]


def _box_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-like blur (three box passes, zero padding) for float arrays."""
    r = max(1, int(round((math.sqrt(4 * sigma * sigma + 1) - 1) / 2)))
    k = 2 * r + 1
    out = a
    for _ in range(3):
        for axis in (0, 1):
            pad = [(0, 0), (0, 0)]
            pad[axis] = (r + 1, r)
            c = np.cumsum(np.pad(out, pad), axis=axis, dtype=np.float32)
            if axis == 0:
                out = (c[k:] - c[:-k]) / k
            else:
                out = (c[:, k:] - c[:, :-k]) / k
    return out


def _resize_f(a: np.ndarray, w: int, h: int) -> np.ndarray:
    return np.array(Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), "F").resize((w, h), Image.BILINEAR))


_GRAIN_TILE: np.ndarray | None = None


def _grain(rng: np.random.Generator, h: int, w: int, amount: float) -> np.ndarray:
    """``1 + amount * noise``: fine, slightly soft per-pixel grain (fabric, powder coat), cut
    from a cached tile at a random offset - much cheaper than fresh full-size noise."""
    global _GRAIN_TILE
    if _GRAIN_TILE is None:
        t = np.random.default_rng(12345).standard_normal((256, 256)).astype(np.float32)
        t = (t + np.roll(t, 1, 0) + np.roll(t, 1, 1) + np.roll(np.roll(t, 1, 0), 1, 1)) * 0.5  # soften, keep unit variance
        _GRAIN_TILE = t
    tile = _GRAIN_TILE
    oy, ox = (int(v) for v in rng.integers(0, 256, 2))
    reps = ((h + oy) // 256 + 1, (w + ox) // 256 + 1)
    g = np.tile(tile, reps)[oy : oy + h, ox : ox + w] * np.float32(amount)
    g += 1.0
    return g


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Value noise with features about ``cell`` pixels wide, roughly unit variance."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    return _resize_f(rng.standard_normal((gh, gw)).astype(np.float32), w, h)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _srgb(color: Sequence[int]) -> np.ndarray:
    return np.asarray(color[:3], dtype=np.float32) / 255.0


def _luma(c: np.ndarray) -> float:
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def _mix(a: np.ndarray, b: Sequence[float], t: float) -> np.ndarray:
    return (a * (1 - t) + np.asarray(b, dtype=np.float32) * t).astype(np.float32)


# --------------------------------------------------------------------------------------------
# canvas
# --------------------------------------------------------------------------------------------


class _Mask:
    """An 8-bit coverage mask on the supersampled canvas, drawn in normalised coordinates."""

    def __init__(self, S: int):
        self.S = S
        self.im = Image.new("L", (S, S), 0)
        self.d = ImageDraw.Draw(self.im)

    def _p(self, pts):
        S = self.S
        return [(x * S, y * S) for x, y in pts]

    def poly(self, pts, fill: int = 255) -> _Mask:
        self.d.polygon(self._p(pts), fill=fill)
        return self

    def ellipse(self, cx, cy, rx, ry, fill: int = 255) -> _Mask:
        S = self.S
        self.d.ellipse([(cx - rx) * S, (cy - ry) * S, (cx + rx) * S, (cy + ry) * S], fill=fill)
        return self

    def line(self, pts, width: float, fill: int = 255, caps: bool = True) -> _Mask:
        w = max(1, int(round(width * self.S)))
        self.d.line(self._p(pts), fill=fill, width=w, joint="curve")
        if caps:
            r = width / 2
            for x, y in (pts[0], pts[-1]):
                self.ellipse(x, y, r, r, fill)
        return self

    def dashed(self, pts, width: float, dash: float, gap: float, fill: int = 255) -> _Mask:
        """A dashed polyline (stitching)."""
        P = np.asarray(pts, dtype=np.float64)
        seg = np.diff(P, axis=0)
        seglen = np.hypot(seg[:, 0], seg[:, 1])
        cum = np.concatenate([[0.0], np.cumsum(seglen)])
        total = cum[-1]

        def at(s: float):
            i = min(int(np.searchsorted(cum, s, side="right")) - 1, len(seg) - 1)
            t = (s - cum[i]) / max(seglen[i], 1e-9)
            return tuple(P[i] + seg[i] * t)

        s = gap / 2
        while s < total:
            e = min(s + dash, total)
            self.line([at(s), at((s + e) / 2), at(e)], width, fill, caps=False)
            s = e + gap
        return self

    def bbox(self, pad: int = 0) -> BBox | None:
        b = self.im.getbbox()
        if b is None:
            return None
        S = self.S
        return (max(0, b[0] - pad), max(0, b[1] - pad), min(S, b[2] + pad), min(S, b[3] + pad))

    def crop(self, bbox: BBox) -> np.ndarray:
        return np.asarray(self.im.crop(bbox), dtype=np.float32) * (1.0 / 255.0)


class _Canvas:
    def __init__(self, size: int, transparent: bool, rng: np.random.Generator):
        self.size = size
        self.S = S = size * SUPERSAMPLE
        self.transparent = transparent
        self.rng = rng
        self.C = np.zeros((3, S, S), np.float32)  # premultiplied colour, planar
        self.A = np.zeros((S, S), np.float32)
        if not transparent:
            self._studio_background()

    # -- geometry ------------------------------------------------------------------------
    def mask(self) -> _Mask:
        return _Mask(self.S)

    def grid(self, bbox: BBox) -> tuple[np.ndarray, np.ndarray]:
        x0, y0, x1, y1 = bbox
        S = self.S
        X = ((np.arange(x0, x1, dtype=np.float32) + 0.5) / S)[None, :]
        Y = ((np.arange(y0, y1, dtype=np.float32) + 0.5) / S)[:, None]
        return X, Y

    def bbox_of(self, x0: float, y0: float, x1: float, y1: float, pad: int = 2) -> BBox:
        S = self.S
        return (
            max(0, int(math.floor(x0 * S)) - pad),
            max(0, int(math.floor(y0 * S)) - pad),
            min(S, int(math.ceil(x1 * S)) + pad),
            min(S, int(math.ceil(y1 * S)) + pad),
        )

    # -- painting ------------------------------------------------------------------------
    def paint(self, bbox: BBox, m: np.ndarray, rgb, opacity: float = 1.0) -> None:
        """Composite ``rgb`` (a colour or an (h, w, 3) array) over the canvas with coverage ``m``."""
        x0, y0, x1, y1 = bbox
        a = m if opacity == 1.0 else m * np.float32(opacity)
        rgb = np.asarray(rgb, dtype=np.float32)
        for c in range(3):
            C = self.C[c, y0:y1, x0:x1]
            src = rgb[..., c] if rgb.ndim == 3 else rgb[c]
            C += (src - C) * a
        A = self.A[y0:y1, x0:x1]
        A += (1.0 - A) * a

    def paint_lit(self, bbox: BBox, m: np.ndarray, base: np.ndarray, shade: np.ndarray, gloss=0.0, opacity: float = 1.0) -> None:
        """Paint the flat colour ``base`` lit by ``shade``: below 1 it darkens the colour,
        above 1 (and ``gloss``, a specular term) it pushes it towards white. Computed per channel,
        without building an intermediate RGB array."""
        x0, y0, x1, y1 = bbox
        a = m if opacity == 1.0 else m * np.float32(opacity)
        s1 = np.minimum(shade, 1.0)
        s2 = np.maximum(shade - 1.0, 0.0)
        s2 *= 0.55
        if not (np.isscalar(gloss) and gloss == 0.0):
            s2 += gloss
        np.minimum(s2, 1.0, out=s2)
        k = s1 * (1.0 - s2)
        for c in range(3):
            C = self.C[c, y0:y1, x0:x1]
            C += (k * base[c] + s2 - C) * a
        A = self.A[y0:y1, x0:x1]
        A += (1.0 - A) * a

    def _studio_background(self) -> None:
        """A light seamless studio sweep: brighter behind the product, slightly darker at the
        bottom and in the corners, with a faint warm or cool tint."""
        S = self.S
        tints = ((0.972, 0.968, 0.960), (0.962, 0.966, 0.972), (0.968, 0.968, 0.968), (0.975, 0.965, 0.955))
        tint = np.asarray(tints[int(self.rng.integers(len(tints)))], np.float32) / np.float32(0.975)
        t = (np.arange(S, dtype=np.float32) + 0.5) / S
        # separable terms: a soft glow behind the product, the floor sweep darkening towards the
        # bottom and a faint vignette in the corners
        gx = np.exp(-(((t - 0.5) / 0.55) ** 2)) * 0.045
        gy = np.exp(-(((t - 0.45) / 0.5) ** 2))
        vx = 1.0 - 0.035 * ((t - 0.5) * 2) ** 2 / 2
        vy = (1.0 - 0.05 * _smoothstep(0.55, 1.0, t)) * (1.0 - 0.035 * ((t - 0.5) * 2) ** 2 / 2)
        lum = np.multiply.outer(vy * gy, vx * gx)
        lum += np.multiply.outer(vy * 0.955, vx)
        for c in range(3):
            np.multiply(lum, tint[c], out=self.C[c])
        self.A[:] = 1.0

    def soft_shadow(self, small: Image.Image, blur: float, strength: float, color=(0.10, 0.09, 0.085)) -> None:
        """Paint a blurred shadow; ``small`` is an L mask at 1/4 canvas resolution."""
        f = self.S // small.size[0]
        b = small.filter(ImageFilter.GaussianBlur(blur))
        box = b.getbbox()
        if box is None:
            return
        sx0, sy0, sx1, sy1 = box
        crop = np.asarray(b.crop(box), np.float32) * (strength / 255.0)
        w, h = (sx1 - sx0) * f, (sy1 - sy0) * f
        big = _resize_f(crop, w, h)
        bbox = (sx0 * f, sy0 * f, sx0 * f + w, sy0 * f + h)
        self.paint(bbox, np.clip(big, 0, 1), color)

    def ground_shadow(self, cx: float, cy: float, rx: float, ry: float, blur: float, strength: float) -> None:
        n = self.S // 4
        im = Image.new("L", (n, n), 0)
        ImageDraw.Draw(im).ellipse([(cx - rx) * n, (cy - ry) * n, (cx + rx) * n, (cy + ry) * n], fill=255)
        self.soft_shadow(im, blur * n, strength)

    def drop_shadow(self, mask: _Mask, dx: float, dy: float, blur: float, strength: float) -> None:
        n = self.S // 4
        small = mask.im.resize((n, n), Image.BOX)
        small = small.transform(small.size, Image.AFFINE, (1, 0, -dx * n, 0, 1, -dy * n), Image.BILINEAR)
        self.soft_shadow(small, blur * n, strength)

    # -- output --------------------------------------------------------------------------
    def image(self) -> Image.Image:
        S = self.S
        C = self.C
        np.clip(C, 0.0, 1.0, out=C)
        C *= 255.0
        C += 0.5
        out = np.empty((S, S, 4 if self.transparent else 3), np.uint8)
        for c in range(3):
            out[..., c] = C[c]
        if self.transparent:
            a = np.clip(self.A, 0.0, 1.0)
            a *= 255.0
            a += 0.5
            out[..., 3] = a
            im = Image.fromarray(out, "RGBa").resize((self.size, self.size), Image.LANCZOS)
            return im.convert("RGBA")
        return Image.fromarray(out, "RGB").resize((self.size, self.size), Image.LANCZOS)


class _Surface:
    """Lighting of one soft (puffy) part: shade and gloss arrays over a bounding box."""

    def __init__(self, bbox: BBox, m: np.ndarray, shade: np.ndarray, spec: np.ndarray):
        self.bbox, self.m, self.shade, self.spec = bbox, m, shade, spec

    def at(self, bbox: BBox) -> tuple[BBox, np.ndarray, np.ndarray]:
        """Clip ``bbox`` to this surface and return it with the matching shade and spec."""
        X0, Y0, X1, Y1 = self.bbox
        x0, y0, x1, y1 = max(bbox[0], X0), max(bbox[1], Y0), min(bbox[2], X1), min(bbox[3], Y1)
        sl = (slice(y0 - Y0, y1 - Y0), slice(x0 - X0, x1 - X0))
        return (x0, y0, x1, y1), self.shade[sl], self.spec[sl]


def _relief(
    cv: _Canvas,
    mask: _Mask,
    sigma: float,
    folds: Sequence[tuple[float, float, float, float, float, float]] = (),
    depth: float = 1.0,
    ambient: float = 0.30,
    shininess: float = 24.0,
    extra: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    mottle: float = 0.0,
) -> _Surface:
    """Shade a flat silhouette as if it were inflated: the height field is the blurred mask
    (plus optional fold ridges), its normals are lit by the key light.

    ``sigma`` and fold widths are in normalised units; folds are
    ``(x0, y0, x1, y1, width, amplitude)`` segments, amplitude < 0 makes a crease.
    """
    f = 4
    bbox = mask.bbox(pad=2)
    assert bbox is not None, "empty mask"
    m = mask.crop(bbox)
    h, w = m.shape
    ws, hs = max(2, w // f), max(2, h // f)
    small = np.asarray(mask.im.crop(bbox).resize((ws, hs), Image.BOX), np.float32) / 255.0
    sig = max(1.0, sigma * cv.S / f)
    p = int(3 * sig) + 2
    hgt = _box_blur(np.pad(small, p), sig)
    sx, sy = w / ws, h / hs  # full-res pixels per small pixel
    if folds or extra is not None:
        X = (bbox[0] + (np.arange(-p, ws + p, dtype=np.float32) + 0.5) * sx) / cv.S
        Y = (bbox[1] + (np.arange(-p, hs + p, dtype=np.float32) + 0.5) * sy) / cv.S
        X, Y = X[None, :], Y[:, None]
        for x0, y0, x1, y1, fw, amp in folds:
            dx, dy = x1 - x0, y1 - y0
            ll = dx * dx + dy * dy
            t = np.clip(((X - x0) * dx + (Y - y0) * dy) / ll, 0, 1)
            d2 = (X - x0 - t * dx) ** 2 + (Y - y0 - t * dy) ** 2
            taper = np.clip(np.sin(np.pi * t), 0, 1) ** 0.7
            hgt = hgt + amp * taper * np.exp(-d2 / (fw * fw)) * np.minimum(hgt * 2, 1)
        if extra is not None:
            hgt = hgt + extra(X, Y)
    gy, gx = np.gradient(hgt)
    k = 2.2 * sig * depth
    nx, ny = -k * gx, -k * gy
    inv = 1.0 / np.sqrt(nx * nx + ny * ny + 1.0)
    diff = np.clip((nx * _L[0] + ny * _L[1] + _L[2]) * inv, 0, 1) / _L[2]
    ao = 0.82 + 0.18 * np.clip(hgt * 1.6, 0, 1)
    shade = (ambient + (1 - ambient) * diff) * ao
    if mottle:
        shade = shade * (1.0 + mottle * _smooth_noise(cv.rng, *shade.shape, 10.0))
    spec = np.clip((nx * _H[0] + ny * _H[1] + _H[2]) * inv, 0, 1) ** shininess
    crop = (slice(p, p + hs), slice(p, p + ws))
    shade = _resize_f(shade[crop], w, h)
    spec = _resize_f(spec[crop], w, h)
    return _Surface(bbox, m, shade, spec)


def _paint_fabric(cv: _Canvas, surf: _Surface, base: np.ndarray, grain: float = 0.035, gloss: float = 0.04) -> None:
    h, w = surf.m.shape
    shade = surf.shade * _grain(cv.rng, h, w, grain)
    cv.paint_lit(surf.bbox, surf.m, base, shade, surf.spec * gloss)


def _paint_part(
    cv: _Canvas,
    surf: _Surface,
    mask: _Mask,
    base: np.ndarray,
    shade_mul: float | np.ndarray = 1.0,
    gloss: float = 0.04,
    modulate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    opacity: float = 1.0,
) -> None:
    """Paint an overlay part (collar, pocket, panel…) lit by the surface underneath."""
    b = mask.bbox(pad=1)
    if b is None:
        return
    b, shade, spec = surf.at(b)
    m = mask.crop(b)
    s = shade * shade_mul
    if modulate is not None:
        X, Y = cv.grid(b)
        s = s * modulate(X, Y)
    cv.paint_lit(b, m, base, s, spec * gloss, opacity)


def _paint_lines(cv: _Canvas, surf: _Surface, mask: _Mask, rgb, opacity: float = 1.0) -> None:
    b = mask.bbox(pad=1)
    if b is None:
        return
    b, shade, _ = surf.at(b)
    m = mask.crop(b)
    cv.paint_lit(b, m, np.asarray(rgb, np.float32), shade, 0.0, opacity)


def _lathe_light(u: np.ndarray, slope: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Diffuse (1 where facing the viewer) and specular terms of a surface of revolution with
    ``u = sin(theta)`` across and ``slope = dr/dy``."""
    c = np.sqrt(np.clip(1 - u * u, 0, 1))
    inv = 1.0 / np.sqrt(1.0 + slope * slope) if not np.isscalar(slope) else 1.0 / math.sqrt(1 + slope * slope)
    nx, ny, nz = u * inv, -slope * inv, c * inv
    diff = np.clip(nx * _L[0] + ny * _L[1] + nz * _L[2], 0, 1) / _L[2]
    spec = np.clip(nx * _H[0] + ny * _H[1] + nz * _H[2], 0, 1)
    return diff, spec


def _sd_mask(sd_px: np.ndarray) -> np.ndarray:
    """Antialiased coverage from a signed distance in supersampled pixels (> 0 inside)."""
    return np.clip(sd_px + 0.5, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# garments
# --------------------------------------------------------------------------------------------


def _jit(rng: np.random.Generator, v: float, amount: float) -> float:
    return float(v + rng.uniform(-amount, amount))


def _draw_tshirt(cv: _Canvas, base: np.ndarray) -> None:
    rng = cv.rng
    cx = 0.5
    nr, ntop, nfront = 0.082, 0.160, 0.236  # neck half width, shoulder-neck height, front dip
    right = _path(
        [(cx + nr, ntop), (cx + 0.20, 0.192), (cx + 0.255, 0.222), (cx + 0.372, 0.335)],  # shoulder + sleeve top
        [(cx + 0.372, 0.335), (cx + 0.302, 0.428)],  # sleeve hem
        [(cx + 0.302, 0.428), (cx + 0.235, 0.380), (cx + 0.205, 0.372)],  # under sleeve
        [(cx + 0.205, 0.372), (cx + 0.198, 0.55), (cx + 0.212, 0.862)],  # side seam
    )
    hem = _spline([(cx + 0.212, 0.862), (cx + 0.1, 0.869), (cx, 0.871), (cx - 0.1, 0.869), (cx - 0.212, 0.862)])
    left = list(reversed(_mirror(right, cx)))
    outline = right + hem[1:-1] + left + _arc(cx, ntop, nr, 0.014, math.pi, 2 * math.pi, 24)[1:-1]
    body = cv.mask().poly(outline)
    cv.drop_shadow(body, 0.012, 0.022, 0.018, 0.30)

    j = lambda v, a=0.02: _jit(rng, v, a)  # noqa: E731
    folds = [
        (cx + 0.20, j(0.39), cx + j(0.08), j(0.50), 0.022, -0.07),  # drape from the armpits
        (cx - 0.20, j(0.39), cx - j(0.08), j(0.50), 0.022, -0.06),
        (cx + 0.19, j(0.43), cx + j(0.10), j(0.57), 0.03, 0.06),
        (cx - j(0.15), 0.85, cx - j(0.06), j(0.70), 0.03, 0.06),  # hem ripples
        (cx + j(0.07), 0.85, cx + j(0.13), j(0.74), 0.025, -0.05),
        (cx + 0.25, 0.24, cx + 0.32, j(0.37), 0.025, 0.05),  # sleeves
        (cx - 0.25, 0.24, cx - 0.32, j(0.37), 0.025, -0.04),
        (cx - j(0.04), 0.25, cx + j(0.03), j(0.45), 0.04, 0.04),
    ]
    surf = _relief(cv, body, 0.035, folds=folds, mottle=0.025)
    _paint_fabric(cv, surf, base)

    inside = _mix(base, (0, 0, 0), 0.45)
    # inside of the back, seen through the neck opening
    front_neck = _arc(cx, ntop, nr, nfront - ntop, 0.0, math.pi, 40)
    back = _arc(cx, ntop, nr, 0.014, math.pi, 2 * math.pi, 24)
    hole = cv.mask().poly(front_neck + back[1:-1])
    _paint_part(
        cv, surf, hole, inside, shade_mul=1.0,
        modulate=lambda X, Y: 0.75 + 0.35 * np.clip((Y - ntop) / (nfront - ntop), 0, 1),
    )
    # back collar rib band (inside) and a woven neck label
    band_in = cv.mask().poly(_arc(cx, ntop, nr, 0.014, math.pi, 2 * math.pi, 24)
                             + _arc(cx, ntop + 0.016, nr - 0.006, 0.020, 0.0, -math.pi, 24))
    _paint_part(cv, surf, band_in, _mix(base, (0, 0, 0), 0.25))
    label = cv.mask().poly([(cx - 0.022, ntop + 0.006), (cx + 0.022, ntop + 0.006), (cx + 0.020, ntop + 0.034), (cx - 0.020, ntop + 0.034)])
    lab_col = np.array([0.93, 0.92, 0.9], np.float32) if _luma(base) < 0.6 else np.array([0.18, 0.18, 0.2], np.float32)
    _paint_part(cv, surf, label, lab_col, shade_mul=0.9)
    ink = cv.mask()
    ink.line([(cx - 0.012, ntop + 0.016), (cx + 0.012, ntop + 0.016)], 0.004)
    ink.line([(cx - 0.008, ntop + 0.024), (cx + 0.008, ntop + 0.024)], 0.003)
    _paint_lines(cv, surf, ink, _mix(lab_col, (0.5, 0.5, 0.5), 0.6))
    # front collar rib band
    outer = _arc(cx, ntop - 0.002, nr + 0.016, nfront - ntop + 0.024, 0.0, math.pi, 48)
    inner = _arc(cx, ntop, nr, nfront - ntop, math.pi, 0.0, 48)
    collar = cv.mask().poly(outer + inner)

    def ribs(X, Y):
        ang = np.arctan2(Y - ntop, X - cx)
        return 0.95 + 0.05 * np.cos(ang * 90)

    _paint_part(cv, surf, collar, base, shade_mul=1.02, modulate=ribs)
    seam = cv.mask().line(_arc(cx, ntop - 0.002, nr + 0.016, nfront - ntop + 0.024, 0.05, math.pi - 0.05, 48), 0.0028)
    _paint_lines(cv, surf, seam, _mix(base, (0, 0, 0), 0.35), 0.7)

    # seams and stitching
    lines = cv.mask()
    for s in (1, -1):
        sh = [(cx + s * 0.2, 0.193), (cx + s * 0.212, 0.28), (cx + s * 0.205, 0.372)]
        lines.line(_spline(sh), 0.0026)
    _paint_lines(cv, surf, lines, _mix(base, (0, 0, 0), 0.4), 0.55)
    stitch = cv.mask()
    for s in (1, -1):
        a, b = np.array([cx + s * 0.372, 0.335]), np.array([cx + s * 0.302, 0.428])
        d = np.array([s * 0.115, 0.1])
        d = d / np.linalg.norm(d) * 0.024
        stitch.dashed([tuple(a - d + (b - a) * 0.04), tuple(b - d - (b - a) * 0.04)], 0.0022, 0.008, 0.004)
    stitch.dashed(_spline([(cx - 0.205, 0.842), (cx, 0.851), (cx + 0.205, 0.842)]), 0.0022, 0.008, 0.004)
    _paint_lines(cv, surf, stitch, _mix(base, (0, 0, 0), 0.35), 0.6)


def _draw_hoodie(cv: _Canvas, base: np.ndarray) -> None:
    rng = cv.rng
    cx = 0.5
    j = lambda v, a=0.015: _jit(rng, v, a)  # noqa: E731
    right = _path(
        [(cx + 0.10, 0.205), (cx + 0.205, 0.225), (cx + 0.245, 0.26), (cx + 0.305, 0.44), (cx + 0.352, 0.715)],
        [(cx + 0.352, 0.715), (cx + 0.356, 0.792)],  # cuff outer
        [(cx + 0.356, 0.792), (cx + 0.282, 0.796)],  # cuff end
        [(cx + 0.282, 0.796), (cx + 0.281, 0.718)],  # cuff inner
        [(cx + 0.281, 0.718), (cx + 0.252, 0.52), (cx + 0.215, 0.385)],  # inner sleeve
        [(cx + 0.215, 0.385), (cx + 0.212, 0.60), (cx + 0.205, 0.800)],  # side seam
        [(cx + 0.205, 0.800), (cx + 0.196, 0.862)],  # waistband side
    )
    bottom = [(cx + 0.196, 0.862), (cx - 0.196, 0.862)]
    left = list(reversed(_mirror(right, cx)))
    hood_top = _spline([(cx - 0.10, 0.205), (cx - 0.13, 0.15), (cx - 0.095, 0.095), (cx, 0.075), (cx + 0.095, 0.095), (cx + 0.13, 0.15), (cx + 0.10, 0.205)])
    outline = right + bottom + left + hood_top[1:-1]
    body = cv.mask().poly(outline)
    cv.drop_shadow(body, 0.012, 0.022, 0.018, 0.32)

    folds = [
        (cx + 0.27, j(0.50), cx + 0.31, j(0.62), 0.016, -0.12),  # elbows
        (cx - 0.27, j(0.50), cx - 0.31, j(0.62), 0.016, -0.12),
        (cx + 0.265, j(0.56), cx + 0.325, j(0.56), 0.012, 0.08),
        (cx - 0.265, j(0.57), cx - 0.325, j(0.57), 0.012, 0.08),
        (cx + 0.2, j(0.41), cx + j(0.1), j(0.50), 0.02, -0.09),
        (cx - 0.2, j(0.41), cx - j(0.1), j(0.50), 0.02, -0.09),
        (cx - j(0.15), 0.80, cx - j(0.06), j(0.66), 0.022, 0.06),
        (cx + 0.285, 0.69, cx + 0.345, 0.70, 0.008, -0.05),
        (cx - 0.285, 0.69, cx - 0.345, 0.70, 0.008, -0.05),
    ]
    surf = _relief(cv, body, 0.034, folds=folds, mottle=0.025)
    _paint_fabric(cv, surf, base, grain=0.045, gloss=0.03)

    dark = _mix(base, (0, 0, 0), 0.55)
    # hood opening: dark inside with a lighter lined edge, closing in a V at the chest
    opening_outer = _spline([(cx, 0.305), (cx - 0.06, 0.245), (cx - 0.105, 0.185), (cx - 0.098, 0.125), (cx - 0.05, 0.098), (cx, 0.092),
                             (cx + 0.05, 0.098), (cx + 0.098, 0.125), (cx + 0.105, 0.185), (cx + 0.06, 0.245), (cx, 0.305)])
    edge = cv.mask().poly(opening_outer)
    _paint_part(cv, surf, edge, _mix(base, (1, 1, 1), 0.06), shade_mul=1.06)
    opening_inner = _spline([(cx, 0.262), (cx - 0.05, 0.21), (cx - 0.079, 0.16), (cx - 0.07, 0.124), (cx, 0.112),
                             (cx + 0.07, 0.124), (cx + 0.079, 0.16), (cx + 0.05, 0.21), (cx, 0.262)])
    hole = cv.mask().poly(opening_inner)
    _paint_part(cv, surf, hole, dark, modulate=lambda X, Y: 0.55 + 0.6 * np.clip((Y - 0.11) / 0.15, 0, 1) ** 0.7)
    seam = cv.mask().line(opening_inner, 0.0024)
    _paint_lines(cv, surf, seam, dark, 0.6)
    # ribbed waistband and cuffs
    ribs = lambda X, Y: 0.93 + 0.07 * np.cos(X * 2 * np.pi * 150)  # noqa: E731
    wb = cv.mask().poly([(cx - 0.205, 0.8), (cx + 0.205, 0.8), (cx + 0.196, 0.862), (cx - 0.196, 0.862)])
    _paint_part(cv, surf, wb, base, shade_mul=0.97, modulate=ribs)
    cuffs = cv.mask()
    for s in (1, -1):
        cuffs.poly([(cx + s * 0.352, 0.715), (cx + s * 0.356, 0.792), (cx + s * 0.282, 0.796), (cx + s * 0.281, 0.718)])
    _paint_part(cv, surf, cuffs, base, shade_mul=0.97, modulate=ribs)
    # kangaroo pocket
    pocket_pts = [(cx - 0.115, 0.600), (cx + 0.115, 0.600), (cx + 0.165, 0.695), (cx + 0.170, 0.790), (cx - 0.170, 0.790), (cx - 0.165, 0.695)]
    pocket = cv.mask().poly(pocket_pts)
    _paint_part(cv, surf, pocket, base, shade_mul=1.03, modulate=lambda X, Y: 1 - 0.05 * np.clip((Y - 0.6) / 0.2, 0, 1))
    lines = cv.mask()
    for s in (1, -1):
        lines.line([(cx + s * 0.115, 0.600), (cx + s * 0.165, 0.695)], 0.007)
    lines.line([(cx - 0.205, 0.80), (cx + 0.205, 0.80)], 0.003)
    for sg in (1, -1):  # set-in sleeve seams
        lines.line(_spline([(cx + sg * 0.198, 0.222), (cx + sg * 0.212, 0.30), (cx + sg * 0.215, 0.385)], n=12), 0.003)
    for s in (1, -1):
        lines.line([(cx + s * 0.352, 0.715), (cx + s * 0.281, 0.718)], 0.003)
    _paint_lines(cv, surf, lines, dark, 0.75)
    stitch = cv.mask()
    stitch.dashed([(cx - 0.108, 0.612), (cx + 0.108, 0.612)], 0.002, 0.008, 0.004)
    stitch.dashed([(cx - 0.158, 0.700), (cx - 0.160, 0.778), (cx + 0.160, 0.778), (cx + 0.158, 0.700)], 0.002, 0.008, 0.004)
    _paint_lines(cv, surf, stitch, dark, 0.5)
    # drawstrings with metal aglets
    cord = np.array([0.94, 0.93, 0.9], np.float32) if _luma(base) < 0.55 else _mix(base, (0, 0, 0), 0.5)
    strings = cv.mask()
    ends = []
    for s in (1, -1):
        x0 = cx + s * 0.035
        pts = _spline([(x0, 0.262), (x0 + s * 0.004, j(0.33)), (cx + s * j(0.045, 0.01), j(0.43, 0.02))], n=16)
        strings.line(pts, 0.011)
        ends.append(pts[-1])
    _paint_part(cv, surf, strings, cord, shade_mul=1.0, gloss=0.08,
                modulate=lambda X, Y: 0.9 + 0.1 * np.cos((Y - X * 0.4) * 2 * np.pi * 180))
    eyelets = cv.mask()
    for s in (1, -1):
        eyelets.ellipse(cx + s * 0.035, 0.262, 0.011, 0.011)
    _paint_part(cv, surf, eyelets, np.array([0.72, 0.72, 0.74], np.float32), gloss=0.6)
    aglets = cv.mask()
    for x, y in ends:
        aglets.line([(x, y), (x, y + 0.024)], 0.012)
    _paint_part(cv, surf, aglets, np.array([0.75, 0.75, 0.77], np.float32), shade_mul=1.05, gloss=0.7,
                modulate=lambda X, Y: 0.7 + 0.3 * np.cos(X * 2 * np.pi * 70) ** 2)


def _draw_beanie(cv: _Canvas, base: np.ndarray) -> None:
    rng = cv.rng
    cx = 0.5
    half_w, cuff_top, cuff_bot, dome_c, dome_h = 0.235, 0.585, 0.765, 0.445, 0.225
    crown_pts = (_arc(cx, dome_c, half_w, dome_h, math.pi, 2 * math.pi, 48)
                 + [(cx + half_w + 0.004, cuff_bot - 0.03), (cx - half_w - 0.004, cuff_bot - 0.03)])
    crown = cv.mask().poly(crown_pts)
    cuff = cv.mask().poly(_spline([(cx - half_w - 0.012, cuff_top - 0.004), (cx, cuff_top + 0.012), (cx + half_w + 0.012, cuff_top - 0.004)], n=16)
                          + _spline([(cx + half_w + 0.014, cuff_bot - 0.012), (cx, cuff_bot + 0.010), (cx - half_w - 0.014, cuff_bot - 0.012)], n=16))
    pr = 0.092
    pcx, pcy = cx, dome_c - dome_h - 0.055
    # fluffy pom-pom: radius wobbles with the angle
    ang = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    wob = 1 + 0.035 * np.sin(ang * 7 + rng.uniform(0, 6)) + 0.025 * np.sin(ang * 13 + rng.uniform(0, 6)) + 0.03 * rng.standard_normal(180)
    pom = cv.mask().poly([(pcx + pr * w * math.cos(a), pcy + pr * w * math.sin(a)) for a, w in zip(ang, wob)])

    whole = cv.mask()
    whole.im.paste(255, mask=crown.im)
    whole.im.paste(255, mask=cuff.im)
    whole.im.paste(255, mask=pom.im)
    cv.drop_shadow(whole, 0.012, 0.02, 0.016, 0.32)

    # knit ribs converge towards the crown top (they follow meridians of the dome)
    def rib_theta(X, Y, hw0):
        hw = hw0 * np.sqrt(np.clip(1 - ((np.minimum(Y, dome_c) - dome_c) / dome_h) ** 2, 0.02, 1))
        return np.arcsin(np.clip((X - cx) / hw, -1, 1))

    surf = _relief(cv, crown, 0.05, ambient=0.42, shininess=12, mottle=0.02,
                   folds=[(cx + 0.12, 0.30, cx + 0.18, 0.55, 0.03, -0.04), (cx - 0.10, 0.32, cx - 0.06, 0.56, 0.03, 0.03)])
    h, w = surf.m.shape
    X, Y = cv.grid(surf.bbox)
    rib = 0.5 + 0.5 * np.cos(rib_theta(X, Y, half_w) * 36)
    stitch = 0.97 + 0.03 * np.abs(np.sin(Y * np.pi * 160))
    knit = (0.80 + 0.2 * rib**0.6) * stitch
    noise = _grain(rng, h, w, 0.025)
    # the rolled cuff shades the crown just above it
    occl = 1 - 0.22 * np.exp(-np.clip(cuff_top + 0.012 - Y, 0, None) / 0.012)
    cv.paint_lit(surf.bbox, surf.m, base, surf.shade * knit * noise * occl, surf.spec * 0.03)

    csurf = _relief(cv, cuff, 0.02, ambient=0.5, depth=0.8, shininess=12)
    h, w = csurf.m.shape
    X, Y = cv.grid(csurf.bbox)
    theta = np.arcsin(np.clip((X - cx) / (half_w + 0.014), -1, 1))
    ribs = 0.80 + 0.2 * (0.5 + 0.5 * np.cos(theta * 30)) ** 0.6
    noise = _grain(rng, h, w, 0.025)
    top_roll = 1 + 0.08 * np.exp(-np.clip(Y - cuff_top - 0.01, 0, None) / 0.02)
    cv.paint_lit(csurf.bbox, csurf.m, base, csurf.shade * ribs * noise * top_roll, csurf.spec * 0.03)
    # a small leather patch on the cuff
    patch = cv.mask().poly([(cx - 0.045, 0.645), (cx + 0.045, 0.647), (cx + 0.044, 0.703), (cx - 0.044, 0.701)])
    leather = np.array([0.55, 0.36, 0.22], np.float32)
    _paint_part(cv, csurf, patch, leather, shade_mul=1.0, gloss=0.12)
    st = cv.mask().dashed([(cx - 0.038, 0.652), (cx + 0.038, 0.654), (cx + 0.037, 0.696), (cx - 0.037, 0.694), (cx - 0.038, 0.652)], 0.002, 0.006, 0.004)
    _paint_lines(cv, csurf, st, (0.9, 0.82, 0.68), 0.8)
    emb = cv.mask().ellipse(cx, 0.674, 0.012, 0.012)
    _paint_lines(cv, csurf, emb, _mix(leather, (0, 0, 0), 0.35), 0.8)

    # pom-pom: a fuzzy ball, lit like a sphere, with fibre noise
    bbox = pom.bbox(pad=2)
    m = pom.crop(bbox)
    X, Y = cv.grid(bbox)
    dx, dy = (X - pcx) / pr, (Y - pcy) / pr
    nz = np.sqrt(np.clip(1 - dx * dx - dy * dy, 0, 1))
    diff = np.clip(dx * _L[0] + dy * _L[1] + nz * _L[2], 0, 1) / _L[2]
    h, w = m.shape
    fibre = _grain(rng, h, w, 0.07) + 0.07 * _smooth_noise(rng, h, w, 7)
    shade = (0.38 + 0.62 * diff) * fibre
    pom_col = _mix(base, (1, 1, 1), 0.08)
    cv.paint_lit(bbox, m, pom_col, shade)


# --------------------------------------------------------------------------------------------
# hard goods
# --------------------------------------------------------------------------------------------


def _draw_mug(cv: _Canvas, base: np.ndarray) -> None:
    S = cv.S
    cx, R, yt, yb, e = 0.455, 0.185, 0.305, 0.735, 0.23
    ry = R * e
    glaze_in = np.array([0.95, 0.945, 0.93], np.float32) if _luma(base) < 0.85 else _mix(base, (0.2, 0.2, 0.2), 0.1)

    cv.ground_shadow(cx + 0.05, yb + ry * 0.55, R * 1.55, ry * 1.15, 0.03, 0.42)
    cv.ground_shadow(cx + 0.01, yb + ry * 0.35, R * 1.05, ry * 0.75, 0.008, 0.40)

    # handle: a D-shaped loop on the right, drawn first so the body hides its ends
    hx, hy = cx + R - 0.005, (yt + yb) / 2 + 0.005
    handle = cv.mask()
    handle.ellipse(hx + 0.01, hy, 0.118, 0.148)
    handle.ellipse(hx + 0.005, hy, 0.068, 0.100, fill=0)
    handle.d.rectangle([0, 0, int((cx + R * 0.4) * S), S], fill=0)
    hsurf = _relief(cv, handle, 0.012, ambient=0.28, shininess=40)
    cv.paint_lit(hsurf.bbox, hsurf.m, base, hsurf.shade, hsurf.spec * 0.45)

    # body: a cylinder seen from slightly above
    bbox = cv.bbox_of(cx - R, yt - ry, cx + R, yb + ry)
    X, Y = cv.grid(bbox)
    dx = X - cx
    u = np.clip(dx / R, -1, 1)
    circ = np.sqrt(np.clip(1 - u * u, 0, 1))
    side = (R - np.abs(dx)) * S
    bottom_edge = yb + ry * circ
    sd_rect = np.minimum(side, np.minimum((bottom_edge - Y) * S, (Y - yt) * S))
    ell = (1 - np.sqrt((dx / R) ** 2 + ((Y - yt) / ry) ** 2)) * ry * S
    sd = np.maximum(sd_rect, ell)  # the side wall plus the top ellipse
    m = _sd_mask(sd)
    diff, hv = _lathe_light(u)
    yy = np.clip((Y - yt) / (yb - yt), 0, 1)
    shade = 0.22 + 0.78 * diff
    shade = shade * (1 - 0.28 * np.exp(-np.clip(bottom_edge - Y, 0, None) / 0.03))  # occlusion at the foot
    shade = shade + 0.22 * np.exp(-((u - 0.9) / 0.07) ** 2) * (0.4 + 0.6 * yy)  # rim light
    gloss = hv**90 * 0.75
    window = np.exp(-((u + 0.52) / 0.075) ** 4) * _smoothstep(0.0, 0.12, yy) * (1 - _smoothstep(0.8, 1.0, yy))
    gloss = gloss + 0.42 * window + 0.10 * np.exp(-((u - 0.55) / 0.05) ** 2) * (1 - yy)
    cv.paint_lit(bbox, m, base, shade, gloss)

    # rim and the glazed inside (a concave wall: lit on the right, darker deeper down)
    t = 0.0125
    ri, ryi = R - t, ry * (R - t) / R
    bbox = cv.bbox_of(cx - R, yt - ry, cx + R, yt + ry)
    X, Y = cv.grid(bbox)
    dx = X - cx
    rim_sd = (1 - np.sqrt((dx / R) ** 2 + ((Y - yt) / ry) ** 2)) * ry * S
    rim_shade = np.broadcast_to(0.98 + 0.1 * np.clip(-(X - cx) / R, 0, 1), rim_sd.shape)
    cv.paint_lit(bbox, _sd_mask(rim_sd), glaze_in, rim_shade)
    in_sd = (1 - np.sqrt((dx / ri) ** 2 + ((Y - yt) / ryi) ** 2)) * ryi * S
    v = np.clip((Y - (yt - ryi)) / (2 * ryi), 0, 1)
    ui = np.clip(dx / ri, -1, 1)
    inside = (1.0 - 0.45 * v**1.3) * (0.84 + 0.2 * ui) * (1 - 0.2 * np.exp(-((1 - v) / 0.18)))
    inside = inside + 0.25 * np.exp(-((ui - 0.45) / 0.12) ** 2 - ((v - 0.25) / 0.12) ** 2)
    cv.paint_lit(bbox, _sd_mask(in_sd), glaze_in, inside)


def _bottle_radius(Y: np.ndarray, y_neck: float, y_sh0: float, y_sh1: float, rn: float, rb: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.clip((Y - y_sh0) / (y_sh1 - y_sh0), 0, 1)
    s = (1 - np.cos(np.pi * t)) / 2
    r = rn + (rb - rn) * s
    dr = (rb - rn) * (np.pi / 2) * np.sin(np.pi * t) / (y_sh1 - y_sh0) * ((Y > y_sh0) & (Y < y_sh1))
    return r, dr


def _label_texture(w: int, h: int, paper: np.ndarray, ink: np.ndarray, accent: np.ndarray) -> np.ndarray:
    im = Image.new("RGB", (w, h), tuple(int(c * 255) for c in paper))
    d = ImageDraw.Draw(im)
    inkc = tuple(int(c * 255) for c in ink)
    acc = tuple(int(c * 255) for c in accent)
    d.rectangle([0, int(h * 0.06), w, int(h * 0.11)], fill=acc)
    d.rectangle([0, int(h * 0.89), w, int(h * 0.94)], fill=acc)
    try:
        font = ImageFont.load_default(size=max(8, int(h * 0.26)))
        small = ImageFont.load_default(size=max(6, int(h * 0.09)))
        d.text((w / 2, h * 0.42), "FLOW", fill=inkc, font=font, anchor="mm")
        d.text((w / 2, h * 0.66), "INSULATED  ·  750 ML", fill=inkc, font=small, anchor="mm")
    except Exception:  # pragma: no cover - very old Pillow without FreeType
        d.rectangle([int(w * 0.3), int(h * 0.3), int(w * 0.7), int(h * 0.52)], fill=inkc)
        d.rectangle([int(w * 0.35), int(h * 0.66), int(w * 0.65), int(h * 0.72)], fill=inkc)
    d.ellipse([w * 0.5 - h * 0.035, h * 0.795 - h * 0.035, w * 0.5 + h * 0.035, h * 0.795 + h * 0.035], fill=acc)
    return np.asarray(im, np.float32) / 255.0


def _draw_bottle(cv: _Canvas, base: np.ndarray) -> None:
    S = cv.S
    cx, e = 0.5, 0.16
    rn, rb = 0.060, 0.132
    y_neck, y_sh0, y_sh1, y_bot = 0.215, 0.245, 0.345, 0.835
    cap_top, cap_bot, rc = 0.125, 0.228, 0.071
    ryb = rb * e

    cv.ground_shadow(cx + 0.05, y_bot + ryb * 0.5, rb * 1.7, ryb * 1.3, 0.03, 0.42)
    cv.ground_shadow(cx + 0.01, y_bot + ryb * 0.4, rb * 1.08, ryb * 0.85, 0.008, 0.42)

    dark_cap = _luma(base) > 0.35
    cap_col = np.array([0.13, 0.13, 0.14], np.float32) if dark_cap else np.array([0.74, 0.75, 0.77], np.float32)

    # carry loop on top of the cap
    loop = cv.mask()
    loop.ellipse(cx, cap_top - 0.012, 0.046, 0.046)
    loop.ellipse(cx, cap_top - 0.012, 0.030, 0.031, fill=0)
    lsurf = _relief(cv, loop, 0.007, shininess=40)
    cv.paint_lit(lsurf.bbox, lsurf.m, cap_col, lsurf.shade, lsurf.spec * 0.4)

    # body
    bbox = cv.bbox_of(cx - rb, y_neck, cx + rb, y_bot + ryb)
    X, Y = cv.grid(bbox)
    r, dr = _bottle_radius(Y, y_neck, y_sh0, y_sh1, rn, rb)
    dx = X - cx
    u = np.clip(dx / r, -1, 1)
    circ = np.sqrt(np.clip(1 - u * u, 0, 1))
    bottom_edge = y_bot + ryb * circ
    sd = np.minimum((r - np.abs(dx)) * S / np.sqrt(1 + dr * dr), np.minimum((bottom_edge - Y) * S, (Y - y_neck) * S))
    m = _sd_mask(sd)
    diff, hv = _lathe_light(u, dr)
    shade = 0.2 + 0.8 * diff
    shade = shade * (1 - 0.3 * np.exp(-np.clip(bottom_edge - Y, 0, None) / 0.02))
    shade = shade + 0.25 * np.exp(-((u - 0.88) / 0.07) ** 2)
    window = np.exp(-((u + 0.5) / 0.08) ** 4) * _smoothstep(0.26, 0.36, Y) * (1 - _smoothstep(0.75, 0.83, Y))
    gloss = hv**60 * 0.55 + 0.30 * window
    # powder coat: a fine speckle
    h, w = m.shape
    grain = _grain(cv.rng, h, w, 0.02)
    cv.paint_lit(bbox, m, base, shade * grain, gloss)

    # a wrapped label with a printed design
    y1, y2 = 0.47, 0.70
    lbox = cv.bbox_of(cx - rb, y1, cx + rb, y2 + ryb)
    X, Y = cv.grid(lbox)
    dx = X - cx
    u = np.clip(dx / rb, -1, 1)
    circ = np.sqrt(np.clip(1 - u * u, 0, 1))
    top, bot = y1 + ryb * circ, y2 + ryb * circ
    sd = np.minimum(np.minimum((Y - top) * S, (bot - Y) * S), (rb * 0.985 - np.abs(dx)) * S)
    lm = _sd_mask(sd)
    theta = np.arcsin(u)
    v = np.clip((Y - top) / (y2 - y1), 0, 0.9999)
    th = 240
    tw = int(th * (math.pi * rb) / (y2 - y1))  # texture pixels square at the label's centre
    paper = np.array([0.96, 0.955, 0.94], np.float32)
    ink = _mix(base, (0, 0, 0), 0.35) if _luma(base) < 0.7 else np.array([0.15, 0.15, 0.17], np.float32)
    tex = _label_texture(tw, th, paper, ink, base)
    tx = np.clip(((theta / (np.pi / 2)) * 0.5 + 0.5) * (tw - 1), 0, tw - 1).astype(np.int32)
    ty = (v * th).astype(np.int32)
    col = tex[ty, tx]
    ldiff, lhv = _lathe_light(u)
    lshade = (0.22 + 0.78 * ldiff) + 0.2 * np.exp(-((u - 0.88) / 0.07) ** 2)
    col = col * np.minimum(lshade, 1.0)[..., None] + (lhv**40 * 0.18)[..., None]
    cv.paint(lbox, lm, col)

    # the cap: a ridged cylinder with a flat top
    cbox = cv.bbox_of(cx - rc, cap_top - rc * e, cx + rc, cap_bot + rc * e)
    X, Y = cv.grid(cbox)
    dx = X - cx
    u = np.clip(dx / rc, -1, 1)
    circ = np.sqrt(np.clip(1 - u * u, 0, 1))
    bottom_edge = cap_bot + rc * e * circ
    sd_side = np.minimum((rc - np.abs(dx)) * S, np.minimum((bottom_edge - Y) * S, (Y - cap_top) * S))
    ell = (1 - np.sqrt((dx / rc) ** 2 + ((Y - cap_top) / (rc * e)) ** 2)) * rc * e * S
    m = _sd_mask(np.maximum(sd_side, ell))
    theta = np.arcsin(u)
    diff, hv = _lathe_light(u)
    ridges = 0.82 + 0.18 * np.cos(theta * 44) ** 2
    shade = (0.2 + 0.8 * diff) * ridges + 0.2 * np.exp(-((u - 0.88) / 0.08) ** 2)
    gloss = hv**40 * 0.5 * ridges
    topface = _sd_mask(ell)
    shade = shade * (1 - topface) + topface * (1.06 - 0.12 * (dx / rc))
    cv.paint_lit(cbox, m, cap_col, shade, gloss * (1 - topface))
    ring = cv.mask().line(_arc(cx, cap_bot - 0.012, rc, rc * e, 0.05, math.pi - 0.05, 40), 0.003)
    b = ring.bbox(1)
    if b:
        cv.paint(b, ring.crop(b), _mix(cap_col, (0, 0, 0), 0.5), 0.6)


def _draw_shoe(cv: _Canvas, base: np.ndarray) -> None:
    """A low-top sneaker in side view, toe to the left."""
    rng = cv.rng
    white = np.array([0.95, 0.945, 0.93], np.float32)
    dark = _mix(base, (0, 0, 0), 0.55)
    light_base = _luma(base) >= 0.6
    accent = np.array([0.16, 0.17, 0.2], np.float32) if light_base else white
    overlay = _mix(base, (0, 0, 0), 0.14)

    upper_pts = [
        (0.098, 0.640), (0.100, 0.590), (0.135, 0.546), (0.215, 0.508), (0.320, 0.462), (0.420, 0.408),
        (0.500, 0.360), (0.545, 0.322), (0.548, 0.272), (0.600, 0.256), (0.634, 0.305), (0.690, 0.350),
        (0.790, 0.342), (0.850, 0.312), (0.888, 0.340), (0.906, 0.430), (0.910, 0.530), (0.902, 0.640),
        (0.700, 0.660), (0.400, 0.665), (0.200, 0.660),
    ]
    upper = cv.mask().poly(_spline(upper_pts, closed=True, n=12))
    sole_top = [(0.086, 0.628), (0.16, 0.646), (0.35, 0.655), (0.60, 0.652), (0.82, 0.636), (0.915, 0.612)]
    sole_bot = [(0.922, 0.640), (0.912, 0.690), (0.870, 0.718), (0.60, 0.726), (0.30, 0.726), (0.16, 0.718), (0.105, 0.698), (0.080, 0.660)]
    outsole = cv.mask().poly(_spline(sole_top, n=12) + _spline(sole_bot, n=12))
    mid_bot = [(x, y - 0.016) for x, y in sole_bot]
    mid_bot[0] = (0.921, 0.632)
    mid_bot[-1] = (0.084, 0.654)
    midsole = cv.mask().poly(_spline(sole_top, n=12) + _spline(mid_bot, n=12))

    cv.ground_shadow(0.52, 0.728, 0.43, 0.030, 0.022, 0.45)
    cv.ground_shadow(0.50, 0.724, 0.40, 0.012, 0.005, 0.45)

    # upper
    j = lambda v, a=0.01: _jit(rng, v, a)  # noqa: E731
    folds = [
        (0.29, j(0.50), 0.33, j(0.60), 0.010, -0.07),  # toe box flex creases
        (0.33, j(0.48), 0.37, j(0.58), 0.009, -0.05),
        (0.60, 0.40, 0.66, 0.60, 0.03, 0.05),
        (0.86, 0.36, 0.89, 0.62, 0.03, 0.07),  # heel counter
    ]
    surf = _relief(cv, upper, 0.03, folds=folds, shininess=30)
    h, w = surf.m.shape
    grain = _grain(rng, h, w, 0.02)
    cv.paint_lit(surf.bbox, surf.m, base, surf.shade * grain, surf.spec * 0.12)

    # collar opening: the padded lining seen from slightly above
    opening = cv.mask().poly(_spline([(0.602, 0.262), (0.638, 0.318), (0.695, 0.356), (0.79, 0.346), (0.848, 0.318),
                                      (0.854, 0.334), (0.80, 0.372), (0.70, 0.380), (0.635, 0.350), (0.596, 0.29)], closed=True, n=10))
    _paint_part(cv, surf, opening, np.array([0.17, 0.17, 0.18], np.float32), shade_mul=0.85,
                modulate=lambda X, Y: 0.7 + 0.5 * np.clip((Y - 0.32) / 0.05, 0, 1))
    collar = cv.mask().line(_spline([(0.594, 0.292), (0.637, 0.354), (0.70, 0.386), (0.80, 0.377), (0.860, 0.338)], n=16), 0.015)
    _paint_part(cv, surf, collar, _mix(base, (1, 1, 1), 0.12), gloss=0.05)
    # tongue with a small woven tag
    tongue = cv.mask().poly(_spline([(0.532, 0.340), (0.545, 0.272), (0.600, 0.256), (0.616, 0.292), (0.590, 0.36)], closed=True, n=8))
    _paint_part(cv, surf, tongue, _mix(base, (1, 1, 1), 0.06), shade_mul=1.02)
    tag = cv.mask().poly([(0.556, 0.280), (0.592, 0.272), (0.598, 0.293), (0.562, 0.301)])
    _paint_part(cv, surf, tag, accent)
    # toe cap, heel counter and a side accent
    toe = cv.mask().poly(_spline([(0.094, 0.645), (0.098, 0.593), (0.133, 0.548), (0.212, 0.511), (0.255, 0.505),
                                  (0.278, 0.56), (0.262, 0.63), (0.24, 0.66)], n=10))
    _paint_part(cv, surf, toe, overlay, gloss=0.06)
    heel = cv.mask().poly(_spline([(0.905, 0.41), (0.84, 0.44), (0.79, 0.53), (0.78, 0.66), (0.91, 0.66), (0.913, 0.53)], closed=True, n=10))
    _paint_part(cv, surf, heel, overlay, gloss=0.06)
    band_top = _spline([(0.335, 0.630), (0.47, 0.585), (0.62, 0.515), (0.775, 0.440)], n=16)
    band_bot = _spline([(0.778, 0.495), (0.64, 0.562), (0.49, 0.615), (0.36, 0.646)], n=16)
    band = cv.mask().poly(band_top + band_bot)
    _paint_part(cv, surf, band, accent, gloss=0.1)
    # eyestay with eyelets, and laces crossing over the top of the foot
    eyes = [(0.425 + i * 0.031, 0.468 - i * 0.0195 - 0.0012 * i * i) for i in range(5)]
    stay = cv.mask().poly(_spline(
        [(0.37, 0.468)] + [(x - 0.014, y - 0.05) for x, y in eyes[1:]] + [(0.575, 0.335), (0.592, 0.385)]
        + [(x + 0.012, y + 0.026) for x, y in reversed(eyes)] + [(0.385, 0.497)], closed=True, n=6))
    _paint_part(cv, surf, stay, overlay)
    holes = cv.mask()
    for x, y in eyes:
        holes.ellipse(x, y, 0.0075, 0.0075)
    _paint_lines(cv, surf, holes, (0.82, 0.82, 0.84), 1.0)
    inner = cv.mask()
    for x, y in eyes:
        inner.ellipse(x, y, 0.0042, 0.0042)
    _paint_lines(cv, surf, inner, (0.08, 0.08, 0.09), 1.0)
    laces = cv.mask()
    for x, y in eyes:  # each strand runs from the eyelet up over the top of the foot
        laces.line(_spline([(x, y), (x - 0.008, y - 0.026), (x - 0.010, y - 0.050)], n=6), 0.010)
    bx, by = eyes[-1][0] - 0.004, eyes[-1][1] - 0.052  # the bow
    laces.line(_spline([(bx, by), (bx - 0.04, by - 0.022), (bx - 0.052, by - 0.004), (bx - 0.03, by + 0.006), (bx, by)], n=8), 0.008)
    laces.line(_spline([(bx, by), (bx + 0.012, by - 0.032), (bx + 0.03, by - 0.03), (bx + 0.026, by - 0.012), (bx, by)], n=8), 0.008)
    laces.line(_spline([(bx, by), (bx - 0.02, by + 0.04), (bx - 0.012, by + 0.075)], n=8), 0.008)
    laces.line(_spline([(bx, by), (bx + 0.008, by + 0.045), (bx + 0.024, by + 0.07)], n=8), 0.008)
    lace_col = white if _luma(base) < 0.8 else _mix(base, (0, 0, 0), 0.35)
    _paint_part(cv, surf, laces, lace_col, shade_mul=1.1, gloss=0.12,
                modulate=lambda X, Y: 0.9 + 0.1 * np.cos((X + Y) * 2 * np.pi * 220))
    # pull tab
    tab = cv.mask().poly(_spline([(0.862, 0.345), (0.868, 0.292), (0.888, 0.284), (0.902, 0.300), (0.905, 0.352)], closed=True, n=8))
    _paint_part(cv, surf, tab, accent, shade_mul=1.0, gloss=0.05)
    # stitching along the overlays
    st = cv.mask()
    st.dashed(_spline([(0.102, 0.598), (0.137, 0.558), (0.212, 0.523), (0.248, 0.518), (0.266, 0.562), (0.252, 0.63)], n=12), 0.0022, 0.007, 0.004)
    st.dashed(_spline([(0.898, 0.425), (0.848, 0.452), (0.80, 0.535), (0.792, 0.64)], n=12), 0.0022, 0.007, 0.004)
    st.dashed(_spline([(0.36, 0.632), (0.48, 0.593), (0.63, 0.524), (0.765, 0.458)], n=12), 0.0022, 0.007, 0.004)
    _paint_lines(cv, surf, st, _mix(base, (1, 1, 1), 0.5) if _luma(base) < 0.5 else dark, 0.55)

    # sole: dark rubber outsole with tread, white midsole with a groove
    ob = outsole.bbox(pad=2)
    om = outsole.crop(ob)
    X, Y = cv.grid(ob)
    rubber = np.array([0.20, 0.19, 0.18], np.float32) if _luma(base) > 0.2 else np.array([0.55, 0.42, 0.30], np.float32)
    tread = 1 - 0.35 * (np.cos(X * 2 * np.pi * 95) > 0.55) * (Y > 0.712)
    cv.paint_lit(ob, om, rubber, (0.95 - 1.2 * np.clip(Y - 0.69, 0, 0.1)) * tread)
    msurf = _relief(cv, midsole, 0.012, depth=0.6, ambient=0.45, shininess=18)
    X, Y = cv.grid(msurf.bbox)
    grad = 1.02 - 1.0 * np.clip(Y - 0.66, 0, 0.1)
    groove = 1 - 0.22 * np.exp(-((Y - 0.680 - 0.015 * ((X - 0.5) / 0.4) ** 2) / 0.0025) ** 2)
    cv.paint_lit(msurf.bbox, msurf.m, white, msurf.shade * grad * groove, msurf.spec * 0.06)


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------

_DRAWERS: dict[str, Callable[[_Canvas, np.ndarray], None]] = {
    "tshirt": _draw_tshirt,
    "hoodie": _draw_hoodie,
    "mug": _draw_mug,
    "bottle": _draw_bottle,
    "shoe": _draw_shoe,
    "beanie": _draw_beanie,
}


def draw_product(
    kind: str,
    *,
    color: tuple[int, int, int],
    size: int = 768,
    transparent: bool = False,
    seed: int = 0,
) -> Image.Image:
    """Render a studio product shot of ``kind`` (one of :data:`KINDS`) in ``color``.

    Returns a ``size`` x ``size`` image: RGB on a light studio background, or RGBA with a
    fully transparent background (the shadow stays, semi-transparent) when ``transparent``.
    The same arguments always give the same pixels; ``seed`` varies folds, fabric grain and
    the background tint.
    """
    if kind not in _DRAWERS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if size < 16:
        raise ValueError("size must be at least 16")
    if len(color) < 3 or any(not 0 <= int(c) <= 255 for c in color[:3]):
        raise ValueError("color must be an (r, g, b) tuple of 0-255 ints")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, KINDS.index(kind)])
    cv = _Canvas(int(size), bool(transparent), rng)
    _DRAWERS[kind](cv, _srgb(color))
    return cv.image()


# --------------------------------------------------------------------------------------------
# demo catalogue
# --------------------------------------------------------------------------------------------

_COLOURS: tuple[tuple[str, Color], ...] = (
    ("Crimson", (178, 34, 52)),
    ("Navy", (31, 45, 92)),
    ("Forest", (34, 96, 62)),
    ("Mustard", (216, 163, 42)),
    ("Sky", (112, 172, 222)),
    ("Charcoal", (56, 59, 66)),
    ("Coral", (240, 112, 92)),
    ("Lavender", (172, 152, 212)),
    ("Teal", (22, 128, 130)),
    ("Sand", (214, 196, 160)),
    ("Olive", (108, 116, 52)),
    ("Plum", (112, 42, 92)),
    ("Tangerine", (246, 132, 32)),
    ("Ivory", (238, 233, 218)),
    ("Slate", (100, 116, 132)),
    ("Rose", (226, 140, 162)),
    ("Cobalt", (32, 82, 190)),
    ("Mint", (152, 214, 182)),
    ("Burgundy", (112, 22, 42)),
    ("Midnight", (28, 28, 34)),
    ("Sunflower", (250, 204, 48)),
    ("Stone", (160, 154, 144)),
    ("Emerald", (20, 150, 96)),
    ("Blush", (240, 196, 190)),
    ("Rust", (170, 74, 36)),
)

_NOUNS = {
    "tshirt": ("Tee", "Organic Tee", "Pocketless Tee"),
    "hoodie": ("Hoodie", "Heavyweight Hoodie", "Fleece Hoodie"),
    "mug": ("Mug", "Stoneware Mug", "Espresso Mug"),
    "bottle": ("Water Bottle", "Insulated Bottle", "Trail Bottle"),
    "shoe": ("Sneakers", "Court Sneakers", "Runner Sneakers"),
    "beanie": ("Beanie", "Rib Beanie", "Pom Beanie"),
}

_PRICES = {
    "tshirt": (19, 34),
    "hoodie": (49, 79),
    "mug": (12, 22),
    "bottle": (24, 39),
    "shoe": (79, 139),
    "beanie": (18, 29),
}

_BLURBS = {
    "tshirt": "A soft, mid-weight cotton t-shirt in {c}. Ribbed crew neck, taped shoulders and a regular fit that keeps its shape wash after wash.",
    "hoodie": "Brushed-back fleece hoodie in {c} with a lined hood, flat drawcords, a kangaroo pocket and ribbed cuffs and hem.",
    "mug": "Glazed stoneware mug in {c} with a creamy white inside. Holds 350 ml, dishwasher and microwave safe.",
    "bottle": "Double-wall insulated steel bottle in {c}: cold for 24 hours, hot for 12. Leak-proof cap with a carry loop, 750 ml.",
    "shoe": "Everyday low-top sneakers in {c} with a cushioned white midsole, grippy rubber outsole and a padded collar.",
    "beanie": "Chunky rib-knit beanie in {c} with a fold-over cuff, a leather patch and a fluffy pom-pom.",
}


def demo_catalogue(n: int = 24) -> list[dict]:
    """``n`` deterministic demo products covering every kind, with varied colours.

    Each entry: ``name``, ``kind``, ``category``, ``color`` (r, g, b), ``transparent`` (about
    half are), ``price`` (Decimal), ``description`` and ``seed``; names are unique.
    """
    out: list[dict] = []
    names: set[str] = set()
    k = len(KINDS)
    nc = len(_COLOURS)
    for i in range(max(0, int(n))):
        ki = i % k
        kind = KINDS[ki]
        rnd = i // k
        cname, rgb = _COLOURS[(rnd * 7 + ki * 4) % nc]
        noun = _NOUNS[kind][(rnd // nc) % len(_NOUNS[kind])]
        name = f"{cname} {noun}"
        extra = 2
        while name in names:
            name = f"{cname} {noun} No. {extra}"
            extra += 1
        names.add(name)
        lo, hi = _PRICES[kind]
        whole = lo + (i * 37 + ki * 11) % (hi - lo + 1)
        cents = ("00", "50", "90", "95")[(i * 3 + rnd) % 4]
        out.append(
            {
                "name": name,
                "kind": kind,
                "category": CATEGORIES[kind],
                "color": rgb,
                "transparent": (i + rnd) % 2 == 1,
                "price": Decimal(f"{whole}.{cents}"),
                "description": _BLURBS[kind].format(c=cname.lower()),
                "seed": 1000 + i * 7919 % 100003,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# reference photos for the "look" style
# --------------------------------------------------------------------------------------------

REFERENCE_PALETTES: tuple[str, ...] = ("sunset", "forest", "ocean", "desert", "neon")


def _gradient(t: np.ndarray, stops: Sequence[tuple[float, tuple[float, float, float]]]) -> np.ndarray:
    pos = np.array([s[0] for s in stops], np.float32)
    cols = np.array([s[1] for s in stops], np.float32) / 255.0
    t = np.clip(t, 0, 1)
    out = np.empty(t.shape + (3,), np.float32)
    for c in range(3):
        out[..., c] = np.interp(t, pos, cols[:, c])
    return out


def draw_reference_palette(name: str, size: int = 512) -> Image.Image:
    """A procedural "reference photo" (RGB, ``size`` square) whose colours and tones a shop may
    want to copy onto its product shots: ``sunset``, ``forest``, ``ocean``, ``desert``, ``neon``."""
    if name not in REFERENCE_PALETTES:
        raise ValueError(f"unknown palette {name!r}; expected one of {', '.join(REFERENCE_PALETTES)}")
    n = int(size)
    rng = np.random.default_rng(REFERENCE_PALETTES.index(name) + 17)
    y = ((np.arange(n, dtype=np.float32) + 0.5) / n)[:, None]
    x = ((np.arange(n, dtype=np.float32) + 0.5) / n)[None, :]
    X = np.broadcast_to(x, (n, n))
    Y = np.broadcast_to(y, (n, n))
    noise = _smooth_noise(rng, n, n, n / 24)

    def over(img, m, col):  # col in 0-255
        m = np.clip(m, 0, 1)[..., None]
        return img * (1 - m) + (np.asarray(col, np.float32) / 255.0) * m

    if name == "sunset":
        horizon = 0.64
        img = _gradient(Y / horizon, [(0.0, (58, 34, 92)), (0.35, (150, 58, 120)), (0.7, (240, 110, 70)), (1.0, (255, 190, 92))])
        sun = np.sqrt((X - 0.56) ** 2 + (Y - 0.56) ** 2)
        img = img + _gradient(1 - sun / 0.35, [(0, (0, 0, 0)), (1, (120, 70, 20))]) * 0.6
        img = over(img, _smoothstep(0.085, 0.078, sun), (255, 232, 170))
        # clouds: soft bands
        cl = _smoothstep(0.55, 1.3, noise + 3 * np.sin(Y * 40 + noise)) * (Y < 0.5) * 0.35
        img = over(img, cl, (255, 150, 120))
        sea = _gradient((Y - horizon) / (1 - horizon), [(0, (180, 70, 90)), (1, (40, 20, 60))])
        glitter = np.exp(-((X - 0.56) / (0.04 + 0.25 * (Y - horizon))) ** 2) * (0.5 + 0.5 * np.sin(Y * 300 + noise * 3))
        sea = sea + glitter[..., None] * np.array([0.9, 0.55, 0.25], np.float32) * 0.6
        img = np.where((Y > horizon)[..., None], sea, img)
        hills = horizon - 0.05 - 0.04 * np.sin(X * 7 + 1) - 0.02 * np.sin(X * 17)
        img = over(img, _smoothstep(0, 0.004, Y - hills) * (X < 0.35 + 0.1 * np.sin(Y * 9)) * (Y < horizon + 0.002), (40, 18, 50))
    elif name == "forest":
        img = _gradient(Y, [(0.0, (196, 214, 170)), (0.45, (92, 130, 70)), (1.0, (40, 52, 28))])
        for i in range(26):
            tx = rng.uniform(-0.05, 1.05)
            depth = i / 25
            base_y = 0.55 + 0.4 * depth
            hgt = 0.35 + 0.35 * depth
            wdt = 0.05 + 0.07 * depth
            col = np.array(_gradient(np.array(depth), [(0, (120, 150, 110)), (1, (18, 46, 22))]))
            cone = (Y < base_y) & (Y > base_y - hgt) & (np.abs(X - tx) < wdt * (Y - (base_y - hgt)) / hgt * (1 + 0.15 * np.sin(Y * 90)))
            img = over(img, cone.astype(np.float32), col * 255)
            trunk = (np.abs(X - tx) < 0.008 + 0.008 * depth) & (Y >= base_y - 0.02) & (Y < base_y + 0.06)
            img = over(img, trunk.astype(np.float32), (90 - 40 * depth, 60 - 25 * depth, 35 - 15 * depth))
        ground = _smoothstep(0.86, 0.9, Y + 0.02 * noise)
        img = over(img, ground, (92, 66, 40))
        rays = np.clip(np.sin((X - Y * 0.5) * 30) * 0.5 + 0.5, 0, 1) ** 6 * (1 - Y) * 0.25
        img = img + rays[..., None] * np.array([1.0, 0.95, 0.7], np.float32)
    elif name == "ocean":
        img = _gradient(Y, [(0.0, (170, 214, 236)), (0.32, (120, 190, 220)), (0.36, (20, 110, 150)), (1.0, (6, 40, 78))])
        waves = np.sin(X * 40 + np.sin(Y * 25) * 2 + noise) * np.sin(Y * 120 * (0.4 + Y))
        crest = np.clip(waves, 0, 1) ** 4 * (Y > 0.36)
        img = img + crest[..., None] * np.array([0.45, 0.8, 0.8], np.float32) * 0.5
        foam = _smoothstep(0.9, 1.0, 0.7 * np.sin(X * 16 + noise * 2) + 0.4 * noise * 0.5) * (Y > 0.7) * (Y < 0.8 + 0.05 * np.sin(X * 9))
        img = over(img, foam * 0.8, (225, 245, 245))
        teal = np.exp(-((Y - 0.55) / 0.1) ** 2) * 0.25
        img = img + teal[..., None] * np.array([0.0, 0.5, 0.4], np.float32)
    elif name == "desert":
        img = _gradient(Y, [(0.0, (120, 170, 220)), (0.45, (240, 214, 170)), (1.0, (196, 120, 64))])
        for i, (amp, off, col) in enumerate([(0.05, 0.55, (226, 168, 102)), (0.06, 0.68, (204, 134, 76)), (0.07, 0.82, (170, 98, 52))]):
            ridge = off + amp * np.sin(X * (5 + 2 * i) + i * 1.7) + 0.01 * noise
            img = over(img, _smoothstep(0, 0.006, Y - ridge), col)
            shadow = _smoothstep(0.0, 0.04, Y - ridge) * (1 - _smoothstep(0.04, 0.1, Y - ridge)) * 0.25
            img = img * (1 - shadow[..., None])
    else:  # neon
        img = _gradient(Y, [(0.0, (20, 10, 40)), (1.0, (40, 10, 60))])
        for i, col in enumerate([(255, 40, 160), (40, 220, 255), (150, 60, 255), (255, 180, 40)]):
            cy = 0.2 + 0.2 * i
            glow = np.exp(-((Y - cy - 0.05 * np.sin(X * 6 + i)) / 0.05) ** 2)
            img = img + glow[..., None] * np.array(col, np.float32) / 255 * 0.8
        grid = (np.abs(((X - 0.5) / (Y + 0.2) * 6) % 1 - 0.5) < 0.03) | (np.abs((1 / (Y + 0.2) * 3) % 1 - 0.5) < 0.04)
        img = over(img, (grid & (Y > 0.6)).astype(np.float32) * 0.7, (255, 60, 200))
    img = img + noise[..., None] * 0.012
    img = np.clip(img, 0, 1)
    return Image.fromarray((img * 255 + 0.5).astype(np.uint8), "RGB")


# --------------------------------------------------------------------------------------------
# .cube LUTs for the "lut" style
# --------------------------------------------------------------------------------------------

LUT_LOOKS: tuple[str, ...] = ("vintage", "cool", "mono-warm", "warm", "teal-orange")

_LUMA = np.array([0.2126, 0.7152, 0.0722])


def _apply_look(name: str, rgb: np.ndarray) -> np.ndarray:
    """Apply a named colour look to an (..., 3) array of values in [0, 1]."""
    lum = (rgb @ _LUMA)[..., None]
    if name == "vintage":
        # lower saturation, gentle S-curve, faded blacks, warm highlights, cooler shadows
        out = lum + (rgb - lum) * 0.72  # desaturate
        out = out - 0.12 * out * (1 - out) * (2 * out - 1)  # flatten the contrast a little
        out = 0.07 + 0.88 * out  # faded blacks, soft whites
        hi = _smoothstep(0.4, 1.0, lum)
        out = out + hi * np.array([0.045, 0.015, -0.05]) + (1 - hi) * np.array([-0.01, 0.0, 0.02])
    elif name == "cool":
        out = rgb * np.array([0.92, 0.99, 1.08]) + np.array([0.0, 0.01, 0.03])
        out = lum + (out - lum) * 0.95
    elif name == "mono-warm":
        sepia = np.array([1.07, 0.95, 0.74])
        t = np.clip(lum * 0.94 + 0.04, 0, 1)
        out = t * sepia
        out = out + (1 - t) * np.array([0.03, 0.02, 0.0])
    elif name == "warm":
        out = rgb * np.array([1.07, 1.0, 0.9]) + np.array([0.02, 0.01, 0.0])
    elif name == "teal-orange":
        sat = rgb - lum
        w = _smoothstep(0.0, 1.0, lum)
        out = rgb + (1 - w) * np.array([-0.04, 0.02, 0.05]) + w * np.array([0.06, 0.01, -0.05]) + 0.15 * sat
    else:
        raise ValueError(f"unknown look {name!r}; expected one of {', '.join(LUT_LOOKS)}")
    return np.clip(out, 0.0, 1.0)


def make_cube_lut(name: str, size: int = 17) -> str:
    """The text of a ``.cube`` 3D LUT (Adobe/Resolve format) for the named look.

    ``LUT_3D_SIZE`` is ``size``; the ``size**3`` rows list output ``r g b`` with the red index
    changing fastest, then green, then blue.
    """
    if name not in LUT_LOOKS:
        raise ValueError(f"unknown look {name!r}; expected one of {', '.join(LUT_LOOKS)}")
    n = int(size)
    if not 2 <= n <= 256:
        raise ValueError("size must be between 2 and 256")
    v = np.linspace(0.0, 1.0, n)
    b, g, r = np.meshgrid(v, v, v, indexing="ij")  # C order: blue slowest, red fastest
    lattice = np.stack([r, g, b], axis=-1).reshape(-1, 3)
    out = _apply_look(name, lattice)
    lines = [
        f'TITLE "{name}"',
        "# generated by shop.catalogue.drawing.make_cube_lut",
        f"LUT_3D_SIZE {n}",
        "DOMAIN_MIN 0.0 0.0 0.0",
        "DOMAIN_MAX 1.0 1.0 1.0",
    ]
    lines.extend(f"{x:.6f} {y:.6f} {z:.6f}" for x, y, z in out)
    return "\n".join(lines) + "\n"
