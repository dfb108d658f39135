from __future__ import annotations

import time
from typing import Any

from imagegen.engine.io import Image
from imagegen.engine.processors.base import Number, Processor


class SlowProcessor(Processor):
    """Returns the image unchanged after ``seconds`` (in small sleeps, so a timeout signal lands)."""

    name = "slow"
    needs_reference = False
    param_specs = {"seconds": Number(default=1.0, minimum=0.0, maximum=600.0)}

    def process(self, image: Image, params: dict[str, Any], reference: bytes | None) -> Image:
        deadline = time.monotonic() + params["seconds"]
        while time.monotonic() < deadline:
            time.sleep(0.05)
        return Image(image.rgb.clone(), None if image.alpha is None else image.alpha.clone(), dict(image.info))
