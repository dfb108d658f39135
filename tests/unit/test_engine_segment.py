"""The product mask: U²-Net-p's torch port against onnxruntime on the same ONNX file, its
masks on real product photos (on white and on photo backgrounds), the guided-filter
refinement to full resolution (edges, holes), and inputs with nothing to find."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imagegen.engine import Image, decode
from imagegen.engine.errors import EngineError, ParameterError
from imagegen.engine.masks import MASK_SEGMENTED, product_mask
from imagegen.engine.networks.onnx_weights import u2netp_path
from imagegen.engine.networks.u2netp import INPUT_SIZE, U2NetP, load_u2netp
from imagegen.engine.onnx_backend import ENV_BACKEND as ENV_CPU_BACKEND
from imagegen.engine.onnx_backend import ENV_CACHE as ENV_ONNX_CACHE
from imagegen.engine.segment import ENV_BACKEND, OnnxSegmenter, backend_for, export_weights, load_segmenter, probability, refine, segment, segmenter_id, with_mask

BACKGROUNDS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "backgrounds"
SIDE = 512  # the network sees 320 px: larger test images only cost time


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum()) / max(1, int((a | b).sum()))


def _load_small(path: Path, side: int = SIDE) -> Image:
    image = decode(path.read_bytes())
    size = (side, round(side * image.width / image.height))
    rgb = F.interpolate(image.rgb[None], size=size, mode="bilinear", antialias=True)[0]
    alpha = F.interpolate(image.alpha[None], size=size, mode="bilinear", antialias=True)[0]
    return Image(rgb=rgb, alpha=alpha)


def _on(product: Image, backdrop: torch.Tensor | None) -> Image:
    """The product composited on white or on ``backdrop`` (cover-resized): an opaque photo."""
    h, w = product.rgb.shape[-2:]
    if backdrop is None:
        back = torch.ones(3, h, w)
    else:
        bh, bw = backdrop.shape[-2:]
        scale = max(h / bh, w / bw)
        big = F.interpolate(backdrop[None], size=(max(h, round(bh * scale)), max(w, round(bw * scale))), mode="bilinear", antialias=True)[0]
        top, left = (big.shape[-2] - h) // 2, (big.shape[-1] - w) // 2
        back = big[:, top : top + h, left : left + w]
    return Image(rgb=product.rgb * product.alpha + back * (1 - product.alpha))


@pytest.fixture(scope="module")
def session():
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test dependency (requirements.txt)")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(str(u2netp_path()), opts, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def port() -> U2NetP:
    return load_u2netp(u2netp_path())


def test_port_has_u2netp_size_and_every_conv_loaded(port):
    assert sum(p.numel() for p in port.parameters()) == 1_125_485  # U²-Net-p: "about 1.1 M"
    assert not any(torch.equal(c.weight, torch.zeros_like(c.weight)) for c in port.modules() if isinstance(c, torch.nn.Conv2d))


def test_port_matches_onnxruntime_on_real_photos(session, port, product_photos):
    """All seven probability maps within 1e-4 of onnxruntime; the fused masks' IoU >= 0.99."""
    for path in product_photos[::7]:
        image = _on(_load_small(path), None)
        x = F.interpolate(image.rgb[None], size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True)
        x = U2NetP.normalise(x)
        expected = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        with torch.inference_mode():
            got = [torch.sigmoid(t).numpy() for t in port(x)]
        assert len(got) == len(expected) == 7
        for mine, theirs in zip(got, expected):
            assert np.abs(mine - theirs).max() < 1e-4, path.name
        assert _iou(torch.from_numpy(got[0]), torch.from_numpy(expected[0])) >= 0.99


def test_port_matches_onnxruntime_on_noise(session, port):
    x = torch.randn(1, 3, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(3))
    expected = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.inference_mode():
        got = torch.sigmoid(port(x)[0]).numpy()
    assert np.abs(got - expected).max() < 1e-4


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_masks_of_real_products_on_white(product_photos, backend, monkeypatch):
    """The built-in network on the shop's kind of photo: a product on white, through either
    backend (onnxruntime is the CPU default, the port runs on GPUs and for fine-tuned weights)."""
    monkeypatch.setenv(ENV_BACKEND, backend)
    ious = [_iou(segment(_on(p, None)), p.alpha) for p in map(_load_small, product_photos[::2])]
    assert min(ious) >= 0.95, ious
    assert float(np.mean(ious)) >= 0.98


def test_both_backends_make_the_same_mask(product_photos, monkeypatch):
    image = _on(_load_small(product_photos[3]), None)
    masks = {}
    for backend in ("onnxruntime", "torch"):
        monkeypatch.setenv(ENV_BACKEND, backend)
        masks[backend] = segment(image)
    assert float((masks["onnxruntime"] - masks["torch"]).abs().max()) < 2e-3


def test_backend_choice(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.delenv(ENV_BACKEND, raising=False)
    monkeypatch.delenv(ENV_CPU_BACKEND, raising=False)
    assert backend_for(None, cpu) == "onnxruntime"
    assert backend_for(b"fine-tuned", cpu) == "onnxruntime"  # exported from the port, cached
    assert backend_for(None, cuda) == "torch"  # GPU: the port, bf16 and batching
    monkeypatch.setenv(ENV_CPU_BACKEND, "torch")  # every network's default ...
    assert backend_for(None, cpu) == "torch"
    monkeypatch.setenv(ENV_BACKEND, "onnxruntime")  # ... overridden for this one
    assert backend_for(b"fine-tuned", cpu) == "onnxruntime"
    assert backend_for(None, cuda) == "torch"
    monkeypatch.setenv(ENV_BACKEND, "onnx")
    with pytest.raises(EngineError, match="use one of auto, torch, onnxruntime"):
        backend_for(None, cpu)


def test_fine_tuned_weights_run_exported_in_onnxruntime(tmp_path, monkeypatch):
    """Fine-tuned weights on a CPU: exported once to the host's ONNX cache, then read from it
    by every later load; the masks match the torch port's."""
    from imagegen.engine import model_cache
    from imagegen.engine.networks.u2netp import U2NetP

    monkeypatch.setenv(ENV_ONNX_CACHE, str(tmp_path))
    torch.manual_seed(3)
    weights = export_weights(U2NetP())
    x = torch.rand(2, 3, 96, 128)
    probs = {}
    for backend in ("onnxruntime", "torch"):
        monkeypatch.setenv(ENV_BACKEND, backend)
        model_cache.clear()
        net = load_segmenter(weights)
        assert isinstance(net, OnnxSegmenter) == (backend == "onnxruntime")
        probs[backend] = probability(net, x)
    assert len(list(tmp_path.glob("*.onnx"))) == 1  # exported once, kept for the other workers
    assert probs["onnxruntime"].shape == probs["torch"].shape == (2, 1, 320, 320)
    assert float((probs["onnxruntime"] - probs["torch"]).abs().max()) < 1e-4
    model_cache.clear()


def test_masks_of_real_products_on_photo_backgrounds(product_photos):
    """On busy photos the built-in network also finds other salient things (a cat, a rocket):
    the floor is lower, which is what `imagegen_train segment` is for."""
    if not BACKGROUNDS.is_dir():
        pytest.skip(f"background photos not found at {BACKGROUNDS} (only present in development and CI)")
    backdrops = [decode(p.read_bytes()).rgb for p in sorted(BACKGROUNDS.iterdir()) if p.suffix in {".png", ".jpg"}]
    ious = []
    for i, path in enumerate(product_photos):
        product = _load_small(path)
        ious.append(_iou(segment(_on(product, backdrops[i % len(backdrops)])), product.alpha))
    assert float(np.mean(ious)) >= 0.75, ious  # measured 0.85 (docs/models.md)
    assert float(np.median(ious)) >= 0.85


def _ring(side: int) -> tuple[Image, torch.Tensor]:
    """A dark-red ring on light grey: the hole must stay background (a mug's handle)."""
    ys, xs = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    r = ((ys - side / 2) ** 2 + (xs - side / 2) ** 2).float().sqrt()
    truth = ((r < side * 0.36) & (r > side * 0.18)).float()[None]
    rgb = torch.tensor([0.93, 0.93, 0.93]).view(3, 1, 1) * (1 - truth) + torch.tensor([0.55, 0.08, 0.1]).view(3, 1, 1) * truth
    return Image(rgb=rgb), truth


def test_full_resolution_mask_keeps_the_hole_and_sharp_edges():
    image, truth = _ring(1600)
    mask = segment(image)
    assert mask.shape == (1, 1600, 1600)
    assert _iou(mask, truth) >= 0.97
    assert float(mask[0, 800, 800]) < 0.1  # the hole is background
    # edges: refined beats the network's map merely upsampled, measured on the edge band
    net = load_segmenter(None)
    with torch.inference_mode():
        prob = probability(net, image.rgb[None])
    upsampled = F.interpolate(prob, size=(1600, 1600), mode="bilinear", align_corners=False)[0]
    band = (F.max_pool2d(truth[None], 25, 1, 12) - (-F.max_pool2d(-truth[None], 25, 1, 12)))[0] > 0
    err_refined = float((mask - truth).abs()[band].mean())
    err_upsampled = float((upsampled - truth).abs()[band].mean())
    assert err_refined < 0.5 * err_upsampled, (err_refined, err_upsampled)


def test_refine_invents_no_structure():
    """A constant probability map stays constant (only its contrast about 0.5 is doubled),
    however busy the photo: the filter follows edges the network saw, it makes none."""
    rgb = torch.rand(3, 300, 200, generator=torch.Generator().manual_seed(0))
    out = refine(torch.full((1, 1, 20, 20), 0.6), rgb)
    assert out.shape == (1, 300, 200)
    assert torch.allclose(out, torch.full_like(out, 0.7), atol=1e-3)


@pytest.mark.parametrize("side", [1, 5, 33])
def test_tiny_images_get_a_mask_of_their_size(side):
    mask = segment(Image(rgb=torch.rand(3, side, side + 2)))
    assert mask.shape == (1, side, side + 2)
    assert float(mask.min()) >= 0 and float(mask.max()) <= 1


def test_huge_photo_is_refined_at_a_bounded_size_and_keeps_its_size(monkeypatch):
    from imagegen.engine import segment as segment_module

    monkeypatch.setattr(segment_module, "MAX_SIDE", 256)  # the same path as a 50 MP upload, cheaply
    image, truth = _ring(640)
    mask = segment(image)
    assert mask.shape == (1, 640, 640)
    assert _iou(mask, truth) >= 0.95
    assert float(mask[0, 320, 320]) < 0.1


def test_all_white_photo_has_no_product():
    mask = segment(Image(rgb=torch.ones(3, 400, 300)))
    assert float(mask.mean()) < 0.01


def test_transparent_input_is_seen_on_white(product_photos):
    product = _load_small(product_photos[0])
    assert _iou(segment(product), product.alpha) >= 0.95


def test_attached_mask_is_the_product_mask_and_survives_rendering():
    image, truth = _ring(64)
    masked = with_mask(image, truth)
    mask, kind = product_mask(masked)
    assert kind == MASK_SEGMENTED and torch.equal(mask, truth)
    from imagegen.engine import render, resize_to_fit

    out = render(masked, "sketch", {"preserve_product": "product", "preserve_amount": 1.0})
    assert out.mask is not None and torch.equal(out.mask, truth)
    assert out.info["metrics"]["product_mask"] == MASK_SEGMENTED
    assert resize_to_fit(masked, 32).mask.shape == (1, 32, 32)


def test_fine_tuned_weights_round_trip_and_bad_weights_are_refused(monkeypatch):
    image, _ = _ring(96)
    weights = export_weights(load_u2netp(u2netp_path()), note="test")
    monkeypatch.setenv(ENV_BACKEND, "torch")  # fine-tuned weights always run in the port: compare like with like
    assert torch.allclose(segment(image, weights), segment(image), atol=1e-5)
    assert segmenter_id(weights).startswith("u2netp-shop@") and segmenter_id(None).startswith("u2netp@")
    assert segmenter_id(weights) != segmenter_id(weights + b"x")
    with pytest.raises(ParameterError, match="imagegen_train segment"):
        segment(image, b"not a torch file")
