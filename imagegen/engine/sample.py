"""A drawn sample product (a mug on a soft studio backdrop) for style previews while a shop's
catalogue is still empty. Drawn with Pillow, so nothing is downloaded and it is the same on
every machine."""

from __future__ import annotations

import io

from PIL import Image as PILImage, ImageDraw, ImageFilter

__all__ = ["sample_product_png"]


def sample_product_png(size: int = 384) -> bytes:
    """PNG bytes of a size x size photo-like product shot: a two-tone mug with a handle,
    highlights and a contact shadow, so colour, tone and texture changes all show."""
    s = size / 384
    img = PILImage.new("RGB", (size, size))
    px = ImageDraw.Draw(img)
    for y in range(size):  # warm grey backdrop, lighter at the top
        t = y / size
        px.line([(0, y), (size, y)], fill=(int(236 - 30 * t), int(230 - 32 * t), int(222 - 36 * t)))
    shadow = PILImage.new("L", (size, size), 0)
    ImageDraw.Draw(shadow).ellipse([90 * s, 290 * s, 300 * s, 330 * s], fill=120)
    img.paste((60, 50, 45), mask=shadow.filter(ImageFilter.GaussianBlur(12 * s)))
    draw = ImageDraw.Draw(img)
    draw.ellipse([222 * s, 150 * s, 310 * s, 250 * s], outline=(30, 95, 150), width=max(2, int(18 * s)))  # handle
    draw.rounded_rectangle([100 * s, 110 * s, 250 * s, 310 * s], radius=int(18 * s), fill=(38, 110, 170))  # body
    draw.rectangle([100 * s, 200 * s, 250 * s, 240 * s], fill=(232, 180, 60))  # a yellow band
    draw.ellipse([100 * s, 96 * s, 250 * s, 126 * s], fill=(28, 80, 128))  # the opening
    draw.rectangle([118 * s, 130 * s, 132 * s, 290 * s], fill=(120, 175, 220))  # highlight
    buf = io.BytesIO()
    img.filter(ImageFilter.SMOOTH).save(buf, "PNG")
    return buf.getvalue()
