"""Render docs/contact-sheet.png: 6 products x 6 styles, by the project's own engine.

    .venv/bin/python -m benchmarks.style_contact_sheet [--size 256]

Products: the real photos in ../shared/datasets/products when present, else drawn ones.
Styles: four built-in neural styles (one a 50/50 mix), one reference-image style (a drawn
"sunset" palette as the reference) and the classical watercolour. Each image is rendered at
1.5x the tile size and shown over white.
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = ROOT.parent / "shared" / "datasets" / "products"
PHOTOS = ["saleor-blue-hoodie.png", "saleor-beanie-1.png", "saleor-dash-force-1.png",
          "saleor-cushion-blue.png", "saleor-polo-shirt-front.png", "saleor-white-cubes-tee-front.png"]  # fmt: skip


def _png(pil: Image.Image) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, "PNG")
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", default=str(ROOT / "docs" / "contact-sheet.png"))
    args = parser.parse_args()

    from imagegen.engine import BatchItem, decode, prepare_batch, render
    from imagegen.engine.io import to_pil
    from shop.catalogue.drawing import KINDS, draw_product, draw_reference_palette

    if PRODUCTS.is_dir():
        sources = [(name.removeprefix("saleor-").removesuffix(".png"), (PRODUCTS / name).read_bytes()) for name in PHOTOS]
    else:
        sources = [(kind, _png(draw_product(kind, color=(60 + 30 * i, 90, 200 - 25 * i), size=512, transparent=True, seed=i)))
                   for i, kind in enumerate(KINDS[:6])]  # fmt: skip
    sunset = _png(draw_reference_palette("sunset", size=256))
    styles = [
        ("built-in 3", "style", {"style": 3}, None),
        ("built-in 7", "style", {"style": 7}, None),
        ("built-in 19", "style", {"style": 19}, None),
        ("mix 5 + 22", "style", {"style": "5:0.5,22:0.5"}, None),
        ("reference: sunset", "style", {}, sunset),
        ("watercolour", "watercolor", {}, None),
    ]
    tile, label = args.size, 18
    work = int(tile * 1.5)
    sheet = Image.new("RGB", ((len(styles) + 1) * tile, len(sources) * (tile + label) + label), "white")
    draw = ImageDraw.Draw(sheet)
    for c, title in enumerate(["original"] + [s[0] for s in styles]):
        draw.text((c * tile + 4, 3), title, fill="black")
    for r, (name, data) in enumerate(sources):
        image = decode(data)
        prepare_batch([BatchItem(image, p, params, ref, work) for _, p, params, ref in styles])
        cells = [render(image, "sketch", {"strength": 0.0}, max_size=work)]  # the original, same pipeline
        cells += [render(image, p, params, reference=ref, max_size=work) for _, p, params, ref in styles]
        y = label + r * (tile + label)
        for c, cell in enumerate(cells):
            pil = to_pil(cell).convert("RGBA")
            canvas = Image.new("RGBA", pil.size, "white")
            canvas.alpha_composite(pil)
            canvas = canvas.convert("RGB").resize((tile, tile), Image.LANCZOS)
            sheet.paste(canvas, (c * tile, y))
        draw.text((4, y + tile + 2), name, fill="black")
        print(name, "done", flush=True)
    # 256 colours (dithered): a third of the bytes in the repository, no visible difference
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(args.out, optimize=True)
    print(args.out)


if __name__ == "__main__":
    main()
