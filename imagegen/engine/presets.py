"""Ready-made parameter sets for the product processors (the Django side turns them into
built-in styles).

MARKETPLACE_PARAMS: the main-image rules big marketplaces publish: a pure white background
(exactly 255, 255, 255: no gradient and no shadow, so every pixel around the product is
white), a square frame, the product's long side 85% of the frame's side (measured on its
bounding box, so a catalogue grid looks uniform), and a note when the photo is too small for
a 1600 px frame (the product is never enlarged). Use it with a max size of at least 1600
(MARKETPLACE_MAX_SIZE).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MARKETPLACE_PROCESSOR", "MARKETPLACE_PARAMS", "MARKETPLACE_MAX_SIZE", "CUTOUT_PROCESSOR", "CUTOUT_PARAMS"]

MARKETPLACE_PROCESSOR = "background"
MARKETPLACE_PARAMS: dict[str, Any] = {
    "color": "#ffffff",
    "gradient": "none",
    "shadow": "none",
    "fill": 0.85,
    "aspect": "1:1",
    "align": "center",
    "min_size": 1600,
}
MARKETPLACE_MAX_SIZE = 2000  # the spec's output limit: room above the 1600 px minimum

CUTOUT_PROCESSOR = "cutout"
CUTOUT_PARAMS: dict[str, Any] = {"trim": False}
