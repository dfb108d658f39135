"""Render docs/builtin-styles.jpg: each of the 26 built-in neural styles on two products, under
the name imagegen_builtin_styles gives it (the names were chosen by looking at this sheet).

    .venv/bin/python -m benchmarks.builtin_styles_sheet [--size 160] [--products hoodie.png tee.png]

Products: the real photos in ../shared/datasets/products when present (composited on white),
else drawn ones. About 20 s on 2 CPU cores.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = ROOT.parent / "shared" / "datasets" / "products"
PHOTOS = ["saleor-blue-hoodie.png", "saleor-white-cubes-tee-front.png"]
COLUMNS = 6


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def _sources(size: int) -> list[Image.Image]:
    from shop.catalogue.drawing import draw_product

    if PRODUCTS.is_dir():
        images = [Image.open(PRODUCTS / name).convert("RGBA") for name in PHOTOS]
    else:
        images = [draw_product(kind, color=(60, 90, 200), size=512, transparent=True, seed=1) for kind in ("hoodie", "tshirt")]
    out = []
    for image in images:
        image = image.convert("RGBA").resize((size, size), Image.LANCZOS)
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        white.alpha_composite(image)
        out.append(white.convert("RGB"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--out", default=str(ROOT / "docs" / "builtin-styles.jpg"))
    args = parser.parse_args()

    from imagegen.engine import render
    from imagegen.engine.io import from_pil, to_pil
    from imagegen.builtin_styles import BUILTIN_NAMES

    tile, label = args.size, 22
    sources = _sources(tile)
    cell_w = tile * len(sources)
    rows = -(-len(BUILTIN_NAMES) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * cell_w + (COLUMNS - 1) * 8, rows * (tile + label)), "white")
    draw, font = ImageDraw.Draw(sheet), _font(13)
    for index, name in enumerate(BUILTIN_NAMES):
        row, col = divmod(index, COLUMNS)
        x, y = col * (cell_w + 8), row * (tile + label)
        draw.text((x + 2, y + 4), f"{index}  {name}", fill="black", font=font)
        for j, source in enumerate(sources):
            result = render(from_pil(source), "style", {"style": index})
            sheet.paste(to_pil(result).convert("RGB"), (x + j * tile, y + label))
    sheet.save(args.out, "JPEG", quality=82, optimize=True, progressive=True)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")


if __name__ == "__main__":
    main()
