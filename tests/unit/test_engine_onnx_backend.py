"""onnxruntime as the CPU backend (engine/onnx_backend.py): which backend runs what, and the
same fidelity bar for both backends, through the processors as a worker calls them.

Tolerances are the port-equivalence ones (tests/unit/test_engine_style_port.py, docs/models.md):
multi-style PSNR >= 35 dB; transformer (int8) PSNR >= 30 dB per photo, median >= 32 dB;
predictor cosine >= 0.98. Exported networks (enhancer, fine-tuned segmenter) match their
torch module within float rounding.
"""
from __future__ import annotations

import io
import statistics

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

pytest.importorskip("onnxruntime", reason="onnxruntime is a test dependency (requirements.txt)")

from imagegen.engine import Image, decode, model_cache  # noqa: E402
from imagegen.engine.errors import EngineError  # noqa: E402
from imagegen.engine.networks import get_network, network_backend  # noqa: E402
from imagegen.engine.networks.onnx_style import OrtMultiStyle, OrtStyleTransformer  # noqa: E402
from imagegen.engine.onnx_backend import ENV_BACKEND, ENV_CACHE, OrtNetwork, backend_for, export_onnx  # noqa: E402
from imagegen.engine.processors import get_processor  # noqa: E402
from shop.catalogue.drawing import draw_product  # noqa: E402

PHOTOS = ["saleor-blue-hoodie.png", "saleor-dash-force-1.png", "saleor-beanie-1.png"]
CPU = torch.device("cpu")


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.double() - b.double()) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _image(pil: PILImage.Image, side: int) -> Image:
    pil = pil.convert("RGBA")
    pil.thumbnail((side, side), PILImage.LANCZOS)
    buf = io.BytesIO()
    pil.save(buf, "PNG")
    return decode(buf.getvalue())


@pytest.fixture(scope="module")
def photos() -> list[Image]:
    from tests.conftest import PRODUCTS

    found = [PRODUCTS / name for name in PHOTOS if (PRODUCTS / name).exists()]
    if not found:
        pytest.skip(f"real product photos not found at {PRODUCTS} (only present in development and CI)")
    return [_image(PILImage.open(path), 512) for path in found]


@pytest.fixture()
def fresh_cache():
    model_cache.clear()
    yield
    model_cache.clear()


def _both(monkeypatch, run):
    out = {}
    for backend in ("onnxruntime", "torch"):
        monkeypatch.setenv(ENV_BACKEND, backend)
        model_cache.clear()
        with torch.inference_mode():
            out[backend] = run()
    return out


# --- which backend ----------------------------------------------------------------------------

def test_cpu_networks_default_to_onnxruntime_and_torch_keeps_gpu_bf16_compile_and_tiles(monkeypatch):
    for name in ("IMAGEGEN_CPU_BACKEND", "IMAGEGEN_PRECISION", "IMAGEGEN_COMPILE"):
        monkeypatch.delenv(name, raising=False)
    assert backend_for("enhance", CPU) == "torch"  # measured faster than its export on CPUs
    assert backend_for("enhance", CPU, choice="onnxruntime") == "onnxruntime"
    for name in ("multi", "transformer", "predictor"):
        assert network_backend(name, CPU) == "onnxruntime"
        assert network_backend(name, torch.device("cuda")) == "torch"  # the GPU path is unchanged
        assert network_backend(name, CPU, tiled=True) == "torch"  # tiles share statistics: the port
    monkeypatch.setenv("IMAGEGEN_PRECISION", "bf16")
    assert network_backend("multi", CPU) == "torch"  # bf16 autocast is torch's
    monkeypatch.setenv("IMAGEGEN_PRECISION", "fp32")
    monkeypatch.setenv("IMAGEGEN_COMPILE", "1")
    assert network_backend("multi", CPU) == "torch" and network_backend("transformer", CPU) == "onnxruntime"
    monkeypatch.delenv("IMAGEGEN_COMPILE")
    monkeypatch.setenv(ENV_BACKEND, "torch")
    assert network_backend("multi", CPU) == "torch"
    monkeypatch.setenv(ENV_BACKEND, "ort")
    with pytest.raises(EngineError, match="IMAGEGEN_CPU_BACKEND='ort': use one of auto, torch, onnxruntime"):
        backend_for("multi", CPU)


def test_the_model_cache_holds_sessions_and_counts_their_weights(monkeypatch, fresh_cache):
    monkeypatch.delenv(ENV_BACKEND, raising=False)
    net = get_network("multi", CPU)
    assert isinstance(net, OrtMultiStyle) and get_network("multi", CPU) is net  # loaded once
    assert model_cache.cached_bytes() >= 500_000  # the file's 0.7 MB of weights, counted
    assert not isinstance(get_network("multi", CPU, tiled=True), OrtNetwork)


# --- same fidelity through either backend ------------------------------------------------------

def test_built_in_styles_match_across_backends(photos, monkeypatch):
    style = get_processor("style")
    for image in photos[:2]:
        out = _both(monkeypatch, lambda: [style(image, style.validate({"style": s}), None).rgb for s in (0, 19)])
        for ort_rgb, torch_rgb in zip(out["onnxruntime"], out["torch"]):
            assert ort_rgb.shape == torch_rgb.shape == image.rgb.shape
            assert _psnr(ort_rgb, torch_rgb) >= 35.0


def test_reference_styles_match_across_backends(photos, monkeypatch):
    """The same style vector through the transformer at the photo's own size (not the file's
    fixed 384 px): int8 networks, so the port-equivalence bar."""
    from imagegen.engine.processors.style import style_vector_from_image

    style = get_processor("style")
    scores = []
    for k, image in enumerate(photos):
        vector = style_vector_from_image(photos[(k + 1) % len(photos)], CPU)  # another photo's style
        params = style.validate({"style_vector": vector})
        out = _both(monkeypatch, lambda: style(image, params, None).rgb)
        assert out["onnxruntime"].shape == image.rgb.shape
        scores.append(_psnr(out["onnxruntime"], out["torch"]))
    assert min(scores) >= 30.0 and statistics.median(scores) >= 32.0, scores


def test_style_vectors_match_across_backends(photos, monkeypatch):
    from imagegen.engine.processors.style import style_vector_from_image

    for image in photos:
        out = _both(monkeypatch, lambda: torch.tensor(style_vector_from_image(image, CPU)))
        assert float(torch.nn.functional.cosine_similarity(out["onnxruntime"], out["torch"], dim=0)) >= 0.98


def test_transformer_runs_any_size_and_batches_image_by_image():
    net = OrtStyleTransformer()
    x, styles = torch.rand(1, 3, 200, 136), torch.randn(2, 100) * 0.3
    with torch.inference_mode():
        out = net(x.expand(2, -1, -1, -1), styles)
        one = net(x, styles[1:])
    assert out.shape == (2, 3, 200, 136)
    assert torch.equal(out[1:], one)
    assert float((out[0] - out[1]).abs().mean()) > 0.01  # two styles, two pictures
    with pytest.raises(RuntimeError, match="torch port"):
        net(x, styles[:1], object())


def test_a_large_photo_runs_in_tiles_on_the_port_under_the_onnxruntime_default(monkeypatch, fresh_cache):
    monkeypatch.delenv(ENV_BACKEND, raising=False)
    style = get_processor("style")
    image = _image(draw_product("mug", color=(200, 60, 40), size=400, seed=1), 400)
    with torch.inference_mode():
        out = style(image, style.validate({"style": 3, "tile_size": 256}), None)
    assert out.rgb.shape == image.rgb.shape
    backends = {key[1].endswith(":onnxruntime") for key in model_cache.cached_keys() if key[0] == "multi"}
    assert backends == {False}  # the tiled run loaded the port


# --- exported networks ----------------------------------------------------------------------

def test_the_enhancer_runs_exported_with_the_same_output(monkeypatch, tmp_path, fresh_cache):
    import dataclasses

    from imagegen.engine.training.enhance import EnhanceConfig, build_enhancer

    monkeypatch.setenv(ENV_CACHE, str(tmp_path))
    config = EnhanceConfig()
    torch.manual_seed(0)
    net = build_enhancer(config)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.05)
    buf = io.BytesIO()
    torch.save({"kind": "enhance", "config": dataclasses.asdict(config), "generator": net.state_dict()}, buf)
    image = _image(draw_product("shoe", color=(40, 90, 200), size=150, seed=2), 150)
    enhance = get_processor("enhance")
    out = _both(monkeypatch, lambda: enhance(image, enhance.validate({}), buf.getvalue()).rgb)
    assert out["onnxruntime"].shape == (3, image.height * 4, image.width * 4)
    assert float((out["onnxruntime"] - out["torch"]).abs().max()) < 1e-4
    assert len(list(tmp_path.glob("*.onnx"))) == 1


def test_an_export_is_made_once_per_host_and_read_back(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_CACHE, str(tmp_path))
    conv = torch.nn.Conv2d(3, 2, 3, padding=1)
    kwargs = dict(input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "y": {0: "n", 2: "h", 3: "w"}})
    first = export_onnx(conv, (torch.rand(1, 3, 8, 8),), key="conv-a", **kwargs)
    (path,) = tmp_path.glob("*.onnx")
    stamp = path.stat().st_mtime_ns
    again = export_onnx(torch.nn.Identity(), (torch.rand(1, 3, 8, 8),), key="conv-a", **kwargs)  # same key: the file
    assert again == first and path.stat().st_mtime_ns == stamp
    export_onnx(conv, (torch.rand(1, 3, 8, 8),), key="conv-b", **kwargs)
    assert len(list(tmp_path.glob("*.onnx"))) == 2
    assert not list(tmp_path.glob("*.part"))  # written atomically
