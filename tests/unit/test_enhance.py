"""The faithful 4x enhancer: the efficient network, its training defaults (pixel loss, no
adversary, cosine rate, standard degradation), exact resume, export and loading (old files
included), and the processor's 4x and 2x outputs."""
from __future__ import annotations

import dataclasses
import io

import pytest
import torch
import torch.nn.functional as F
from PIL import Image as PILImage

from imagegen.engine import ParameterError, decode, render
from imagegen.engine.networks.enhance import EnhanceGenerator, LocalFeatureEnhancer
from imagegen.engine.processors.enhance import _build
from imagegen.engine.training.base import load_checkpoint, save_checkpoint
from imagegen.engine.training.data import CatalogueItem, prepare
from imagegen.engine.training.degrade import degrade, random_degrade, reduce
from imagegen.engine.training.enhance import DEFAULT_STEPS, EnhanceConfig, EnhanceTrainer, budget_config, enhance_config
from shop.catalogue.drawing import demo_catalogue, draw_product

TINY = EnhanceConfig(size=32, image_size=64, batch=8, channels=8, blocks=1, lr_g=5e-3, schedule=40, warmup=5, log_every=1)


def png(image: PILImage.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data64():
    items = []
    for entry in demo_catalogue(10):
        image = draw_product(entry["kind"], color=entry["color"], size=64, transparent=entry["transparent"], seed=entry["seed"])
        items.append(CatalogueItem(entry["name"], png(image), entry["category"]))
    return prepare(items, size=64, min_side=32)


def weights(trainer: EnhanceTrainer) -> bytes:
    buf = io.BytesIO()
    torch.save(trainer.export(), buf)
    return buf.getvalue()


# --- the network -----------------------------------------------------------------------


def test_default_network_is_small_starts_at_bicubic_and_takes_any_size():
    net = LocalFeatureEnhancer()  # the defaults EnhanceConfig builds
    assert 100_000 < sum(p.numel() for p in net.parameters()) < 400_000
    for h, w in ((24, 24), (3, 5), (17, 40)):  # tiny inputs too: the attention's pool is padded
        x = torch.rand(2, 3, h, w)
        out = net(x)
        assert out.shape == (2, 3, 4 * h, 4 * w)
        # zero last layer: exactly bicubic before training
        assert torch.equal(out, F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False))
    assert {type(m).__name__ for m in net.modules()} <= {
        "LocalFeatureEnhancer", "Sequential", "_LocalFeatureBlock", "_SpatialAttention", "Conv2d", "LeakyReLU", "PixelShuffle"
    }  # plain operators only (ONNX)


def test_defaults_are_faithful_and_use_the_evaluation_degradation():
    config = EnhanceConfig()
    assert config.arch == "rlfn" and config.loss == "charbonnier" and config.degradation == "bicubic"
    assert config.adv_weight == 0 and not config.adversarial and config.schedule == DEFAULT_STEPS
    sharp = budget_config(steps=800, adversarial=True)
    assert sharp.adv_weight > 0 and sharp.adv_start == 200 and sharp.schedule == 800
    assert budget_config(steps=300).schedule == 300 and not budget_config(steps=300).adversarial
    with pytest.raises(Exception, match="Unknown enhancement network"):
        EnhanceConfig(arch="nope")


def test_standard_degradation_is_bicubic_reduction_to_8_bits():
    hr = torch.rand(2, 3, 32, 48)
    low = reduce(hr)
    assert low.shape == (2, 3, 8, 12)
    assert torch.equal(low, (low * 255).round() / 255)
    assert torch.equal(random_degrade(hr, torch.Generator().manual_seed(0), "bicubic"), low)
    assert torch.equal(degrade(hr[0]), low[0])
    camera = random_degrade(hr, torch.Generator().manual_seed(0), "camera")
    assert camera.shape == low.shape and not torch.equal(camera, low)


# --- training --------------------------------------------------------------------------


def test_training_lowers_the_loss_without_an_adversary(data64):
    trainer = EnhanceTrainer(TINY, data64.train(), device="cpu")
    assert trainer.D is None and set(trainer._modules()) == {"G", "opt_g"}
    before = F.l1_loss(trainer.enhance(trainer.fixed_low), trainer.fixed_hr).item()
    for _ in range(24):
        trainer.train_step()
    after = F.l1_loss(trainer.enhance(trainer.fixed_low), trainer.fixed_hr).item()
    assert after < before * 0.995  # bicubic is already close: a small, certain gain
    first = sum(h["loss_pixel"] for h in trainer.history[:5]) / 5
    last = sum(h["loss_pixel"] for h in trainer.history[-5:]) / 5
    assert last < first
    assert all(h["loss_d"] == 0 and h["loss_adv"] == 0 for h in trainer.history)


def test_learning_rate_warms_up_then_follows_the_cosine_to_the_floor(data64):
    trainer = EnhanceTrainer(TINY, data64.train(), device="cpu")
    lr = [trainer.learning_rate(s) for s in range(60)]
    assert lr[0] == pytest.approx(TINY.lr_g / 5)
    assert max(lr) == pytest.approx(lr[4]) and lr[4] < TINY.lr_g
    assert all(a >= b for a, b in zip(lr[4:40], lr[5:41]))  # decreasing after the warm-up
    assert lr[40] == pytest.approx(TINY.lr_g * TINY.lr_floor) and lr[59] == lr[40]  # past the budget: the floor


@pytest.mark.parametrize("adversarial", [False, True])
def test_training_resumes_exactly(data64, adversarial):
    config = dataclasses.replace(TINY, size=16, batch=4, adv_weight=1e-2 if adversarial else 0.0, adv_start=2)
    straight = EnhanceTrainer(config, data64.train(), device="cpu")
    for _ in range(6):
        straight.train_step()
    half = EnhanceTrainer(config, data64.train(), device="cpu")
    for _ in range(3):
        half.train_step()
    resumed = EnhanceTrainer(config, data64.train(), device="cpu")
    resumed.load_state_dict(load_checkpoint(save_checkpoint(half.state_dict())))
    for _ in range(3):
        resumed.train_step()
    assert resumed.history == straight.history
    assert (straight.history[-1]["loss_d"] > 0) == adversarial
    for a, b in zip(resumed.G.state_dict().values(), straight.G.state_dict().values()):
        assert torch.equal(a, b)


# --- export, loading, the processor -----------------------------------------------------


def test_export_loads_back_as_the_same_network(data64):
    trainer = EnhanceTrainer(TINY, data64.train(), device="cpu")
    for _ in range(3):
        trainer.train_step()
    export = trainer.export()
    assert export["arch"] == "rlfn"
    net = _build(weights(trainer))
    assert isinstance(net, LocalFeatureEnhancer) and not net.training
    low = trainer.fixed_low
    with torch.no_grad():
        assert torch.allclose(net(low).clamp(0, 1), trainer.enhance(low), atol=1e-6)


def test_weights_exported_before_the_arch_field_load_as_the_old_network():
    old = {"size": 64, "image_size": 256, "batch": 16, "lr_g": 2e-4, "lr_d": 1e-4, "adv_weight": 1e-3, "adv_start": 200,
           "channels": 8, "blocks": 1, "seed": 0, "log_every": 10}  # an EnhanceConfig as saved before
    config = enhance_config(old)
    assert config.arch == "srresnet" and config.degradation == "camera" and config.loss == "l1" and config.lr_floor == 1.0
    net = EnhanceGenerator(channels=8, blocks=1)
    buf = io.BytesIO()
    torch.save({"kind": "enhance", "config": old, "generator": net.state_dict()}, buf)
    loaded = _build(buf.getvalue())
    assert isinstance(loaded, EnhanceGenerator)
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        assert torch.equal(loaded(x), net.eval()(x))
    # an "arch" the file does not match is refused with the admin's message
    bad = io.BytesIO()
    torch.save({"kind": "enhance", "arch": "rlfn", "config": old, "generator": net.state_dict()}, bad)
    with pytest.raises(ParameterError, match="not enhancement weights"):
        _build(bad.getvalue())


def test_processor_offers_4x_and_2x_and_refuses_large_inputs(data64):
    trainer = EnhanceTrainer(TINY, data64.train(), device="cpu")
    for _ in range(2):
        trainer.train_step()
    reference = weights(trainer)
    source = draw_product("mug", color=(200, 40, 40), size=64, transparent=True, seed=1).resize((40, 30))
    image = decode(png(source))
    four = render(image, "enhance", {}, reference=reference)
    two = render(image, "enhance", {"scale": 2}, reference=reference)
    assert (four.width, four.height) == (160, 120) and (two.width, two.height) == (80, 60)
    assert two.alpha is not None and two.alpha.shape[-2:] == (60, 80)
    opaque = decode(png(source.convert("RGB")))
    four, two = render(opaque, "enhance", {}, reference=reference), render(opaque, "enhance", {"scale": 2}, reference=reference)
    halved = F.interpolate(four.rgb[None], size=(60, 80), mode="bicubic", antialias=True, align_corners=False)[0].clamp(0, 1)
    assert float((halved - two.rgb).abs().max()) < 2 / 255  # the 4x result, halved
    with pytest.raises(ParameterError, match="scale 2"):
        render(image, "enhance", {"max_input": 32}, reference=reference)
    with pytest.raises(ParameterError, match="'scale' must be 2 or 4"):
        render(image, "enhance", {"scale": 3}, reference=reference)
