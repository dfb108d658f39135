"""The catalogue GAN's strong preset (FastGAN networks, reconstruction, DiffAugment, EMA) and
distributed training: shapes, losses that fall, exact resume, conditional sampling, old
exports, and 2 processes (gloo) equal to 1 process."""
from __future__ import annotations

import io

import pytest
import torch
from PIL import Image as PILImage

from imagegen.engine import ParameterError
from imagegen.engine.networks.fastgan import SLE, Decoder, FastDiscriminator, FastGenerator, reconstruction_targets, sle_pairs
from imagegen.engine.networks.syncnorm import DistributedBatchNorm2d
from imagegen.engine.training import distributed
from imagegen.engine.training.augment import diff_augment, flip
from imagegen.engine.training.base import load_checkpoint, save_checkpoint
from imagegen.engine.training.data import CatalogueItem, prepare
from imagegen.engine.training.gan import GanConfig, GanTrainer
from imagegen.engine.training.sampling import GanSampler
from shop.catalogue.drawing import demo_catalogue, draw_product


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _png(image: PILImage.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def items() -> list[CatalogueItem]:
    out = []
    for entry in demo_catalogue(12):
        image = draw_product(entry["kind"], color=entry["color"], size=64, transparent=entry["transparent"], seed=entry["seed"])
        out.append(CatalogueItem(entry["name"], _png(image), entry["category"]))
    return out


@pytest.fixture(scope="module")
def data32(items):
    return prepare(items, size=32, min_side=32)


@pytest.fixture(scope="module")
def data64(items):
    return prepare(items, size=64, min_side=32)


def strong(size: int = 32, **kw) -> GanConfig:
    return GanConfig.from_preset("strong", **{"size": size, "batch": 8, "base_channels": 4, "log_every": 1, "z_dim": 16, **kw})


# --- networks --------------------------------------------------------------------------


def test_sle_gates_the_high_resolution_map_channel_by_channel():
    sle = SLE(c_low=16, c_high=8)
    low, high = torch.randn(2, 16, 8, 8), torch.randn(2, 8, 64, 64)
    out = sle(low, high)
    assert out.shape == high.shape
    gate = out / high  # one value per (image, channel), in 0..1
    assert torch.allclose(gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-5)
    assert gate.min() > 0 and gate.max() < 1
    assert sle_pairs(64) == [(4, 32), (8, 64)] and sle_pairs(128) == [(8, 64), (16, 128)]


@pytest.mark.parametrize("size", [64, 128])
def test_fastgan_shapes_and_reconstruction_decoders(size):
    g = FastGenerator(size, z_dim=16, base=4, num_classes=3)
    d = FastDiscriminator(size, base=4, num_classes=3)
    labels = torch.tensor([0, 2, 1])
    images = g(torch.randn(3, 16), labels)
    assert images.shape == (3, 3, size, size) and images.abs().max() <= 1
    assert d(images, labels).shape == (3,)
    logits, (whole, quadrant) = d(images, labels, part=3, rows=2)
    assert logits.shape == (3,) and whole.shape == quadrant.shape == (2, 3, 32, 32)
    target_whole, target_quadrant = reconstruction_targets(images[:2], 3)
    assert target_whole.shape == target_quadrant.shape == (2, 3, 32, 32)
    # Quadrant 3 is the bottom-right: its target is made from that corner only.
    assert torch.allclose(target_quadrant, torch.nn.functional.adaptive_avg_pool2d(images[:2, :, size // 2 :, size // 2 :], 32))
    assert Decoder(8)(torch.randn(1, 8, 8, 8)).shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match="category-conditional"):
        g(torch.randn(1, 16))


def test_fastgan_generator_exports_to_onnx(tmp_path):
    pytest.importorskip("onnx")
    g = FastGenerator(64, z_dim=16, base=4, num_classes=3).eval()
    path = tmp_path / "g.onnx"
    torch.onnx.export(g, (torch.randn(1, 16), torch.tensor([1])), str(path), dynamo=False)
    assert path.stat().st_size > 1000


def test_sync_batchnorm_is_batchnorm_outside_a_process_group():
    torch.manual_seed(0)
    mine, plain = DistributedBatchNorm2d(4), torch.nn.BatchNorm2d(4)
    x = torch.randn(6, 4, 5, 5)
    assert torch.equal(mine(x), plain(x)) and torch.equal(mine.running_var, plain.running_var)


def test_sharded_augmentation_equals_the_whole_batch_augmentation():
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    whole = diff_augment(flip(x, torch.Generator().manual_seed(1)), torch.Generator().manual_seed(2))
    parts = [
        diff_augment(flip(x[r * 4 : (r + 1) * 4], torch.Generator().manual_seed(1), shard=(r, 2)), torch.Generator().manual_seed(2), shard=(r, 2))
        for r in range(2)
    ]
    assert torch.equal(torch.cat(parts), whole)


# --- training --------------------------------------------------------------------------


def _recon_error(trainer: GanTrainer, real: torch.Tensor) -> float:
    with torch.no_grad():
        errors = []
        for part in range(4):
            _, (whole, quadrant) = trainer.D(real, None, part=part)
            target_whole, target_quadrant = reconstruction_targets(real, part)
            errors.append(((whole - target_whole).abs().mean() + (quadrant - target_quadrant).abs().mean()).item())
    return sum(errors) / 4


def test_strong_preset_is_fastgan_and_its_losses_fall(data32):
    trainer = GanTrainer(strong(), data32.train(), device="cpu")
    assert type(trainer.G).__name__ == "FastGenerator" and trainer.config.arch == "fastgan"
    real = data32.train().floats()[:8] * 2 - 1
    before = _recon_error(trainer, real)
    for _ in range(30):
        trainer.train_step()
    after = _recon_error(trainer, real)
    assert all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in trainer.history)
    assert after < 0.8 * before  # D learns to describe real images (on un-augmented ones too)
    loss_d = [h["loss_d"] for h in trainer.history]
    assert sum(loss_d[-5:]) < sum(loss_d[:5])


@pytest.mark.parametrize("size", [64, 128])
def test_strong_step_runs_at_64_and_128_px(items, size):
    data = prepare(items[:6], size=size, min_side=32)
    trainer = GanTrainer(strong(size, batch=4, conditional=True), data.train(), device="cpu")
    losses = trainer.train_step()
    assert set(losses) == {"loss_d", "loss_g", "d_accuracy", "loss_recon"}
    assert trainer.sample_grid().shape[0] == 3


def test_strong_preset_resumes_exactly(data32):
    config = strong(conditional=True)
    straight = GanTrainer(config, data32.train(), device="cpu")
    for _ in range(6):
        straight.train_step()
    first = GanTrainer(config, data32.train(), device="cpu")
    for _ in range(3):
        first.train_step()
    blob = save_checkpoint(first.state_dict())
    torch.manual_seed(4321)
    resumed = GanTrainer(config, data32.train(), device="cpu")
    resumed.load_state_dict(load_checkpoint(blob))
    for _ in range(3):
        resumed.train_step()
    assert resumed.history == straight.history
    for a, b in zip(resumed.G_ema.state_dict().values(), straight.G_ema.state_dict().values()):
        assert torch.equal(a, b)


def test_conditional_generation_and_export_round_trip(data32):
    trainer = GanTrainer(strong(conditional=True), data32.train(), device="cpu")
    trainer.train_step()
    export = load_checkpoint(save_checkpoint(trainer.export()))
    assert export["arch"] == "fastgan"
    sampler = GanSampler(export, device="cpu")
    assert type(sampler.net).__name__ == "FastGenerator"
    hats, mugs = sampler.render([3, 4], "Hats"), sampler.render([3, 4], "Mugs")
    assert hats.shape == (2, 3, 32, 32) and not torch.equal(hats, mugs)  # the label changes the image
    assert torch.equal(sampler.render([4], "Hats")[0], hats[1])


def test_old_dcgan_exports_still_load(data32):
    """Exports from before FastGAN have no "arch" and a config without it: they are DCGAN."""
    trainer = GanTrainer(GanConfig.from_preset("baseline", size=32, batch=8, base_channels=8), data32.train(), device="cpu")
    export = trainer.export()
    del export["arch"]
    export["config"] = {k: v for k, v in export["config"].items() if k not in ("arch", "recon_weight")}
    export["config"]["preset"] = "strong"  # old strong runs were DCGAN too
    sampler = GanSampler(export, device="cpu")
    assert type(sampler.net).__name__ == "Generator"
    assert sampler.render([1]).shape == (1, 3, 32, 32)
    with pytest.raises(ParameterError, match="cannot build"):  # weights from a newer version: refused, clearly
        GanSampler({**export, "arch": "stylegan9"}, device="cpu")


# --- distributed: 2 processes (gloo, CPU) == 1 process -------------------------------


def _distributed_steps(config: GanConfig, data, steps: int, out: str) -> None:
    torch.set_num_threads(1)
    world = distributed.from_env()
    distributed.init(world, "cpu")
    try:
        trainer = distributed.wrap(GanTrainer(config, data, device="cpu", shard=world.shard))
        for _ in range(steps):
            trainer.train_step()
        if distributed.is_main():
            torch.save({"history": trainer.history, "G": trainer.G.state_dict(), "D": trainer.D.state_dict()}, out)
    finally:
        distributed.shutdown()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("preset", ["strong", "baseline"])
def test_two_processes_train_like_one(data32, tmp_path, preset):
    if preset == "strong":
        config = strong(conditional=True)
    else:  # batch norm in G and D: their statistics must cover the whole batch
        config = GanConfig.from_preset("baseline", size=32, batch=8, base_channels=8, log_every=1, conditional=True)
    single = GanTrainer(config, data32.train(), device="cpu")
    for _ in range(4):
        single.train_step()
    out = tmp_path / "rank0.pt"
    distributed.spawn(_distributed_steps, 2, config, data32.train(), 4, str(out))
    double = torch.load(out, weights_only=True)
    # Same draws, same global-batch statistics; only the order of float additions differs
    # (gradient all-reduce, batch-norm sums), so figures agree to ~1e-5 relative.
    for a, b in zip(double["history"], single.history):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-3, abs=1e-4), key
    for name, tensor in single.G.state_dict().items():
        assert torch.allclose(double["G"][name].float(), tensor.float(), rtol=1e-3, atol=1e-4), name
    for name, tensor in single.D.state_dict().items():
        assert torch.allclose(double["D"][name].float(), tensor.float(), rtol=1e-3, atol=1e-4), name
