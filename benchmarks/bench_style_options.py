"""Which execution options pay for the style networks, measured side by side on this machine.

    .venv/bin/python -m benchmarks.bench_style_options            # CPU, 512 px, 5 repeats
    .venv/bin/python -m benchmarks.bench_style_options --device cuda --size 1024

For each network: the worker's default (CPU: fp32, channels-last; CUDA: bf16 autocast) against
the alternatives (contiguous layout, fp32 or bf16 autocast, cross-source batches of 4 and 8
different product photos through ``engine.prepare_batch``), each as images/s, a median of
repeats, the options interleaved within every repeat so machine load hits them alike. FLOPs per
image come from torch's FLOP counter; with them, the achieved TFLOP/s (and, on a known GPU,
the fraction of its peak); and how far bf16 moves the output from fp32 (PSNR). Writes
benchmarks/results/style-options[-cuda].json and the "style-options[-cuda]" section of
docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import interleaved, write_results, write_section

COMMAND = ".venv/bin/python -m benchmarks.bench_style_options"
DEFAULT = "as the worker runs it"
ONE_BY_ONE = "one render per call (prepare path, batch 1)"
# Dense peak TFLOP/s (bf16 tensor cores, fp32 without TF32) from the vendors' data sheets.
GPU_PEAK_TFLOPS = {"H100": {"bf16": 989.0, "fp32": 67.0}, "H200": {"bf16": 989.0, "fp32": 67.0}, "A100": {"bf16": 312.0, "fp32": 19.5}}


def _photos(size: int, count: int) -> list:
    """Real product photos when ../shared is present, else drawn products; all ``size`` px."""
    from imagegen.engine import decode, resize_to_fit
    from imagegen.engine.io import from_pil
    from shop.catalogue.drawing import KINDS, draw_product
    from tests.conftest import PRODUCTS

    paths = sorted(PRODUCTS.glob("*.png"))[:count] if PRODUCTS.is_dir() else []
    images = [resize_to_fit(decode(p.read_bytes()), size) for p in paths]
    for i in range(count - len(images)):
        images.append(from_pil(draw_product(KINDS[i % len(KINDS)], color=(40 + 25 * i, 120, 200 - 20 * i), size=size, seed=i)))
    # the networks stack only equal sizes: square crops of the same side
    return [_square(image, size) for image in images]


def _square(image, size: int):
    from imagegen.engine.io import Image

    h, w = image.rgb.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image(rgb=image.rgb[:, top : top + side, left : left + side].contiguous(),
                 alpha=None if image.alpha is None else image.alpha[:, top : top + side, left : left + side].contiguous())  # fmt: skip
    if side != size:
        from imagegen.engine import resize_to_fit

        crop = resize_to_fit(crop, size)
    return crop


def _params(network: str, i: int) -> dict:
    if network == "multi":
        return {"style": (3 + 5 * i) % 26}
    g = torch.Generator().manual_seed(i)
    return {"style_vector": (torch.randn(100, generator=g) * 0.3).tolist()}


def _interleaved(fns: dict[str, Callable[[], int]], repeats: int) -> dict[str, float]:
    """images/s of each (a call returns how many images it made), measured side by side;
    an option that fails its warm-up call (e.g. an op without a bf16 kernel here) is left out."""
    usable, images = {}, {}
    for name, fn in fns.items():
        try:
            images[name] = fn()  # the warm-up: models loaded, allocator and oneDNN primitives ready
        except (RuntimeError, NotImplementedError) as exc:
            print(f"{name}: not measured ({type(exc).__name__}: {str(exc)[:120]})", flush=True)
            continue
        usable[name] = fn
    seconds = interleaved(usable, repeats, warm_up=False)
    return {name: images[name] / seconds[name] for name in usable}


def measure(device: torch.device, size: int, repeats: int, photos: int, compile_: bool = False) -> dict:
    from imagegen.engine import BatchItem, model_cache, prepare_batch
    from imagegen.engine.networks import load_network
    from imagegen.engine.processors.style import _network, _over_white

    os.environ["IMAGEGEN_DEVICE"] = str(device)
    images = _photos(size, photos)
    rows, flops, compile_seconds, fidelity = [], {}, {}, {}
    for network in ("multi", "transformer"):
        net = _network(network, device)
        items = [BatchItem(image, "style", _params(network, i)) for i, image in enumerate(images)]
        x1 = _over_white(images[0]).to(device)
        style1 = _style_tensor(network, 0, device)
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            net(x1, style1)
        flops[network] = counter.get_total_flops()

        plain = load_network(network).to(device).eval().requires_grad_(False)  # NCHW weights, as loaded
        fidelity[network] = _bf16_fidelity(net, images[:4], network, device)

        def forward(module=net, layout=None, precision="default"):
            x = x1.contiguous(memory_format=layout) if layout is not None else x1

            def run() -> int:
                with torch.inference_mode():
                    if precision == "bf16":
                        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                            module(x, style1)
                    elif precision == "fp32":
                        module(x, style1)
                    else:
                        with model_cache.autocast(device):
                            module(x, style1)
                _sync(device)
                return 1

            return run

        def batched(n: int):
            def run() -> int:
                done = 0
                for start in range(0, len(items), n):
                    done += prepare_batch(items[start : start + n], max_batch=n) if n > 1 else _one_by_one(items[start : start + 1])
                _sync(device)
                return done

            return run

        cpu = device.type == "cpu"
        options = {  # the worker's way first: CPU fp32 channels-last, CUDA bf16 autocast
            DEFAULT: forward(net, torch.channels_last if cpu else None),
            "contiguous (NCHW) weights and input" if cpu else "channels-last weights and input":
                forward(plain, torch.contiguous_format) if cpu else forward(plain.to(memory_format=torch.channels_last), torch.channels_last),
            "bf16 autocast" if cpu else "fp32 (no autocast)": forward(net, torch.channels_last if cpu else None, "bf16" if cpu else "fp32"),
            ONE_BY_ONE: batched(1),
            "cross-source batch of 4": batched(4),
            f"cross-source batch of {photos}": batched(photos),
        }  # fmt: skip
        if compile_:
            # compile cost, paid once per worker process and input size (recompiles per new size)
            compiled = torch.compile(net, dynamic=False)
            run_compiled = forward(compiled, torch.channels_last if cpu else None)
            t0 = time.perf_counter()
            try:
                run_compiled()
            except Exception as exc:  # noqa: BLE001 - e.g. no C++ compiler for inductor here
                print(f"torch.compile: not measured ({type(exc).__name__}: {str(exc)[:160]})", flush=True)
            else:
                compile_seconds[network] = round(time.perf_counter() - t0, 1)
                options["torch.compile (after its compile)"] = run_compiled
        result = _interleaved(options, repeats)
        base, batch_base = result[DEFAULT], result[ONE_BY_ONE]
        for option, ips in result.items():
            reference = batch_base if "batch" in option else base
            row = {"network": network, "size": size, "option": option, "images_per_s": round(ips, 3),
                   "vs_baseline": round(ips / reference, 3), "tflops_achieved": round(ips * flops[network] / 1e12, 4)}  # fmt: skip
            print(row, flush=True)
            rows.append(row)
    return {"device": _device_name(device), "native_bf16": _native_bf16(device), "size": size, "repeats": repeats,
            "photos": photos, "flops_per_image": flops, "compile_seconds": compile_seconds,
            "bf16_vs_fp32": fidelity, "rows": rows}  # fmt: skip


def _bf16_fidelity(net, images, network: str, device: torch.device) -> dict:
    """How far bf16 autocast moves the network's output from fp32: median over the photos of
    the PSNR (dB) and of the mean absolute difference in levels of 255."""
    import math

    from imagegen.engine.processors.style import _over_white

    psnr, levels = [], []
    layout = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    for i, image in enumerate(images):
        x, style = _over_white(image).to(device).contiguous(memory_format=layout), _style_tensor(network, i, device)
        with torch.inference_mode():
            fp32 = net(x, style).float()
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
                bf16 = net(x, style).float()
        mse = float(((fp32 - bf16) ** 2).mean())
        psnr.append(10 * math.log10(1 / mse) if mse > 0 else float("inf"))
        levels.append(float((fp32 - bf16).abs().mean()) * 255)
    return {"psnr_db": round(statistics.median(psnr), 1), "mean_abs_levels": round(statistics.median(levels), 2),
            "photos": len(images)}  # fmt: skip


def _one_by_one(items) -> int:
    from imagegen.engine.execute import on_device
    from imagegen.engine.processors import get_processor

    proc = get_processor("style")
    for item in items:
        params = {**proc.validate(item.params), "strength": 1.0}  # as prepare_batch passes them
        with torch.inference_mode():
            proc.run_batch([on_device(item.image)], [params], [None])
    return len(items)


def _style_tensor(network: str, i: int, device: torch.device) -> torch.Tensor:
    if network == "multi":
        return torch.eye(26, device=device)[[(3 + 5 * i) % 26]]
    return torch.tensor([_params(network, i)["style_vector"]], device=device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU, {torch.get_num_threads()} torch threads"


def _cpu_flags() -> tuple[str, set[str]]:
    """The CPU's model name and feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return "", set()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return fields.get("model name", ""), set(fields.get("flags", "").split())


def _native_bf16(device: torch.device) -> str:
    """Whether the device computes bf16 natively: it decides whether bf16 autocast can pay."""
    if device.type == "cuda":
        return "yes" if torch.cuda.is_bf16_supported() else "no"
    model, flags = _cpu_flags()
    native = sorted(flags & {"avx512_bf16", "amx_bf16"})
    return f"{'yes (' + ', '.join(native) + ')' if native else 'no'}{', ' + model if model else ''}"


def markdown(result: dict, argv: str) -> str:
    peak = next((v for k, v in GPU_PEAK_TFLOPS.items() if k in result["device"]), None)
    lines = [
        f"## Style networks: execution options ({result['device']})",
        "",
        f"`{COMMAND}{argv}` — {result['size']} px product photos (square crops), median of {result['repeats']} "
        f"interleaved rounds. JSON: `benchmarks/results/{result['name']}.json`. Forward-pass rows compare with the worker's "
        "default; batch rows run the whole `prepare_batch` path (resizing, style vectors, network) over "
        f"{result['photos']} different photos and compare with one render per call.",
        "",
        "FLOPs per image (torch FLOP counter, one forward pass): "
        + ", ".join(f"{n} {f / 1e9:.1f} GFLOP" for n, f in result["flops_per_image"].items())
        + ".",
        "",
        "| network | option | images/s | vs baseline | TFLOP/s achieved" + (" | of peak |" if peak else " |"),
        "|---|---|---|---|---" + ("|---|" if peak else "|"),
    ]
    for r in result["rows"]:
        line = f"| {r['network']} | {r['option']} | {r['images_per_s']:.2f} | {r['vs_baseline']:.2f}× | {r['tflops_achieved']:.3f} |"
        if peak:
            precision = "fp32" if "fp32" in r["option"] else "bf16"
            line += f" {100 * r['tflops_achieved'] / peak[precision]:.1f}% |"
        lines.append(line)
    by = {(r["network"], r["option"]): r["vs_baseline"] for r in result["rows"]}

    def span(option: str) -> str:
        values = [by[(n, option)] for n in ("multi", "transformer") if (n, option) in by]
        return " / ".join(f"{v:.2f}×" for v in values) + " (multi / transformer)" if values else "not measured"

    def verdict(option: str) -> str:
        values = [by[(n, option)] for n in ("multi", "transformer") if (n, option) in by]
        if not values:
            return "not measured"
        # Identical work measured up to ±10 % apart on this shared machine: closer than that is a tie.
        return "faster" if min(values) > 1.1 else "slower" if max(values) < 0.9 else "within run-to-run noise"

    fidelity = result.get("bf16_vs_fp32", {})
    if fidelity:
        lines += ["", "bf16 autocast against fp32, same photos and weights (median over "
                  f"{next(iter(fidelity.values()))['photos']} photos): "
                  + "; ".join(f"{n} {f['psnr_db']} dB PSNR, {f['mean_abs_levels']} levels of 255 mean difference"
                              for n, f in fidelity.items())
                  + ". The differences sit in the brush texture the networks invent, not in shapes or colours."]  # fmt: skip
    if "CPU" in result["device"]:
        biggest = f"cross-source batch of {result['photos']}"
        bf16 = span("bf16 autocast")
        lines += ["", f"Native bf16 on this CPU: {result.get('native_bf16', 'unknown')}. What the CPU worker keeps: "
                  f"fp32 by default; bf16 autocast ran at {bf16} of it here ({verdict('bf16 autocast')}). bf16 pays only on "
                  "CPUs that compute it natively (AVX512-BF16, AMX) and costs a factor of 3–6 on the others (0.16× / 0.29× "
                  "on the CPU of this project's earlier runs), so it is "
                  "opt-in: `IMAGEGEN_PRECISION=bf16`. No cross-source batching by default (`BATCH_SIZE` None: a batch of "
                  f"{result['photos']} different photos ran at {span(biggest)} of one by one). Channels-last: plain NCHW "
                  f"ran at {span('contiguous (NCHW) weights and input')} of it ({verdict('contiguous (NCHW) weights and input')}). "
                  "A GPU worker batches 8 and runs bf16 by default; its figures come from `--device cuda`."]  # fmt: skip
    for network, seconds in result.get("compile_seconds", {}).items():
        rows = {r["option"]: r["images_per_s"] for r in result["rows"] if r["network"] == network}
        eager, compiled = rows.get(DEFAULT), rows.get("torch.compile (after its compile)")
        if not (eager and compiled):
            continue
        if compiled > eager * 1.1:  # the noise band of verdict()
            images = seconds / (1 / eager - 1 / compiled)
            outcome = (f"pays for its {seconds} s compile after about {images:,.0f} images of this size "
                       "(compiled again for each new size)")
        else:
            outcome = f"is not clearly faster (within this machine's noise) after its {seconds} s compile"
        lines += ["", f"torch.compile, {network}: {compiled:.2f} vs {eager:.2f} images/s eager; it {outcome}."]
    if result.get("compile_seconds"):
        lines += ["", "torch.compile is opt-in: `IMAGEGEN_COMPILE=1` compiles the multi-style network, a comma-separated "
                  "list such as `multi,transformer` the networks named; what it buys depends on the CPU or GPU, so "
                  "measure with `--compile` on the worker's own hardware."]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--compile", action="store_true", help="also try torch.compile (minutes of compiling)")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite the docs section from the last JSON")
    args = parser.parse_args()
    name = "style-options" + ("" if args.device == "cpu" else f"-{torch.device(args.device).type}")
    if args.markdown_only:
        import json

        from benchmarks.common import RESULTS

        result = json.loads((RESULTS / f"{name}.json").read_text())
        write_section(name, markdown(result, result["argv"]))
        return
    if args.compile:
        # A cold compile, as a worker's first job of a size pays it (inductor's on-disk caches
        # would otherwise make every run after the first look almost free).
        import torch._inductor.config as inductor_config

        inductor_config.force_disable_caches = True
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    result = measure(device, args.size, args.repeats, args.photos, args.compile)
    result["name"] = name
    argv = f" --device {args.device} --size {args.size} --repeats {args.repeats} --threads {args.threads}"
    argv += " --compile" if args.compile else ""
    result["argv"] = argv
    write_results(name, result)
    write_section(name, markdown(result, argv))


if __name__ == "__main__":
    main()
