"""Render docs/product-contact-sheet.png: real products through the product processors.

    .venv/bin/python -m benchmarks.product_contact_sheet [--tile 300] [--work 900] [--mask segment|true] [--weights FILE]

Each row is one product of ../shared/datasets/products made into an opaque photo as a shop
would upload it: composited, smaller and off-centre, on a photo of ../shared/datasets/backgrounds
or on white. Its product mask is what a worker attaches: the built-in U²-Net-p's
(``--mask segment``, the default), or, to judge the processors alone, the product's true
alpha (``--mask true``); ``--weights`` takes fine-tuned weights (``imagegen_train segment``). Columns: that input, the cut-out (on a checkerboard), the marketplace preset,
a colour + radial gradient background with a contact shadow, a photo background (another
background photo as the style's reference, lightly blurred), and smart crops 1:1 and 16:9.
Drawn products are used when ../shared is absent.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"
# (product, scene it is photographed in: a background photo, or None for white)
ROWS = [
    ("saleor-blue-plimsolls-1.png", "astronaut.png"),
    ("saleor-beanie-1.png", None),
    ("saleor-white-hoodie.png", "gravel.png"),
    ("saleor-cushion-blue.png", "coffee.png"),
    ("saleor-dash-force-2.png", None),
    ("saleor-polo-shirt-front.png", "grass.png"),
]
REFERENCE = "brick.png"  # the "photo background" style's reference: a wall


def _png(pil: Image.Image) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, "PNG")
    return buf.getvalue()


def opaque_photo(product: bytes, scene: bytes | None, size: tuple[int, int] = (1500, 1000)):
    """The product at 70% of the photo's height, right of centre, on ``scene`` (cover-cropped)
    or white; returns the engine Image with ``mask`` = the product's true alpha."""
    from imagegen.engine import Image as EImage, decode

    prod = decode(product)
    w, h = size
    ph = int(0.7 * h)
    pw = max(1, round(prod.width * ph / prod.height))
    rgb = F.interpolate((prod.rgb * prod.alpha)[None], size=(ph, pw), mode="bilinear", antialias=True)[0]
    alpha = F.interpolate(prod.alpha[None], size=(ph, pw), mode="bilinear", antialias=True)[0].clamp(0, 1)
    if scene is None:
        canvas = torch.ones(3, h, w)
    else:
        bg = decode(scene).rgb
        s = max(w / bg.shape[-1], h / bg.shape[-2])
        bg = F.interpolate(bg[None], size=(round(bg.shape[-2] * s + 0.5), round(bg.shape[-1] * s + 0.5)), mode="bilinear", antialias=True)[0]
        canvas = bg[:, :h, :w].clone()
    x0, y0 = int(0.62 * w - pw / 2), int(0.55 * h - ph / 2)
    x0 = max(0, min(w - pw, x0))
    mask = torch.zeros(1, h, w)
    mask[:, y0 : y0 + ph, x0 : x0 + pw] = alpha
    window = canvas[:, y0 : y0 + ph, x0 : x0 + pw]
    canvas[:, y0 : y0 + ph, x0 : x0 + pw] = rgb + window * (1 - alpha)  # premultiplied over
    return EImage(rgb=canvas.clamp(0, 1), alpha=None, info={"format": "JPEG"}, mask=mask)


def checkerboard(size: tuple[int, int], cell: int = 12) -> Image.Image:
    w, h = size
    board = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(board)
    for y in range(0, h, cell):
        for x in range((y // cell) % 2 * cell, w, 2 * cell):
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=(204, 204, 204))
    return board


def fit(pil: Image.Image, tile: int) -> Image.Image:
    """``pil`` scaled to fit a tile x tile cell, centred on light grey (shows each result's
    own shape and borders)."""
    pil = pil.copy()
    pil.thumbnail((tile - 8, tile - 8), Image.LANCZOS)
    cell = Image.new("RGB", (tile, tile), (236, 236, 236))
    if pil.mode == "RGBA":
        under = checkerboard(pil.size)
        under.paste(pil, (0, 0), pil)
        pil = under
    cell.paste(pil, ((tile - pil.width) // 2, (tile - pil.height) // 2))
    return cell


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tile", type=int, default=300)
    parser.add_argument("--work", type=int, default=900, help="max size of each render (px)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "product-contact-sheet.png"))
    parser.add_argument("--mask", choices=("segment", "true"), default="segment")
    parser.add_argument("--weights", type=Path, help="fine-tuned segmentation weights (default: the built-in network)")
    args = parser.parse_args()
    weights = args.weights.read_bytes() if args.weights else None
    from imagegen.engine.segment import segment, with_mask

    from imagegen.engine import render
    from imagegen.engine.io import to_pil
    from imagegen.engine.presets import MARKETPLACE_PARAMS

    if (SHARED / "products").is_dir():
        rows = [(p.removeprefix("saleor-").removesuffix(".png"), (SHARED / "products" / p).read_bytes(),
                 None if s is None or not (SHARED / "backgrounds" / s).is_file() else (SHARED / "backgrounds" / s).read_bytes(),
                 s or "white") for p, s in ROWS]  # fmt: skip
        reference = (SHARED / "backgrounds" / REFERENCE).read_bytes() if (SHARED / "backgrounds" / REFERENCE).is_file() else None
    else:
        from shop.catalogue.drawing import KINDS, draw_product

        rows = [(k, _png(draw_product(k, color=(60 + 30 * i, 90, 200 - 25 * i), size=512, transparent=True, seed=i)), None, "white")
                for i, k in enumerate(KINDS[:4])]  # fmt: skip
        reference = None
    if reference is None:
        reference = _png(Image.linear_gradient("L").convert("RGB").resize((400, 300)))

    columns = [
        ("input (opaque photo)", None, None, None),
        ("cutout", "cutout", {"trim": True}, None),
        ("marketplace", "background", MARKETPLACE_PARAMS, None),
        ("gradient + contact shadow", "background", {"gradient": "radial", "color": "#ffffff", "color2": "#d5dbe3",
                                                      "shadow": "contact", "aspect": "4:5"}, None),
        ("photo background", "background", {"blur": 4, "shadow": "contact", "aspect": "4:5", "align": "bottom", "fill": 0.7}, reference),
        ("crop 1:1", "crop", {"aspect": "1:1"}, None),
        ("crop 16:9", "crop", {"aspect": "16:9"}, None),
    ]  # fmt: skip
    tile, label = args.tile, 16
    sheet = Image.new("RGB", (len(columns) * tile, len(rows) * (tile + label) + label), "white")
    draw = ImageDraw.Draw(sheet)
    for c, (title, *_rest) in enumerate(columns):
        draw.text((c * tile + 4, 2), title, fill="black")
    for r, (name, product, scene, scene_name) in enumerate(rows):
        image = opaque_photo(product, scene)
        if args.mask == "segment":
            image = with_mask(image, segment(with_mask(image, None), weights))
        y = label + r * (tile + label)
        for c, (title, proc, params, ref) in enumerate(columns):
            if proc is None:
                pil = to_pil(image)
            else:
                out = render(image, proc, params, reference=ref, max_size=args.work)
                pil = to_pil(out)
            sheet.paste(fit(pil, tile), (c * tile, y))
        draw.text((4, y + tile + 1), f"{name} (photographed on {scene_name.removesuffix('.png')}; mask: {('fine-tuned U²-Net-p' if weights else 'U²-Net-p') if args.mask == 'segment' else 'true alpha'})", fill="black")
        print(name, "done", flush=True)
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(args.out, optimize=True)
    print(args.out, Path(args.out).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
