"""Per processor: images/s at 512 and 1024 px on CPU, imagegen's torch processor against a
plain Pillow/numpy implementation of the same operation, side by side in one run.

    .venv/bin/python -m benchmarks.bench_processors [--repeats 5] [--sizes 512 1024]

The references: `lut` vs Pillow's C Color3DLUT (trilinear, same .cube table); `look`
(Reinhard in Lab) vs the same formulas in numpy (which clips out-of-gamut colours, where
imagegen reduces their chroma, on the visible pixels, and re-centres: more work); `sketch` vs Pillow's GaussianBlur
and a numpy colour dodge; `watercolor` vs the same steps in numpy and Pillow (Kuwahara by
integral images, Pillow blurs and bicubic noise); `enhance` (the 4x GAN, default size, speed
only: the weights are random here) vs Pillow's Lanczos 4x, the plain way to upscale, on
inputs of a quarter of the size. Times are for the processor alone (decoded image in, image
out), ours and the reference alternating; the figures that `render` adds are measured
separately ("via render()").
"""
from __future__ import annotations

import argparse
import io

import numpy as np
from PIL import Image as PILImage
from PIL import ImageFilter

from .common import ROOT, interleaved, write_results, write_section

PHOTOS = ROOT.parent / "shared" / "datasets" / "products"


def source_image(size: int) -> PILImage.Image:
    photos = sorted(PHOTOS.glob("*.png")) if PHOTOS.is_dir() else []
    if photos:
        img = PILImage.open(photos[4]).convert("RGBA")
    else:
        from shop.catalogue.drawing import draw_product

        img = draw_product("hoodie", color=(60, 90, 180), size=1024, transparent=True)
    return img.resize((size, size), PILImage.LANCZOS)


def _png(pil: PILImage.Image) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, "PNG")
    return buf.getvalue()


# --- numpy / Pillow references -------------------------------------------------------------

def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * np.array([0.95047, 1.0, 1.08883])
    m = np.array([[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560], [0.0556434, -0.2040259, 1.0572252]])
    lin = np.clip(xyz @ m.T, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def numpy_reinhard(img: PILImage.Image, ref: PILImage.Image) -> PILImage.Image:
    rgba = np.asarray(img, dtype=np.float64) / 255
    lab = _srgb_to_lab(rgba[..., :3])
    mask = rgba[..., 3] > 0.5
    ref_lab = _srgb_to_lab(np.asarray(ref.convert("RGB"), dtype=np.float64) / 255).reshape(-1, 3)
    src = lab[mask]
    out = (lab - src.mean(0)) / (src.std(0) + 1e-6) * ref_lab.std(0) + ref_lab.mean(0)
    rgb = (_lab_to_srgb(out) * 255).round().astype(np.uint8)
    return PILImage.fromarray(np.dstack([rgb, (rgba[..., 3] * 255).astype(np.uint8)]), "RGBA")


def pillow_lut(img: PILImage.Image, cube_text: str) -> PILImage.Image:
    rows = [list(map(float, line.split())) for line in cube_text.splitlines() if line and line[0] in "0123456789.-"]
    size = round(len(rows) ** (1 / 3))
    lut = ImageFilter.Color3DLUT(size, [v for row in rows for v in row])
    rgb = img.convert("RGB").filter(lut)
    rgb.putalpha(img.getchannel("A"))
    return rgb


def pillow_sketch(img: PILImage.Image, sigma: float) -> PILImage.Image:
    grey = img.convert("L")
    blurred = np.asarray(grey.filter(ImageFilter.GaussianBlur(sigma)), dtype=np.float32) / 255
    g = np.asarray(grey, dtype=np.float32) / 255
    dodge = np.clip(g / np.maximum(blurred, 1e-3), 0, 1) ** 1.5 * (1 - 0.15 * (1 - g))
    return PILImage.fromarray((dodge * 255).astype(np.uint8), "L")


def _box_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Mean over every k x k window (valid positions) by an integral image."""
    c = np.pad(x.cumsum(0).cumsum(1), ((1, 0), (1, 0)) + ((0, 0),) * (x.ndim - 2))
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)


def _kuwahara(rgb: np.ndarray, r: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    x = np.pad(rgb, ((r, r), (r, r), (0, 0)), mode="edge")
    lum = x.mean(2)
    mean = _box_mean(x, r + 1)
    var = _box_mean(lum * lum, r + 1) - _box_mean(lum, r + 1) ** 2
    best_m, best_v = mean[:h, :w], var[:h, :w]
    for dy, dx in ((0, r), (r, 0), (r, r)):
        m, v = mean[dy : dy + h, dx : dx + w], var[dy : dy + h, dx : dx + w]
        better = v < best_v
        best_m, best_v = np.where(better[..., None], m, best_m), np.where(better, v, best_v)
    return best_m


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Pillow's Gaussian blur of a 0..1 image, through 8 bits as a Pillow user would."""
    pil = PILImage.fromarray((np.clip(x, 0, 1) * 255).round().astype(np.uint8), "RGB" if x.ndim == 3 else "L")
    return np.asarray(pil.filter(ImageFilter.GaussianBlur(sigma)), dtype=np.float32) / 255


def numpy_watercolor(img: PILImage.Image, radius: int, wash=0.15, edges=0.35, granulation=0.25, seed=7) -> PILImage.Image:
    rgba = np.asarray(img, dtype=np.float32) / 255
    rgb = rgba[..., :3] * rgba[..., 3:] + (1 - rgba[..., 3:])
    abstract = _kuwahara(_kuwahara(rgb, radius), max(1, radius // 2))
    abstract = 0.7 * abstract + 0.3 * _blur(abstract, max(0.5, radius / 3))
    washed = 1 - (1 - wash) * (1 - abstract)
    lum = washed.mean(2)
    grad = np.zeros_like(lum)
    grad[:-1] += np.abs(np.diff(lum, axis=0))
    grad[:, :-1] += np.abs(np.diff(lum, axis=1))
    rim = _blur(grad / max(grad.max(), 1e-6), 1.0)
    out = washed * (1 - edges * rim / max(rim.max(), 1e-6))[..., None]
    h, w = lum.shape
    rng = np.random.default_rng(seed)
    paper = sum(amp * np.asarray(PILImage.fromarray(rng.random((h // cell + 2, w // cell + 2), dtype=np.float32)).resize((w, h), PILImage.BICUBIC))
                for cell, amp in ((2, 0.5), (6, 0.3), (24, 0.2)))  # fmt: skip
    out = 1 - (1 - out) * (1 + granulation * (np.clip(paper, 0, 1) - 0.5) * 2)[..., None]
    return PILImage.fromarray((np.clip(out, 0, 1) * 255).astype(np.uint8), "RGB")


def enhancer_weights() -> bytes:
    """An export of the default enhancement network (random weights: speed does not depend on them)."""
    from dataclasses import asdict

    import torch

    from imagegen.engine.training.enhance import EnhanceConfig, build_enhancer

    config = EnhanceConfig()
    buf = io.BytesIO()
    torch.save({"kind": "enhance", "config": asdict(config), "generator": build_enhancer(config).state_dict()}, buf)
    return buf.getvalue()


# --- timing ----------------------------------------------------------------------------------

def rates(ours, reference, repeats: int) -> tuple[float, float]:
    """images/s of each, median of ``repeats``, the two alternating so load hits both alike."""
    seconds = interleaved({"ours": ours, "reference": reference}, repeats)
    return 1.0 / seconds["ours"], 1.0 / seconds["reference"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    args = parser.parse_args()

    import torch

    from imagegen.engine import decode, get_processor, render
    from shop.catalogue.drawing import draw_reference_palette, make_cube_lut

    ref_pil = draw_reference_palette("sunset", size=512)
    ref_buf = io.BytesIO()
    ref_pil.save(ref_buf, "PNG")
    cube = make_cube_lut("vintage", size=33)
    weights = enhancer_weights()
    rows = []
    for size in args.sizes:
        pil = source_image(size)
        image = decode(_png(pil))
        sigma = 0.02 * size
        radius = max(1, round(0.006 * size))
        small_pil = pil.resize((size // 4, size // 4), PILImage.LANCZOS)
        small = decode(_png(small_pil))
        cases = {
            "look (reinhard)": (lambda: get_processor("look")(image, get_processor("look").validate({}), ref_buf.getvalue()), lambda: numpy_reinhard(pil, ref_pil), "numpy"),
            "lut (33³ .cube)": (lambda: get_processor("lut")(image, {}, cube.encode()), lambda: pillow_lut(pil, cube), "Pillow Color3DLUT"),
            "sketch": (lambda: get_processor("sketch")(image, get_processor("sketch").validate({"sigma": sigma}), None), lambda: pillow_sketch(pil, sigma), "Pillow + numpy"),
            "watercolor": (lambda: get_processor("watercolor")(image, get_processor("watercolor").validate({}), None), lambda: numpy_watercolor(pil, radius), "numpy + Pillow"),
            f"enhance 4x ({size // 4} px in)": (lambda: get_processor("enhance")(small, get_processor("enhance").validate({}), weights),
                                                  lambda: small_pil.resize((size, size), PILImage.LANCZOS), "Pillow Lanczos 4x"),
        }  # fmt: skip
        with torch.inference_mode():
            for name, (ours, reference, ref_name) in cases.items():
                r_ours, r_ref = rates(ours, reference, args.repeats)
                rows.append({"processor": name, "size": size, "imagegen_images_per_s": r_ours, "reference": ref_name,
                             "reference_images_per_s": r_ref, "ratio": r_ours / r_ref})
            sketch = get_processor("sketch")
            seconds = interleaved({
                "full": lambda: render(image, "sketch", {"sigma": sigma}),
                "plain": lambda: render(image, "sketch", {"sigma": sigma}, with_figures=False),
                "bare": lambda: sketch(image, sketch.validate({"sigma": sigma}), None),
            }, args.repeats)  # fmt: skip
            full, bare = 1 / seconds["full"], 1 / seconds["bare"]
            rows.append({"processor": "sketch via render() (with figures)", "size": size, "imagegen_images_per_s": full,
                         "reference": "sketch processor alone", "reference_images_per_s": bare, "ratio": full / bare})
            # what the figures themselves cost: render with them minus render without them
            cost = max(seconds["full"] - seconds["plain"], 1e-9)
            rows.append({"processor": "the figures render() adds (render − render with_figures=False)", "size": size,
                         "imagegen_images_per_s": 1 / cost, "reference": "sketch processor alone",
                         "reference_images_per_s": bare, "ratio": seconds["bare"] / cost})
    path = write_results("processors", {"repeats": args.repeats, "threads": torch.get_num_threads(), "rows": rows})
    table = "\n".join(
        f"| {r['processor']} | {r['size']} | {r['imagegen_images_per_s']:.2f} | {r['reference']} | {r['reference_images_per_s']:.2f} | {r['ratio']:.2f}× |"
        for r in rows
    )
    write_section(
        "processors",
        f"""## Processors on CPU: imagegen (torch) vs a plain Pillow/numpy implementation

`.venv/bin/python -m benchmarks.bench_processors --repeats {args.repeats}` — median of {args.repeats}, images/s, one RGBA product photo
resized to the size given (enhance: a quarter of it in, the size given out), torch with {torch.get_num_threads()} threads,
ours and the reference alternating. JSON: `{path.relative_to(ROOT)}`. `look` also fits out-of-gamut colours by
chroma reduction where the numpy reference clips (on visible pixels; under alpha 0, where nothing shows, it clips too;
its output did not change when it was made faster: `docs/look-fast-path.png`);
`enhance` runs the default network with random weights (speed only). "via render()" adds what every restyle
adds: the blend options and the quality figures (content SSIM and product ΔE2000 on a 256 px copy composited
on the output background). "The figures render() adds" is their own cost, render() with them minus render() with
`with_figures=False` (medians of the three, interleaved), as figures per second; its ratio is the sketch's time over
the figures' time (above 1×: the figures cost less than the sketch they describe).

| processor | px | imagegen img/s | reference | reference img/s | ratio |
|---|---|---|---|---|---|
{table}
""",
    )
    print(path.read_text())


if __name__ == "__main__":
    main()
