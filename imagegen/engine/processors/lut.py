""""lut": apply a .cube 3D LUT (Adobe/Resolve "Cube LUT" format) with trilinear interpolation.

Format: keyword lines (TITLE, LUT_3D_SIZE, DOMAIN_MIN, DOMAIN_MAX, LUT_3D_INPUT_RANGE),
"#" comments, then N^3 rows "r g b" with red changing fastest, then green, then blue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ParameterError
from ..io import Image
from .base import Processor

__all__ = [
    "Cube",
    "parse_cube",
    "apply_cube",
    "make_cube",
    "write_cube",
    "identity_cube",
    "LutProcessor",
]

MAX_SIZE = 256
_KEYWORD = re.compile(r"^[A-Z_][A-Z0-9_]*$")  # keywords are upper case


@dataclass(frozen=True)
class Cube:
    size: int
    table: np.ndarray  # float32 (N, N, N, 3), indexed [b, g, r]
    domain_min: tuple[float, float, float] = (0.0, 0.0, 0.0)
    domain_max: tuple[float, float, float] = (1.0, 1.0, 1.0)
    title: str = ""


def _bad(lineno: int | None, message: str) -> ParameterError:
    where = f" (line {lineno})" if lineno else ""
    return ParameterError(f"The .cube LUT file is invalid{where}: {message}. Export the LUT again as a 3D .cube file.")


def _floats(parts: list[str], count: int, lineno: int, what: str) -> tuple[float, ...]:
    if len(parts) != count:
        raise _bad(lineno, f"{what} needs {count} numbers, found {len(parts)}")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise _bad(lineno, f"{what} has a value that is not a number: {' '.join(parts)[:60]!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise _bad(lineno, f"{what} has a value that is not finite")
    return values


@lru_cache(maxsize=16)
def _parse_cached(data: bytes) -> Cube:
    if not data:
        raise _bad(None, "the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad(None, "it is not a text file") from None

    size: int | None = None
    title = ""
    dmin, dmax = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    rows: list[str] = []
    first_row_line = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        # a title may contain "#"; everywhere else "#" starts a comment
        line = stripped if stripped.startswith("TITLE") else stripped.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        key = parts[0]
        if _KEYWORD.match(key):
            if rows:
                raise _bad(lineno, f"keyword {key} after the table rows started")
            if key == "TITLE":
                title = line[len(parts[0]):].strip().strip('"')
            elif key == "LUT_3D_SIZE":
                if len(parts) != 2 or not parts[1].isdigit():
                    raise _bad(lineno, "LUT_3D_SIZE must be followed by one whole number")
                size = int(parts[1])
                if not 2 <= size <= MAX_SIZE:
                    raise _bad(lineno, f"LUT_3D_SIZE is {size}; it must be from 2 to {MAX_SIZE}")
            elif key == "LUT_1D_SIZE":
                raise _bad(lineno, "this is a 1D LUT; only 3D LUTs (LUT_3D_SIZE) are supported")
            elif key == "DOMAIN_MIN":
                dmin = _floats(parts[1:], 3, lineno, "DOMAIN_MIN")  # type: ignore[assignment]
            elif key == "DOMAIN_MAX":
                dmax = _floats(parts[1:], 3, lineno, "DOMAIN_MAX")  # type: ignore[assignment]
            elif key == "LUT_3D_INPUT_RANGE":  # Resolve's variant of DOMAIN_MIN/MAX
                lo, hi = _floats(parts[1:], 2, lineno, "LUT_3D_INPUT_RANGE")
                dmin, dmax = (lo, lo, lo), (hi, hi, hi)
            # other keywords (LUT_1D_INPUT_RANGE, vendor extensions) carry nothing we use
            continue
        if not rows:
            first_row_line = lineno
        if len(parts) != 3:
            raise _bad(lineno, f"a table row needs 3 numbers, found {len(parts)}")
        rows.append(line)

    if size is None:
        raise _bad(None, "LUT_3D_SIZE is missing")
    expected = size**3
    if len(rows) != expected:
        raise _bad(None, f"LUT_3D_SIZE {size} needs {expected} table rows, found {len(rows)}")
    if any(lo >= hi for lo, hi in zip(dmin, dmax)):
        raise _bad(None, f"DOMAIN_MIN {dmin} must be below DOMAIN_MAX {dmax}")
    try:
        values = np.array(" ".join(rows).split(), dtype=np.float64)
    except ValueError:
        # slow path only to say which line is wrong
        for offset, row in enumerate(rows):
            _floats(row.split(), 3, first_row_line + offset, "table row")
        raise _bad(None, "a table row is not numeric") from None
    if not np.isfinite(values).all():
        raise _bad(None, "the table has values that are not finite")
    table = values.astype(np.float32).reshape(size, size, size, 3)
    table.setflags(write=False)
    return Cube(size=size, table=table, domain_min=dmin, domain_max=dmax, title=title)


def parse_cube(data: bytes | str) -> Cube:
    """Parse a .cube file; raise ParameterError saying what is wrong (and on which line)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParameterError("The LUT must be given as the .cube file's bytes.")
    return _parse_cached(bytes(data))


def apply_cube(rgb: torch.Tensor, cube: Cube) -> torch.Tensor:
    """Map (3, H, W) colours through the LUT with trilinear interpolation (vectorised)."""
    device, dtype = rgb.device, torch.float32
    dmin = torch.tensor(cube.domain_min, dtype=dtype, device=device).view(3, 1, 1)
    dmax = torch.tensor(cube.domain_max, dtype=dtype, device=device).view(3, 1, 1)
    unit = ((rgb.to(dtype) - dmin) / (dmax - dmin)).clamp(0, 1)
    # grid_sample over a volume (C=3, D=b, H=g, W=r) is exactly trilinear interpolation;
    # with align_corners=True the coordinates -1 and 1 hit the first and last lattice points.
    volume = torch.from_numpy(np.array(cube.table)).to(device).permute(3, 0, 1, 2)[None]
    grid = (unit * 2 - 1).permute(1, 2, 0)[None, None]  # (1, 1, H, W, 3) as (x=r, y=g, z=b)
    out = F.grid_sample(volume, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, :, 0].clamp(0, 1)


def make_cube(
    size: int,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    title: str = "",
) -> str:
    """Write a .cube LUT sampling ``transform`` ((M,3) array of 0..1 RGB -> (M,3)) on an
    N^3 lattice, red changing fastest. ``transform=None`` gives the identity LUT."""
    if not 2 <= size <= MAX_SIZE:
        raise ValueError(f"size must be from 2 to {MAX_SIZE}")
    axis = np.linspace(0.0, 1.0, size)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")  # last axis (r) varies fastest
    lattice = np.stack([r.ravel(), g.ravel(), b.ravel()], axis=1)
    values = lattice if transform is None else np.asarray(transform(lattice.copy()), dtype=np.float64)
    if values.shape != lattice.shape:
        raise ValueError(f"transform must return shape {lattice.shape}, got {values.shape}")
    lines = []
    if title:
        lines.append(f'TITLE "{title}"')
    lines.append(f"LUT_3D_SIZE {size}")
    lines.append("DOMAIN_MIN 0.0 0.0 0.0")
    lines.append("DOMAIN_MAX 1.0 1.0 1.0")
    lines.extend(f"{v[0]:.6f} {v[1]:.6f} {v[2]:.6f}" for v in values)
    return "\n".join(lines) + "\n"


write_cube = make_cube


def identity_cube(size: int = 17) -> str:
    return make_cube(size, None, title="Identity")


class LutProcessor(Processor):
    name = "lut"
    needs_reference = True
    description = "Apply a .cube 3D colour look-up table."
    param_specs: dict = {}

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        if reference is None:
            raise ParameterError("The 'lut' processor needs a .cube LUT file; upload one on the style.")
        cube = parse_cube(reference)
        rgb = apply_cube(image.rgb, cube)
        info = dict(image.info)
        if cube.title:
            info["lut_title"] = cube.title
        return Image(rgb=rgb, alpha=image.alpha, info=info)
