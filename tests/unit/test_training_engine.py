"""The training engine on tiny data: dataset cleaning, GAN and enhancement training (losses
finite and falling), exact resume, the memorisation guard, the enhance processor."""
from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F
from PIL import Image as PILImage

from imagegen.engine import ParameterError, decode, render
from imagegen.engine.networks.gan import Discriminator, Generator
from imagegen.engine.training.augment import diff_augment
from imagegen.engine.training.base import load_checkpoint, save_checkpoint
from imagegen.engine.training.data import CatalogueItem, DirectoryCache, prepare
from imagegen.engine.training.enhance import EnhanceConfig, EnhanceTrainer
from imagegen.engine.training.evaluate import evaluate_enhance, evaluate_gan, rgb_to_y
from imagegen.engine.training.gan import GanConfig, GanTrainer, d_loss, g_loss
from imagegen.engine.training.sampling import GanSampler, MemorisationGuard
from shop.catalogue.drawing import demo_catalogue, draw_product


def png(image: PILImage.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny models: one thread is faster than several fighting over a busy CI machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def items() -> list[CatalogueItem]:
    out = []
    for entry in demo_catalogue(12):
        image = draw_product(entry["kind"], color=entry["color"], size=64, transparent=entry["transparent"], seed=entry["seed"])
        out.append(CatalogueItem(entry["name"], png(image), entry["category"]))
    return out


@pytest.fixture(scope="module")
def data32(items):
    return prepare(items, size=32, min_side=32)


@pytest.fixture(scope="module")
def data64(items):
    return prepare(items, size=64, min_side=32)


def tiny_gan(preset: str, **kw) -> GanConfig:
    return GanConfig.from_preset(preset, **{"size": 32, "batch": 8, "base_channels": 8, "log_every": 1, **kw})


# The adversarial option (adv_weight > 0) here; the faithful default: tests/unit/test_enhance.py.
TINY_ENHANCE = EnhanceConfig(size=32, image_size=64, batch=8, channels=8, blocks=1, adv_weight=1e-3, adv_start=20, lr_g=5e-3, warmup=5, log_every=1)


# --- dataset ---------------------------------------------------------------------------


def test_cleaning_skips_corrupt_small_and_duplicate_images(items, tmp_path):
    first = items[0]
    reencoded = png(PILImage.open(io.BytesIO(first.data)), "PNG", compress_level=1)  # other bytes, same pixels
    catalogue = [
        *items[:4],
        CatalogueItem("broken", first.data[:100]),
        CatalogueItem("text", b"hello, not an image"),
        CatalogueItem("tiny", png(PILImage.new("RGB", (20, 20), "red"))),
        CatalogueItem("copy", first.data),
        CatalogueItem("resaved", reencoded),
    ]
    data = prepare(catalogue, size=32, min_side=32, cache=DirectoryCache(tmp_path))
    report = data.report
    assert report.collected == 9 and report.kept == 4 == len(data)
    assert sorted(k for k, _ in report.corrupt) == ["broken", "text"]
    assert report.too_small == [("tiny", "20x20")]
    assert report.exact_duplicates == [("copy", first.key)]
    assert [(k, n) for k, n, _ in report.near_duplicates] == [("resaved", first.key)]
    assert data.images.dtype == torch.uint8 and data.images.shape == (4, 3, 32, 32)
    # The cache is used: a second pass decodes nothing (a corrupt cache would fail loudly).
    assert len(list(tmp_path.glob("*.pt"))) == 6  # every decodable image: 4 kept, "resaved", "tiny"
    again = prepare(catalogue, size=32, min_side=32, cache=DirectoryCache(tmp_path))
    assert torch.equal(again.images, data.images) and again.keys == data.keys


def test_transparent_images_are_composited_on_the_background_and_squared():
    rgba = PILImage.new("RGBA", (80, 40), (0, 0, 0, 0))
    rgba.paste((10, 200, 10, 255), (30, 10, 50, 30))
    data = prepare([CatalogueItem("wide", png(rgba))], size=40, min_side=16, background=(250, 240, 230), holdout=0)
    image = data.images[0]
    assert image[:, 0, 0].tolist() == [250, 240, 230]  # corner: background, not black
    assert image[:, 2, 20].tolist() == [250, 240, 230]  # padding above the 80x40 image
    assert image[:, 20, 20].tolist() == [10, 200, 10]  # the product, centred


def test_holdout_split_is_stable_and_never_empty(items):
    a = prepare(items, size=32, min_side=32, holdout=0.3)
    b = prepare(list(reversed(items)), size=32, min_side=32, holdout=0.3)
    held = lambda d: {k for k, h in zip(d.keys, d.holdout.tolist()) if h}  # noqa: E731
    assert held(a) == held(b) and 0 < len(held(a)) < len(items)
    assert len(a.train()) + len(a.held_out()) == len(a)


# --- networks, losses, augmentation ----------------------------------------------------


@pytest.mark.parametrize("size", [32, 64, 128])
def test_networks_have_the_right_shapes(size):
    g = Generator(size, z_dim=16, base=8, num_classes=3)
    d = Discriminator(size, base=8, num_classes=3, spectral=True, batch_norm=False)
    labels = torch.tensor([0, 2])
    images = g(torch.randn(2, 16), labels)
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    assert d(images, labels).shape == (2,)


def test_losses_by_hand():
    zero = torch.zeros(4)
    assert d_loss("bce", zero, zero).item() == pytest.approx(2 * torch.log(torch.tensor(2.0)).item())  # -log .5 twice
    assert g_loss("bce", zero).item() == pytest.approx(0.6931, abs=1e-4)
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0])
    assert d_loss("hinge", real, fake).item() == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert g_loss("hinge", fake).item() == pytest.approx(1.5)


def test_diffaugment_is_differentiable_and_reproducible():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    a = diff_augment(x * 2 - 1, torch.Generator().manual_seed(3))
    b = diff_augment(x * 2 - 1, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


# --- training --------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["baseline", "strong"])
def test_gan_losses_are_finite_and_the_discriminator_loss_falls(data32, preset):
    trainer = GanTrainer(tiny_gan(preset), data32.train(), device="cpu")
    for _ in range(16):
        trainer.train_step()
    loss_d = [h["loss_d"] for h in trainer.history]
    assert all(torch.isfinite(torch.tensor([h["loss_d"], h["loss_g"]])).all() for h in trainer.history)
    assert sum(loss_d[-4:]) / 4 < sum(loss_d[:4]) / 4


def test_conditional_gan_resumes_exactly(data32):
    config = tiny_gan("strong", conditional=True)  # spectral norm, DiffAugment and EMA all in play
    straight = GanTrainer(config, data32.train(), device="cpu")
    for _ in range(6):
        straight.train_step()

    first = GanTrainer(config, data32.train(), device="cpu")
    for _ in range(3):
        first.train_step()
    blob = save_checkpoint(first.state_dict())
    del first
    torch.manual_seed(999)  # whatever happened in between must not matter
    resumed = GanTrainer(config, data32.train(), device="cpu")
    resumed.load_state_dict(load_checkpoint(blob))
    for _ in range(3):
        resumed.train_step()

    assert resumed.history == straight.history
    for a, b in zip(resumed.G_ema.state_dict().values(), straight.G_ema.state_dict().values()):
        assert torch.equal(a, b)


def test_enhancement_learns(data64):
    trainer = EnhanceTrainer(TINY_ENHANCE, data64.train(), device="cpu")
    before = F.l1_loss(trainer.enhance(trainer.fixed_low), trainer.fixed_hr).item()
    for _ in range(24):
        trainer.train_step()
    after = F.l1_loss(trainer.enhance(trainer.fixed_low), trainer.fixed_hr).item()
    assert after < before * 0.995
    assert all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in trainer.history)
    assert trainer.history[-1]["loss_d"] > 0  # the adversary joined at step 20


def test_enhancement_resumes_exactly(data64):
    config = EnhanceConfig(size=16, image_size=64, batch=4, channels=8, blocks=1, adv_weight=1e-3, adv_start=2, log_every=1)
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


def test_checkpoint_of_another_kind_is_refused(data32, data64):
    gan = GanTrainer(tiny_gan("baseline"), data32.train(), device="cpu")
    enhance = EnhanceTrainer(TINY_ENHANCE, data64.train(), device="cpu")
    with pytest.raises(Exception, match="'gan' model, not 'enhance'"):
        enhance.load_state_dict(gan.state_dict())
    with pytest.raises(Exception, match="not readable"):
        load_checkpoint(b"not a checkpoint")


# --- sampling, memorisation, evaluation ------------------------------------------------


def test_memorisation_guard_rejects_a_copied_training_image(data32):
    train = data32.train()
    from imagegen.engine.metrics.generative import thumbnails

    guard = MemorisationGuard((thumbnails(train.floats()) * 255).round().to(torch.uint8), train.keys, threshold=0.02)
    copy = train.floats()[:1]
    shifted = torch.roll(copy, shifts=6, dims=3)  # the same product moved: no longer a pixel copy
    ok, distance, keys = guard.check(torch.cat([copy, copy.flip(3) * 0 + 0.5, shifted]))
    assert ok.tolist() == [False, True, True]
    assert distance[0] < 0.005 and keys[0] == train.keys[0]


def test_sampler_gives_the_same_image_for_the_same_seed_and_reports_rejections(data32):
    trainer = GanTrainer(tiny_gan("strong", conditional=True), data32.train(), device="cpu")
    for _ in range(2):
        trainer.train_step()
    sampler = GanSampler(trainer.export(), device="cpu")
    label = data32.label_names[1]
    samples, rejected = sampler.sample(3, label=label, seed=7)
    assert [s.seed for s in samples] == [7, 8, 9] and rejected == 0
    assert torch.equal(sampler.render([8], label)[0], samples[1].image)
    with pytest.raises(ParameterError, match="Unknown category"):
        sampler.sample(1, label="nope")
    # A guard that rejects everything: nothing comes back, every try is counted.
    strict = GanSampler(trainer.export(), device="cpu", threshold=0.99)
    assert strict.sample(2, label=label, max_tries=5) == ([], 5)


def test_gan_evaluation_figures(data32):
    trainer = GanTrainer(tiny_gan("strong"), data32.train(), device="cpu")
    trainer.train_step()
    figures = evaluate_gan(trainer, data32, samples=16)
    assert figures["embedding"] == "randconv64-v1" and figures["memorisation_space"] == "thumb32-rms"
    for key in ("kid", "frechet", "swd", "precision", "recall", "d_accuracy_held_out", "nearest_train_min", "memorised_share"):
        assert torch.isfinite(torch.tensor(figures[key])), key
    assert 0 <= figures["precision"] <= 1 and 0 <= figures["d_accuracy_held_out"] <= 1
    assert figures["memorised_share"] == 0.0  # one step in, nothing resembles a product


def test_enhance_evaluation_and_luma():
    assert rgb_to_y(torch.ones(3, 1, 1)).item() == pytest.approx(235 / 255)
    assert rgb_to_y(torch.zeros(3, 1, 1)).item() == pytest.approx(16 / 255)


def test_enhance_evaluation_compares_three_methods(data64):
    trainer = EnhanceTrainer(TINY_ENHANCE, data64.train(), device="cpu")
    figures = evaluate_enhance(trainer, data64)
    assert figures["data_range"] == 1.0 and figures["held_out_images"] == len(data64.held_out())
    for method in ("gan", "bicubic", "lanczos"):
        assert 10 < figures[method]["psnr_y"] < 60 and 0 < figures[method]["ssim_rgb"] <= 1


# --- the enhance processor ------------------------------------------------------------


def test_enhance_processor_needs_weights_and_upscales_4x(data64, items):
    image = decode(png(PILImage.open(io.BytesIO(items[1].data)).convert("RGBA").resize((40, 30))))
    with pytest.raises(ParameterError, match="imagegen_train enhance"):
        render(image, "enhance", {})
    with pytest.raises(ParameterError, match="not enhancement weights"):
        render(image, "enhance", {}, reference=b"junk")

    trainer = EnhanceTrainer(TINY_ENHANCE, data64.train(), device="cpu")
    buf = io.BytesIO()
    torch.save(trainer.export(), buf)
    weights = buf.getvalue()
    out = render(image, "enhance", {}, reference=weights)
    assert (out.width, out.height) == (160, 120) and out.alpha is not None and out.alpha.shape[-2:] == (120, 160)
    assert render(image, "enhance", {}, reference=weights, max_size=100).width == 100  # max size applies to the output
    with pytest.raises(ParameterError, match="low-resolution"):
        render(image, "enhance", {"max_input": 32}, reference=weights)
    with pytest.raises(ParameterError, match="changes the image size"):
        render(image, "enhance", {"strength": 0.5}, reference=weights)


def test_tiled_upscaling_matches_whole_image():
    from imagegen.engine.networks.enhance import EnhanceGenerator
    from imagegen.engine.processors.enhance import upscale_tiled

    torch.manual_seed(0)
    net = EnhanceGenerator(channels=8, blocks=1).eval()
    torch.nn.init.normal_(net.tail.weight, 0, 0.05)
    x = torch.rand(3, 50, 70)
    with torch.no_grad():
        whole, tiled = net(x[None])[0], upscale_tiled(net, x, tile=24, overlap=8)
    # The receptive field (about 6 input px) fits in the overlap, so away from the image's own
    # edges (where tiles see replicated pixels instead of zero padding) tiles agree exactly.
    assert tiled.shape == whole.shape
    inner = (slice(None), slice(32, -32), slice(32, -32))
    assert (tiled[inner] - whole[inner]).abs().max() < 1e-4
