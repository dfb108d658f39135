"""Product masks: U²-Net-p on CPU, imagegen's torch port against onnxruntime on the same
ONNX file (rembg/u2netp.onnx), and what a second variant of the same photo pays.

    .venv/bin/python -m benchmarks.bench_masks [--repeats 7] [--threads 2]

Rows, each side by side in one run (interleaved medians):
- network: one 320x320 input, as a CPU worker runs it by default (the built-in weights in
  onnxruntime behind imagegen's module interface), and the torch port (channels-last, fp32:
  what runs on GPUs and for fine-tuned weights), each against a plain onnxruntime session
  (all graph optimisations) with the same thread count;
- whole mask at 1024 and 2160 px: imagegen's segment() (resize, network, colour guided filter
  to full resolution) vs onnxruntime with the plain upsampling rembg does (no refinement);
- a second variant of the same photo: the worker reads the stored 8-bit PNG of the mask
  (decode + to tensor) instead of segmenting again.
"""
from __future__ import annotations

import argparse
import io
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image as PILImage

from .common import ROOT, interleaved, write_results, write_section

PHOTOS = ROOT.parent / "shared" / "datasets" / "products"


def photo(size: int) -> torch.Tensor:
    """(3, size, size) an opaque product photo: a shared product on white (or a drawn one)."""
    photos = sorted(PHOTOS.glob("*.png")) if PHOTOS.is_dir() else []
    if photos:
        pil = PILImage.open(photos[4]).convert("RGBA")
    else:
        from shop.catalogue.drawing import draw_product

        pil = draw_product("hoodie", color=(60, 90, 180), size=1024, transparent=True)
    canvas = PILImage.new("RGBA", pil.size, (255, 255, 255, 255))
    rgb = PILImage.alpha_composite(canvas, pil).convert("RGB").resize((size, size), PILImage.LANCZOS)
    return torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255).permute(2, 0, 1).contiguous()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import onnxruntime as ort

    from imagegen.engine.io import Image
    from imagegen.engine.networks.onnx_weights import u2netp_path
    from imagegen.engine.networks.u2netp import INPUT_SIZE, U2NetP
    from imagegen.engine.segment import ENV_BACKEND, load_segmenter, probability, segment

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(u2netp_path()), opts, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    default = load_segmenter(None)  # what a CPU worker runs (IMAGEGEN_SEGMENT_BACKEND=auto)
    os.environ[ENV_BACKEND] = "torch"
    port = load_segmenter(None)
    os.environ.pop(ENV_BACKEND)

    rows = []
    rgb = photo(1024)[None]
    x_np = U2NetP.normalise(F.interpolate(rgb, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True)).numpy()

    def network(net):
        def run():
            with torch.inference_mode():
                probability(net, rgb)  # the same resize + normalise on every side

        return run

    def ort_network():
        F.interpolate(rgb, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True)
        session.run(None, {input_name: x_np})

    times = interleaved({"imagegen": network(default), "torch port": network(port), "onnxruntime": ort_network}, args.repeats)
    rows.append({"what": f"network, 320x320 ({type(default).__name__}, the CPU default)", "imagegen": times["imagegen"], "onnxruntime": times["onnxruntime"]})
    rows.append({"what": "network, 320x320 (torch port: GPUs, fine-tuned weights)", "imagegen": times["torch port"], "onnxruntime": times["onnxruntime"]})

    for size in (1024, 2160):
        image = Image(rgb=photo(size))

        def ort_mask(image=image, size=size):
            small = F.interpolate(image.rgb[None], size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True)
            prob = session.run(None, {input_name: U2NetP.normalise(small).numpy()})[0]
            pil = PILImage.fromarray((prob[0, 0] * 255).astype(np.uint8)).resize((size, size), PILImage.BILINEAR)
            return np.asarray(pil)

        times = interleaved({"imagegen": lambda image=image: segment(image), "onnxruntime": ort_mask}, args.repeats)
        rows.append({"what": f"whole mask, {size} px (ours refined to full resolution)", **times})

    mask = segment(Image(rgb=photo(2160)))
    buffer = io.BytesIO()
    PILImage.fromarray(np.round(mask[0].numpy() * 255).astype(np.uint8), mode="L").save(buffer, "PNG", compress_level=6)
    stored = buffer.getvalue()

    def read_stored():
        with PILImage.open(io.BytesIO(stored)) as pil:
            return torch.from_numpy(np.asarray(pil.convert("L"), dtype=np.float32) / 255.0)[None]

    image = Image(rgb=photo(2160))
    times = interleaved({"segment again": lambda: segment(image), "read stored mask": read_stored}, args.repeats)
    cached = {"what": "second variant of a 2160 px photo", **times, "stored_png_bytes": len(stored)}

    write_results("masks", {"threads": args.threads, "repeats": args.repeats, "rows": rows, "cached": cached})
    lines = [
        "## Product masks (U²-Net-p): torch port vs onnxruntime on CPU",
        "",
        f"`python -m benchmarks.bench_masks --repeats {args.repeats} --threads {args.threads}`: medians of interleaved rounds,"
        " seconds per image; ratio = onnxruntime's time / ours (above 1: ours faster).",
        "",
        "| what | imagegen (s) | onnxruntime (s) | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(f"| {row['what']} | {row['imagegen']:.3f} | {row['onnxruntime']:.3f} | {row['onnxruntime'] / row['imagegen']:.2f}x |")
    lines += [
        "",
        f"A second variant of the same photo reads the stored mask instead ({cached['stored_png_bytes'] // 1024} KiB PNG at 2160 px):"
        f" {cached['read stored mask'] * 1000:.0f} ms against {cached['segment again'] * 1000:.0f} ms to segment again"
        f" ({cached['segment again'] / cached['read stored mask']:.0f}x).",
    ]
    write_section("masks", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
