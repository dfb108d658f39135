"""The backdrop GAN (engine): sizes, training, exact resume, memorisation, generation and the
``background`` processor with a generator as its reference file."""
from __future__ import annotations

import copy
import dataclasses
import io
import math

import pytest
import torch
from PIL import Image, ImageDraw

from imagegen.engine import render
from imagegen.engine.errors import EngineError, ParameterError
from imagegen.engine.io import decode
from imagegen.engine.networks.backdrop import BackdropGenerator, PatchDiscriminator
from imagegen.engine.training.backdrop import (
    STYLE_PARAMS, BackdropConfig, BackdropTrainer, backdrop_config, generate, generator_from_export, is_backdrop_export,
    prepare_backdrops, random_crops,
)
from imagegen.engine.training.backdrop_eval import evaluate_backdrops, generator_sampler

TINY = BackdropConfig(crop=16, batch=8, photo_short=64, log_every=5, lr_g=5e-4, lr_d=2e-3)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _stripes(c1: tuple[int, int, int], c2: tuple[int, int, int], period: int, size: int = 96) -> bytes:
    x = torch.arange(size)
    m = ((x[None, :] + x[:, None]) // period % 2).float()
    rgb = torch.tensor(c1).view(3, 1, 1) * m + torch.tensor(c2).view(3, 1, 1) * (1 - m)
    return _png(Image.fromarray(rgb.permute(1, 2, 0).byte().numpy()))


@pytest.fixture(scope="module")
def data():
    items = [("red", _stripes((220, 40, 40), (250, 200, 200), 6)), ("blue", _stripes((30, 60, 200), (20, 20, 60), 10))]
    return prepare_backdrops(items, photo_short=64, min_side=32)


def _export(trainer: BackdropTrainer) -> bytes:
    buf = io.BytesIO()
    torch.save(trainer.export(), buf)
    return buf.getvalue()


def test_the_generator_is_fully_convolutional_and_the_discriminator_judges_patches():
    g, d = BackdropGenerator(3), PatchDiscriminator(3)
    looks = torch.tensor([0, 2])
    for h, w in ((2, 2), (3, 5), (7, 4)):
        out = g(torch.randn(2, g.z_channels, h, w), looks)
        assert out.shape == (2, 3, h * 8, w * 8) and out.abs().max() <= 1
    assert d(torch.randn(2, 3, 64, 64), looks).shape == (2, 1, 8, 8)
    assert d(torch.randn(2, 3, 32, 48), looks).shape == (2, 1, 4, 6)


def test_the_second_design_is_fully_convolutional_with_regular_periodic_channels():
    g = BackdropGenerator(3, upsample="bilinear", rgb_skips=True, periodic=4)
    looks = torch.tensor([0, 2])
    for h, w in ((2, 2), (3, 5), (7, 4)):
        out = g(torch.randn(2, g.z_channels, h, w), looks)
        assert out.shape == (2, 3, h * 8, w * 8) and out.abs().max() <= 1
    z = torch.randn(2, g.z_channels, 6, 9)
    waves = g._periodic(z, g.look(looks))
    assert waves.shape == (2, 4, 6, 9) and waves.abs().max() <= 1
    # a plane wave: every row (and column) is its neighbour shifted by the same phase step
    k = (torch.tanh(g.waves(g.look(looks))).view(2, 4, 2) * torch.pi)
    assert torch.allclose(torch.sin(k[:, :, 0, None] * torch.arange(9) + k[:, :, 1, None] * 2 + z[:, :4, 0, :1] * torch.pi),
                          waves[:, :, 2], atol=1e-5)
    with pytest.raises(ValueError, match="upsample"):
        BackdropGenerator(3, upsample="bicubic")
    with pytest.raises(ValueError, match="z_channels"):
        BackdropGenerator(3, z_channels=4, periodic=5)


def test_photos_are_prepared_and_the_bad_ones_reported():
    good = _stripes((10, 10, 10), (200, 200, 200), 4, size=80)
    data = prepare_backdrops([("a", good), ("a-again", good), ("tiny", _stripes((0, 0, 0), (9, 9, 9), 2, size=20)), ("junk", b"nope")],
                             photo_short=64, min_side=32)
    assert data.names == ["a"] and data.photos[0].shape == (3, 64, 64) and data.photos[0].dtype == torch.uint8
    r = data.report
    assert (r.collected, r.kept) == (4, 1) and r.exact_duplicates == [("a-again", "a")]
    assert [k for k, _ in r.too_small] == ["tiny"] and [k for k, _ in r.corrupt] == ["junk"]
    with pytest.raises(ValueError, match="No usable backdrop photo"):
        prepare_backdrops([("junk", b"nope")])
    with pytest.raises(EngineError, match="multiple of 8"):
        BackdropConfig(crop=20)


def test_training_teaches_the_discriminator_and_brings_samples_closer(data):
    trainer = BackdropTrainer(TINY, data, device="cpu")
    untrained = copy.deepcopy(trainer.G).eval()
    g = torch.Generator().manual_seed(7)
    real, looks = random_crops(data.photos, g, 32, TINY.crop, TINY.scales[:1])
    z = torch.randn(32, TINY.z_channels, trainer.cells, trainer.cells, generator=g)

    @torch.no_grad()
    def gap() -> float:  # D's mean score on real crops minus on the untrained generator's
        return float(trainer.D(real * 2 - 1, looks).mean() - trainer.D(untrained(z, looks), looks).mean())

    def kid() -> float:
        return evaluate_backdrops(generator_sampler(trainer.G, TINY), data, TINY, samples=32)["kid"]

    before, gaps = kid(), [gap()]
    for _ in range(6):
        for _ in range(10):
            trainer.train_step()
        gaps.append(gap())
    assert len(trainer.history) == 12 and all(math.isfinite(h["loss_d"]) for h in trainer.history)
    # The training losses hover near the hinge's chance level once G follows D (DiffAugment
    # keeps D from winning), so that D learnt shows on what it was first shown: it scores
    # real crops above the untrained generator's (the score swings from step to step in a GAN,
    # hence the mean of the last three checks).
    assert sum(gaps[-3:]) / 3 > gaps[0] + 0.25
    assert kid() < 0.5 * before  # ...and G's crops moved towards the real ones


def test_resume_is_exact(data):
    straight = BackdropTrainer(TINY, data, device="cpu")
    for _ in range(7):
        straight.train_step()

    first = BackdropTrainer(TINY, data, device="cpu")
    for _ in range(4):
        first.train_step()
    state = torch.load(io.BytesIO(_save(first.state_dict())), weights_only=True)
    resumed = BackdropTrainer(TINY, data, device="cpu")
    resumed.load_state_dict(state)
    for _ in range(3):
        resumed.train_step()
    assert resumed.history == straight.history and resumed.step == 7
    for a, b in zip(resumed.G_ema.state_dict().values(), straight.G_ema.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(resumed.D.state_dict().values(), straight.D.state_dict().values()):
        assert torch.equal(a, b)


def _save(state) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def test_memorisation_is_caught(data):
    """A "generator" that hands back crops of its training photos is flagged; a network that
    makes its own images (here untrained: no copy of anything) is not."""

    def copier(looks: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return random_crops(data.photos, g, len(looks), TINY.crop, TINY.scales)[0]

    copied = evaluate_backdrops(copier, data, TINY, samples=64)
    assert copied["memorised"] and copied["memorised_share"] > 0.8
    assert copied["nearest_crop_median"] <= copied["memorisation_threshold"]

    trainer = BackdropTrainer(TINY, data, device="cpu")
    trainer.G.to_rgb.bias.data = torch.tensor([0.3, -0.2, 0.1])  # not flat grey: a texture of its own
    own = evaluate_backdrops(generator_sampler(trainer.G, TINY), data, TINY, samples=64)
    assert not own["memorised"] and own["memorised_share"] < 0.2
    assert own["nearest_crop_median"] > 2 * copied["nearest_crop_median"]
    for figures in (copied, own):
        assert figures["embedding"] == "randconv64-v1" and figures["generated"] == 64
        assert 0 <= figures["diversity"] and 0 <= figures["flat_share"] <= 1


def test_generation_is_any_size_and_deterministic_per_seed(data):
    trainer = BackdropTrainer(TINY, data, device="cpu")
    for _ in range(2):
        trainer.train_step()
    export = _export(trainer)
    assert is_backdrop_export(export) and not is_backdrop_export(data and _stripes((0, 0, 0), (1, 1, 1), 2))
    net, config = generator_from_export(export)
    assert config == TINY
    a = generate(net, config, 333, 517, seed=5)
    assert a.shape == (3, 517, 333) and 0 <= float(a.min()) and float(a.max()) <= 1
    assert torch.equal(a, generate(net, config, 333, 517, seed=5))
    assert not torch.equal(a, generate(net, config, 333, 517, seed=6))
    assert generate(net, config, 40, 24, seed=1).shape == (3, 24, 40)  # smaller than render_short: native size

    # an export written before the generator had options loads as the first design it was
    first = BackdropTrainer(dataclasses.replace(TINY, upsample="nearest", rgb_skips=False, periodic=0), data, device="cpu")
    legacy = torch.load(io.BytesIO(_export(first)), weights_only=True)
    for key in ("upsample", "rgb_skips", "periodic"):
        legacy["config"].pop(key)
    buf = io.BytesIO()
    torch.save(legacy, buf)
    old_net, old_config = generator_from_export(buf.getvalue())
    assert (old_config.upsample, old_config.rgb_skips, old_config.periodic) == ("nearest", False, 0)
    assert old_net.upsample == "nearest" and old_net.skips is None and old_net.waves is None
    # a run row saved before the options (its resume builds the first design), and a new one
    assert backdrop_config({"lr_d": 2e-4}).periodic == 0 and backdrop_config({}).upsample == "nearest"
    assert backdrop_config(dataclasses.asdict(TINY)) == TINY

    gan_like = io.BytesIO()
    torch.save({"kind": "gan", "config": {}}, gan_like)
    with pytest.raises(EngineError, match="not a backdrop generator"):
        generator_from_export(gan_like.getvalue())


def _product(color: tuple[int, int, int]) -> bytes:
    image = Image.new("RGBA", (120, 160), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((20, 20, 100, 150), fill=(*color, 255))
    return _png(image)


def test_the_background_processor_generates_a_scene_per_upload(data):
    trainer = BackdropTrainer(TINY, data, device="cpu")
    trainer.train_step()
    export = _export(trainer)
    red, blue = decode(_product((200, 30, 30))), decode(_product((30, 30, 200)))
    one = render(red, "background", STYLE_PARAMS, reference=export)
    again = render(decode(_product((200, 30, 30))), "background", STYLE_PARAMS, reference=export)
    other = render(blue, "background", STYLE_PARAMS, reference=export)
    assert torch.equal(one.rgb, again.rgb)  # the same upload: the same scene
    assert one.info["backdrop_seed"] != other.info["backdrop_seed"]
    w, h = one.info["frame"]
    assert (one.width, one.height) == (w, h) and abs(w / h - 0.8) < 0.02
    corner_one, corner_other = one.rgb[:, :8, :8], other.rgb[:, :8, :8]
    assert not torch.allclose(corner_one, corner_other)  # each product its own scene
    # the product's own pixels are copied exactly, with a contact shadow under it
    l, t, r, b = one.info["product_box"]
    assert torch.allclose(one.rgb[:, (t + b) // 2, (l + r) // 2], torch.tensor([200, 30, 30]) / 255, atol=1e-6)
    # a photo stays a photo
    photo = render(red, "background", {**STYLE_PARAMS, "scene": "flat"}, reference=_stripes((0, 90, 0), (0, 90, 0), 4))
    assert "backdrop_seed" not in photo.info
    assert torch.allclose(photo.rgb[:, :4, :4], torch.tensor([0, 90, 0]).view(3, 1, 1) / 255, atol=2e-2)


@pytest.mark.parametrize("design", [{}, {"upsample": "bilinear", "rgb_skips": True, "periodic": 4}], ids=["first", "second"])
def test_the_generator_exports_to_onnx_at_any_size(design):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the CPU backend (requirements.txt)")
    pytest.importorskip("onnx", reason="torch.onnx.export needs the onnx package")
    net = BackdropGenerator(3, **design).eval()
    buf = io.BytesIO()
    torch.onnx.export(net, (torch.randn(1, 16, 5, 7), torch.tensor([1])), buf, input_names=["z", "look"], output_names=["rgb"],
                      dynamic_axes={"z": {2: "h", 3: "w"}}, opset_version=17, dynamo=False)
    session = ort.InferenceSession(buf.getvalue())
    z, look = torch.randn(1, 16, 9, 4), torch.tensor([2])
    (out,) = session.run(None, {"z": z.numpy(), "look": look.numpy()})
    assert out.shape == (1, 3, 72, 32)
    assert abs(out - net(z, look).detach().numpy()).max() < 1e-5


def test_a_tabletop_scene_has_a_wall_and_a_floor_in_perspective():
    from imagegen.engine.backdrop import tabletop

    g = torch.Generator().manual_seed(0)
    back = (0.5 + 0.25 * torch.randn(3, 200, 160, generator=g)).clamp(0, 1)  # a grainy backdrop
    scene = tabletop(back, horizon=120)
    assert scene.shape == back.shape and 0 <= float(scene.min()) and float(scene.max()) <= 1
    wall, floor = scene[:, :120], scene[:, 120:]
    assert float(wall.mean()) > float(floor.mean())  # the wall is lit, the table top shaded
    assert float(wall.std()) < 0.5 * float(back.std())  # the wall is defocused behind the table
    # the floor is sharp at the front and defocused with distance
    assert float(floor[:, -10:].std()) > 2 * float(floor[:, 2:12].std())
    assert torch.equal(scene, tabletop(back, horizon=120))
    assert tabletop(back, horizon=0).shape == back.shape and tabletop(back, horizon=500).shape == back.shape


def test_the_scene_parameter_is_checked_and_keeps_the_product_exact():
    image = decode(_product((200, 30, 30)))
    flat = render(image, "background", {"aspect": "4:5", "align": "bottom", "color": "#808080"})
    table = render(image, "background", {"aspect": "4:5", "align": "bottom", "color": "#808080", "scene": "tabletop"})
    l, t, r, b = table.info["product_box"]
    assert torch.equal(table.rgb[:, (t + b) // 2, l + 5 : r - 5], flat.rgb[:, (t + b) // 2, l + 5 : r - 5])
    assert float(table.rgb[:, -2].mean()) < float(table.rgb[:, 1].mean())  # the table top below, shaded
    with pytest.raises(ParameterError, match="scene. must be one of .flat., .tabletop."):
        render(image, "background", {"scene": "beach"})
