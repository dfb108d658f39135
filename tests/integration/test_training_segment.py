"""``imagegen_train segment`` end to end on a tiny catalogue of transparent PNGs: the run, its
files, resume, evaluation on its admin page, and the ``cutout`` style whose weights the
engine's ``segment()`` loads."""
from __future__ import annotations

import io

import pytest
import torch
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from PIL import Image

from imagegen.engine import decode
from imagegen.engine.segment import segment
from imagegen.models import Style
from imagegen.training.models import TrainingRun
from shop.catalogue.drawing import demo_catalogue, draw_product
from shop.catalogue.models import Category, Product, ProductImage

TINY = {"size": 64, "batch": 2, "log_every": 1, "device": "cpu"}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def make_catalogue(n: int, *, transparent: bool = True, prefix: str = "s") -> list[ProductImage]:
    images = []
    for i, entry in enumerate(demo_catalogue(n)):
        category, _ = Category.objects.get_or_create(name=entry["category"], slug=entry["category"].lower())
        product = Product.objects.create(category=category, name=entry["name"], slug=f"{prefix}-{i}", price=entry["price"])
        image = ProductImage(product=product)
        drawing = draw_product(entry["kind"], color=entry["color"], size=96, transparent=transparent, seed=entry["seed"])
        name, data = (f"s{i}.png", encoded(drawing)) if transparent else (f"s{i}.jpg", encoded(drawing.convert("RGB"), "JPEG"))
        image.image.save(name, ContentFile(data), save=True)
        images.append(image)
    return images


def train(**options) -> tuple[TrainingRun, str]:
    out = io.StringIO()
    call_command("imagegen_train", "segment", stdout=out, **options)
    return TrainingRun.objects.order_by("-id").first(), out.getvalue()


@pytest.fixture
def backgrounds(tmp_path):
    folder = tmp_path / "backgrounds"
    folder.mkdir()
    Image.effect_mandelbrot((120, 90), (-2, -1.2, 1, 1.2), 60).convert("RGB").save(folder / "fractal.png")
    Image.radial_gradient("L").convert("RGB").save(folder / "glow.jpg")
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.mark.django_db
def test_segment_command_trains_evaluates_and_publishes_the_cutout_style(admin_client, backgrounds):
    make_catalogue(5)
    jpeg = make_catalogue(1, transparent=False, prefix="jpeg")[0]  # listed as "without transparency"
    Style.objects.create(slug="cutout", name="Cut-out (shop)", processor="cutout", parameters={"trim": True, "margin": 0.05})

    run, output = train(steps=3, backgrounds=str(backgrounds), **TINY)
    assert run.status == TrainingRun.Status.DONE, run.error
    assert run.kind == "segment" and run.step == 3 and len(run.history) == 3
    assert run.checkpoint and run.weights and run.samples
    assert run.dataset["split"]["backgrounds"] == ["fractal", "glow"]
    assert run.dataset["split"]["train"] + run.dataset["split"]["held_out"] == 5
    assert [key for key, _ in run.dataset["report"]["no_transparency"]] == [f"shop.productimage.image:{jpeg.pk}"]
    assert "cutout" in output and "imagegen_evaluate segment" in output

    # published: the other fields kept, the weights as the reference file, loadable by segment()
    style = Style.objects.get(slug="cutout")
    assert style.processor == "cutout" and style.name == "Cut-out (shop)" and style.parameters == {"trim": True, "margin": 0.05}
    with style.reference.open("rb") as stream:
        weights = stream.read()
    with run.weights.open("rb") as stream:
        assert stream.read() == weights
    photo = decode(encoded(draw_product("mug", color=(30, 120, 200), size=96).convert("RGB"), "JPEG"))
    mask = segment(photo, weights=weights)
    assert mask.shape == (1, 96, 96) and 0 <= float(mask.min()) and float(mask.max()) <= 1

    # resume extends the run to a new total
    run, _ = train(resume=str(run.pk), steps=4)
    assert run.status == TrainingRun.Status.DONE and run.step == 4 and len(run.history) == 4

    out = io.StringIO()
    call_command("imagegen_evaluate", "segment", str(run.pk), stdout=out)
    table = out.getvalue()
    assert "builtin" in table and "finetuned" in table and "white" in table and "photo" in table and "alpha MAE" in table
    run.refresh_from_db()
    m = run.metrics
    assert m["step"] == 4 and m["held_out_images"] == run.dataset["split"]["held_out"]
    for name in ("builtin", "finetuned"):
        assert set(m[name]) >= {"white", "photo", "per_background_iou"}
        assert 0 <= m[name]["photo"]["iou"] <= 1 and m[name]["photo"]["images"] == 2 * m["held_out_images"]

    page = admin_client.get(f"/admin/imagegen/trainingrun/{run.pk}/change/").content.decode()
    assert "min IoU" in page and "built-in mask, fine-tuned mask, truth" in page
    f = m["finetuned"]["photo"]
    assert f"<td>photo</td><td>finetuned</td><td>{f['iou']:.3f}</td><td>{f['iou_min']:.3f}</td><td>{f['mae']:.4f}</td>" in page
    listing = admin_client.get("/admin/imagegen/trainingrun/").content.decode()
    assert f"IoU on photos {f['iou']:.3f}" in listing

    # photos the run never saw
    unseen = backgrounds.parent / "unseen"
    unseen.mkdir()
    Image.linear_gradient("L").convert("RGB").save(unseen / "ramp.png")
    call_command("imagegen_evaluate", "segment", run=run.pk, backgrounds=str(unseen), stdout=io.StringIO())
    run.refresh_from_db()
    assert run.metrics["backgrounds"] == ["ramp"] and str(unseen) in run.metrics["background_origin"]
    assert set(run.metrics["finetuned"]["per_background_iou"]) == {"white", "ramp"}  # PostgreSQL's jsonb keeps no key order
    with pytest.raises(CommandError, match="for segment runs only"):
        call_command("imagegen_evaluate", "enhance", backgrounds=str(unseen), stdout=io.StringIO())


def test_the_command_default_is_the_engines():
    from imagegen.engine.training.segment import DEFAULT_STEPS
    from imagegen.training.runner import default_steps

    assert default_steps("segment") == DEFAULT_STEPS


@pytest.mark.django_db
def test_segment_needs_transparent_product_photos():
    make_catalogue(3, transparent=False)
    with pytest.raises(CommandError, match="needs transparent product photos"):
        train(steps=2, **TINY)
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.FAILED and "3 without transparency" in run.error


@pytest.mark.django_db
def test_segment_trains_on_procedural_backgrounds_without_photos(settings):
    settings.IMAGEGEN = {**settings.IMAGEGEN, "SEGMENT_BACKGROUNDS": None}
    make_catalogue(3)
    run, _ = train(steps=2, **TINY)
    assert run.status == TrainingRun.Status.DONE
    assert run.dataset["split"]["backgrounds"] == [] and "procedural" in run.dataset["split"]["background_origin"]
    with pytest.raises(CommandError, match="for segment runs only"):
        call_command("imagegen_train", "gan", backgrounds="/tmp", steps=1, stdout=io.StringIO())
