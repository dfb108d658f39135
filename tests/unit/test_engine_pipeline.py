"""render()/validate(): generic options, alpha, errors, registry (imagegen.engine.pipeline)."""

import pytest
import torch

import imagegen.engine as engine
from imagegen.engine import (
    ENGINE_VERSION,
    Image,
    ParameterError,
    ProcessorError,
    get_processor,
    processor_names,
    render,
)
from imagegen.engine.color import rgb_to_lab
from imagegen.engine.pipeline import validate
from imagegen.engine.processors import Processor, register, unregister
from imagegen.engine.processors.lut import make_cube
from imagegen.engine.runtime import get_device

INVERT = make_cube(5, lambda x: 1 - x).encode()


def sample(alpha: bool = True) -> Image:
    g = torch.Generator().manual_seed(7)
    rgb = torch.rand(3, 40, 60, generator=g) * 0.8 + 0.1
    a = torch.rand(1, 40, 60, generator=g) if alpha else None
    return Image(rgb=rgb, alpha=a, info={"format": "PNG", "mode": "RGBA"})


def test_public_api():
    assert ENGINE_VERSION == "2"
    assert {"look", "lut", "sketch"} <= set(processor_names())
    for name in ("Image", "decode", "encode", "render", "EngineError", "DecodeError", "ParameterError",
                 "ProcessorError", "get_processor", "processor_names", "ENGINE_VERSION"):
        assert hasattr(engine, name), name
    lut = get_processor("lut")
    assert lut.name == "lut" and lut.needs_reference and not get_processor("sketch").needs_reference


def test_strength_blends_with_source():
    src = sample()
    full = render(src, "lut", {}, reference=INVERT)
    none = render(src, "lut", {"strength": 0}, reference=INVERT)
    half = render(src, "lut", {"strength": 0.5}, reference=INVERT)
    assert (none.rgb - src.rgb).abs().max() < 1e-6
    assert (half.rgb - (src.rgb + full.rgb) / 2).abs().max() < 1e-5
    assert (half.rgb - 0.5).abs().max() < 1e-5  # halfway between x and 1 - x
    for out in (full, none, half):
        assert torch.equal(out.alpha, src.alpha)
        assert out.info["processor"] == "lut" and out.info["format"] == "PNG"
    assert "processor" not in src.info  # source untouched


def test_preserve_colors_keeps_source_chroma():
    src = sample(alpha=False)
    src.rgb = src.rgb * 0.5 + 0.25  # moderate colours: the inverted L with source a/b stays in gamut
    out = render(src, "lut", {"preserve_colors": True}, reference=INVERT)
    lab_src, lab_out, lab_full = (rgb_to_lab(x.double()) for x in (src.rgb, out.rgb, (1 - src.rgb)))
    assert out.alpha is None
    assert (lab_out[0] - lab_full[0]).abs().max() < 0.5  # lightness from the result
    assert (lab_out[1:] - lab_src[1:]).abs().quantile(0.95) < 0.5  # colour from the source
    # where the gamut forces less chroma, the hue is still the source's
    hue = lambda lab: torch.atan2(lab[2], lab[1])  # noqa: E731
    chroma = lab_src[1:].norm(dim=0) > 5
    diff = (hue(lab_out) - hue(lab_src))[chroma]
    assert torch.atan2(diff.sin(), diff.cos()).abs().max() < 0.05


def test_max_size_resizes_first():
    out = render(sample(), "sketch", {}, max_size=30)
    assert (out.width, out.height) == (30, 20) and out.alpha.shape == (1, 20, 30)
    assert out.info["resized_from"] == (60, 40)


def test_validate_normalises():
    generic = {"preserve_product": "off", "preserve_amount": 0.75, "aspect": None}  # issue 7: product-aware options; 13: aspect
    assert validate("sketch", {}) == {"sigma": None, "darkness": 1.5, "shading": 0.15,
                                      "strength": 1.0, "preserve_colors": False, **generic}
    v = validate("look", {"method": " MKL ", "strength": "0.25", "preserve_colors": "true"})
    assert v == {"method": "mkl", "strength": 0.25, "preserve_colors": True, **generic}
    assert validate("lut", None) == {"strength": 1.0, "preserve_colors": False, **generic}


@pytest.mark.parametrize(
    "processor, params, words",
    [
        ("nope", {}, "Unknown processor 'nope'; available: "),
        ("sketch", {"strength": 1.5}, "'strength' must be a number >= 0 and <= 1"),
        ("sketch", {"strength": float("nan")}, "strength"),
        ("sketch", {"strength": True}, "strength"),
        ("sketch", {"preserve_colors": "maybe"}, "'preserve_colors' must be true or false"),
        ("sketch", {"colour": 1}, "Unknown parameter 'colour' for 'sketch'; allowed: aspect, darkness, preserve_amount, preserve_colors, preserve_product, shading, sigma, strength"),
        ("sketch", [1, 2], "mapping"),
        ("look", {"method": 3}, "'method' must be one of"),
    ],
)
def test_bad_parameters(processor, params, words):
    with pytest.raises(ParameterError) as err:
        validate(processor, params)
    assert words in str(err.value)
    with pytest.raises(ParameterError):
        render(sample(), processor, params, reference=INVERT)


class Broken(Processor):
    name = "test-broken"

    def process(self, image, params, reference):
        raise RuntimeError("boom")


class WrongShape(Processor):
    name = "test-wrong-shape"

    def process(self, image, params, reference):
        return Image(rgb=image.rgb[:, :5], alpha=None, info={})


class Checks(Processor):
    name = "test-checks"

    def process(self, image, params, reference):
        assert torch.is_inference_mode_enabled()
        return Image(rgb=image.rgb * 0 + 0.5, alpha=None, info={"extra": 1})


def test_processor_failures_are_wrapped():
    for proc in (Broken(), WrongShape(), Checks()):
        register(proc)
    try:
        with pytest.raises(ProcessorError, match="'test-broken' processor failed: RuntimeError: boom"):
            render(sample(), "test-broken", {})
        with pytest.raises(ProcessorError, match="expected an image of shape"):
            render(sample(), "test-wrong-shape", {})
        out = render(sample(), "test-checks", {})
        assert out.info["extra"] == 1 and out.alpha is not None  # source alpha restored
    finally:
        for name in ("test-broken", "test-wrong-shape", "test-checks"):
            unregister(name)
    assert "test-broken" not in processor_names()


def test_device_override(monkeypatch):
    monkeypatch.setenv("IMAGEGEN_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    monkeypatch.setenv("IMAGEGEN_DEVICE", "banana")
    with pytest.raises(engine.EngineError, match="IMAGEGEN_DEVICE"):
        get_device()
    monkeypatch.delenv("IMAGEGEN_DEVICE")
    assert get_device().type in ("cpu", "cuda")


def test_figures_can_be_left_out_and_the_image_is_the_same():
    """with_figures=False (benchmarks: what the figures cost) changes the metrics, not the picture."""
    src = sample()
    full = render(src, "lut", {"strength": 0.7}, reference=INVERT)
    plain = render(src, "lut", {"strength": 0.7}, reference=INVERT, with_figures=False)
    assert torch.equal(full.rgb, plain.rgb) and torch.equal(full.alpha, plain.alpha)
    assert {"content_ssim", "product_delta_e", "product_mask", "runtime_ms"} <= set(full.info["metrics"])
    assert set(plain.info["metrics"]) == {"runtime_ms"}
