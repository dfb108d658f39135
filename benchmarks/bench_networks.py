"""Every network a CPU worker runs, in the worker's default configuration, against onnxruntime
on the same weights, side by side in one run; and a fresh worker's first job.

    .venv/bin/python -m benchmarks.bench_networks [--repeats 7 --threads 2]

- "default": what a worker calls (engine.networks.get_network / the segmenter / the enhance
  processor's loader, from the model cache), in its default configuration (IMAGEGEN_CPU_BACKEND
  auto: onnxruntime on the CPU);
- "onnxruntime": a bare InferenceSession on the same ONNX file (the package's own file; for
  weights trained here, their exported file), the same number of threads;
- "torch port": the torch module, eager, channels-last, as IMAGEGEN_CPU_BACKEND=torch runs it.
Calls alternate (benchmarks.common.interleaved), medians of ``--repeats``.

Cold start: fresh Python processes, alternating: (a) a worker's first 512 px style image,
``engine.render(image, "style", {"style": 7})`` after importing the engine (what a worker has
done before its first job), including every network load and the figures render adds;
(b) onnxruntime's own cold start: InferenceSession on multistyle26.onnx + its first run;
(c) the same first render with the torch ports. Medians of ``--cold`` processes each.

Writes benchmarks/results/networks.json and the "networks" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import torch

from benchmarks.common import ROOT, interleaved, machine, write_results, write_section

COMMAND = ".venv/bin/python -m benchmarks.bench_networks"


def _session(model, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), opts, providers=["CPUExecutionProvider"])


def _row(rows: list, network: str, size: str, seconds: dict[str, float]) -> None:
    row = {"network": network, "size": size, **{f"{k}_images_per_s": round(1 / v, 3) for k, v in seconds.items()}}
    row["default_vs_onnxruntime"] = round(seconds["onnxruntime"] / seconds["default"], 3)
    if "torch" in seconds:
        row["torch_vs_onnxruntime"] = round(seconds["onnxruntime"] / seconds["torch"], 3)
    rows.append(row)
    print(row, flush=True)


def _enhancer_weights() -> bytes:
    from imagegen.engine.training.enhance import EnhanceConfig, build_enhancer

    config = EnhanceConfig()
    torch.manual_seed(0)
    net = build_enhancer(config)
    buf = io.BytesIO()
    torch.save({"kind": "enhance", "config": dataclasses.asdict(config), "generator": net.state_dict()}, buf)
    return buf.getvalue()


def warm(repeats: int, threads: int) -> list[dict]:
    from imagegen.engine import model_cache
    from imagegen.engine.networks import for_device, get_network, load_network
    from imagegen.engine.networks.onnx_style import _dynamic_size
    from imagegen.engine.networks.onnx_weights import model_path, u2netp_path
    from imagegen.engine.networks.u2netp import U2NetP
    from imagegen.engine.processors import enhance as enhance_mod
    from imagegen.engine.segment import _build as build_segmenter
    from imagegen.engine.segment import export_weights, load_segmenter, probability
    from imagegen.engine.segment import exported_model as segment_onnx

    torch.set_num_threads(threads)
    cpu = torch.device("cpu")
    rng = np.random.default_rng(0)
    rows: list[dict] = []
    weights = np.eye(26, dtype=np.float32)[7]
    vector = (rng.normal(0, 0.3, (1, 100))).astype(np.float32)
    ports = {name: for_device(load_network(name), cpu) for name in ("multi", "transformer", "predictor")}
    s_multi = _session(model_path("multistyle26"), threads)
    s_trans = _session(_dynamic_size(model_path("arbitrary_transform")), threads)
    s_pred = _session(model_path("arbitrary_predict"), threads)
    with torch.inference_mode():
        for size in (512, 1024):
            x = rng.random((1, 3, size, size), dtype=np.float32)
            xt, xl = torch.from_numpy(x), torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
            nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
            net = get_network("multi", cpu)
            _row(rows, "multi-style (26 styles)", str(size), interleaved({
                "default": lambda: net(xt, torch.from_numpy(weights)[None]),
                "onnxruntime": lambda: s_multi.run(None, {"image": x, "style_weights": weights}),
                "torch": lambda: ports["multi"](xl, torch.from_numpy(weights)[None]),
            }, repeats))  # fmt: skip
            net_t = get_network("transformer", cpu)
            _row(rows, "arbitrary transformer (int8)", str(size), interleaved({
                "default": lambda: net_t(xt, torch.from_numpy(vector)),
                "onnxruntime": lambda: s_trans.run(None, {s_trans.get_inputs()[0].name: nhwc, s_trans.get_inputs()[1].name: vector.reshape(1, 1, 1, 100)}),
                "torch": lambda: ports["transformer"](xl, torch.from_numpy(vector)),
            }, repeats))  # fmt: skip
        s256 = rng.random((1, 3, 256, 256), dtype=np.float32)
        p256 = np.ascontiguousarray(s256.transpose(0, 2, 3, 1))
        net_p = get_network("predictor", cpu)
        _row(rows, "style predictor (int8)", "256 (its input)", interleaved({
            "default": lambda: net_p(torch.from_numpy(s256)),
            "onnxruntime": lambda: s_pred.run(None, {"style_image": p256}),
            "torch": lambda: ports["predictor"](torch.from_numpy(s256).contiguous(memory_format=torch.channels_last)),
        }, repeats))  # fmt: skip

        # segmenter: built-in and fine-tuned weights (the same architecture, exported)
        torch.manual_seed(1)
        tuned = export_weights(build_segmenter(None))  # built-in weights saved as a fine-tuned file
        s_u2 = _session(u2netp_path(), threads)
        s_tuned = _session(segment_onnx(tuned), threads)
        for size in (512, 1024):
            photo = torch.rand(1, 3, size, size)

            def prepared() -> np.ndarray:  # what any caller of the session does first: 320 px, normalised
                x320 = torch.nn.functional.interpolate(photo, size=(320, 320), mode="bilinear", antialias=True, align_corners=False)
                return U2NetP.normalise(x320).numpy()
            for label, weights_bytes, session in (("built-in", None, s_u2), ("fine-tuned", tuned, s_tuned)):
                net_s = load_segmenter(weights_bytes, cpu)
                port = build_segmenter(weights_bytes)
                _row(rows, f"segmenter U²-Net-p, {label} weights", f"{size} photo → 320", interleaved({
                    "default": lambda: probability(net_s, photo),
                    "onnxruntime": lambda: session.run(None, {session.get_inputs()[0].name: prepared()}),
                    "torch": lambda: probability(port, photo),
                }, repeats))  # fmt: skip

        # the enhancer (random weights of the default architecture: speed only)
        ref = _enhancer_weights()
        s_enh = _session(enhance_mod.exported_model(ref), threads)
        port = enhance_mod._build(ref)
        model_cache.clear()
        for out_size in (512, 1024):
            low = torch.rand(3, out_size // 4, out_size // 4)
            low_np = low[None].numpy()
            net_e = enhance_mod._load(ref, cpu)
            _row(rows, "enhancer (default architecture)", f"{out_size // 4} → {out_size}", interleaved({
                "default": lambda: enhance_mod.upscale_tiled(net_e, low),
                "onnxruntime": lambda: s_enh.run(None, {"low": low_np}),
                "torch": lambda: enhance_mod.upscale_tiled(port, low),
            }, repeats))  # fmt: skip
    return rows


COLD_OURS = """
import time, io, sys
import imagegen.engine as engine
from PIL import Image
pil = Image.open(sys.argv[1]).convert("RGBA"); pil.thumbnail((512, 512))
buf = io.BytesIO(); pil.save(buf, "PNG"); image = engine.decode(buf.getvalue())
t0 = time.perf_counter()
out = engine.render(image, "style", {"style": 7})
print(time.perf_counter() - t0)
"""

COLD_ORT = """
import time, sys
import numpy as np
import onnxruntime as ort
from PIL import Image
pil = Image.open(sys.argv[1]).convert("RGB"); pil.thumbnail((512, 512))
x = (np.asarray(pil, dtype=np.float32) / 255).transpose(2, 0, 1)[None].copy()
w = np.eye(26, dtype=np.float32)[7]
t0 = time.perf_counter()
opts = ort.SessionOptions(); opts.intra_op_num_threads = int(sys.argv[3]); opts.inter_op_num_threads = 1
s = ort.InferenceSession(sys.argv[2], opts, providers=["CPUExecutionProvider"])
s.run(None, {"image": x, "style_weights": w})
print(time.perf_counter() - t0)
"""


def cold(processes: int, threads: int) -> dict:
    from imagegen.engine.networks.onnx_weights import model_path
    from tests.conftest import PRODUCTS

    photo = PRODUCTS / "saleor-blue-hoodie.png"
    if not photo.exists():
        from shop.catalogue.drawing import draw_product

        photo = ROOT / "var" / "bench-cold.png"
        photo.parent.mkdir(parents=True, exist_ok=True)
        draw_product("hoodie", color=(40, 90, 200), size=512, seed=1).save(photo)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "IMAGEGEN_ONNX_CACHE": tempfile.mkdtemp()}
    cmds = {
        "default": ([sys.executable, "-c", COLD_OURS, str(photo)], {**env, "IMAGEGEN_CPU_BACKEND": "auto"}),
        "onnxruntime": ([sys.executable, "-c", COLD_ORT, str(photo), str(model_path("multistyle26")), str(threads)], env),
        "torch": ([sys.executable, "-c", COLD_OURS, str(photo)], {**env, "IMAGEGEN_CPU_BACKEND": "torch"}),
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for i in range(processes):
        names = list(cmds)[i % 3:] + list(cmds)[: i % 3]
        for name in names:
            args, e = cmds[name]
            out = subprocess.run(args, env=e, capture_output=True, text=True, cwd=ROOT, check=True)
            times[name].append(float(out.stdout.strip().splitlines()[-1]))
    result = {k: round(statistics.median(v), 3) for k, v in times.items()}
    result["default_minus_onnxruntime_s"] = round(result["default"] - result["onnxruntime"], 3)
    print("cold", result, flush=True)
    return {"processes": processes, "seconds": result, "all": times}


def markdown(result: dict) -> str:
    lines = [
        "## Networks on CPU: the worker's default vs onnxruntime on the same weights",
        "",
        f"`{COMMAND} --repeats {result['repeats']} --threads {result['threads']}` — images/s, medians of {result['repeats']} "
        f"interleaved calls, {result['threads']} threads each. *default*: what a worker calls (IMAGEGEN_CPU_BACKEND=auto: "
        "onnxruntime on CPUs, the enhancer in torch where it measured faster); *onnxruntime*: a bare session on the same ONNX file (the package's, or the file exported "
        "from weights trained here); *torch port*: eager, channels-last (IMAGEGEN_CPU_BACKEND=torch). Random inputs; "
        "the enhancer and fine-tuned segmenter have random / copied weights (speed only). JSON: `benchmarks/results/networks.json`.",
        "",
        "| network | size (px) | default img/s | onnxruntime img/s | torch port img/s | default / onnxruntime | torch port / onnxruntime |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['network']} | {r['size']} | {r['default_images_per_s']:.2f} | {r['onnxruntime_images_per_s']:.2f} | "
            f"{r.get('torch_images_per_s', 0):.2f} | {r['default_vs_onnxruntime']:.2f}× | {r.get('torch_vs_onnxruntime', 0):.2f}× |"
        )
    c = result["cold"]["seconds"]
    lines += [
        "",
        f"**Cold start** (fresh processes, median of {result['cold']['processes']} each, alternating): a worker's first 512 px "
        f"style image through `engine.render` (network loads and the figures included) {c['default']:.2f} s; onnxruntime's own "
        f"session load + first run {c['onnxruntime']:.2f} s (difference {c['default_minus_onnxruntime_s']:+.2f} s; goal: within 3 s); "
        f"the same first render on the torch ports {c['torch']:.2f} s.",
    ]
    ratios = [r["default_vs_onnxruntime"] for r in result["rows"]]
    lines += ["", f"Default / onnxruntime over all rows: {min(ratios):.2f}× to {max(ratios):.2f}× (median {statistics.median(ratios):.2f}×). "
              f"Machine: {result['machine']['cpus']} CPUs, torch {result['machine']['torch']}."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cold", type=int, default=3, help="fresh processes per cold-start measurement")
    args = parser.parse_args()
    os.environ.setdefault("IMAGEGEN_ONNX_CACHE", tempfile.mkdtemp(prefix="bench-onnx-"))
    rows = warm(args.repeats, args.threads)
    result = {"repeats": args.repeats, "threads": args.threads, "rows": rows, "cold": cold(args.cold, args.threads), "machine": machine()}
    path = write_results("networks", result)
    write_section("networks", markdown(result))
    print(json.dumps(result["cold"]["seconds"]), path)


if __name__ == "__main__":
    main()
