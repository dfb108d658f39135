"""``imagegen_train backdrop --from-folder DIR`` end to end on three small generated photos: the
run, its files, resume, evaluation on its admin page, the ``generated-backdrop`` style, and an
upload restyled with it by a real worker."""
from __future__ import annotations

import io

import pytest
import torch
from django.core.management import CommandError, call_command
from PIL import Image

from imagegen.engine.training.backdrop import STYLE_PARAMS, is_backdrop_export
from imagegen.models import Style, Variant
from imagegen.requests import request_variants
from imagegen.training.models import TrainingRun
from shop.catalogue.drawing import draw_product

from ..conftest import wait_for
from .helpers import make_product, upload

TINY = {"size": 16, "batch": 2, "log_every": 1, "device": "cpu"}


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


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "backdrops"
    folder.mkdir()
    Image.effect_mandelbrot((160, 130), (-2, -1.2, 1, 1.2), 60).convert("RGB").save(folder / "fractal.png")
    Image.radial_gradient("L").convert("RGB").resize((150, 150)).save(folder / "glow.jpg")
    Image.effect_noise((140, 140), 40).convert("RGB").save(folder / "grain.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def train(**options) -> tuple[TrainingRun, str]:
    out = io.StringIO()
    call_command("imagegen_train", "backdrop", stdout=out, **options)
    return TrainingRun.objects.order_by("-id").first(), out.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_backdrop_command_trains_publishes_and_a_real_worker_uses_the_style(admin_client, photos, worker):
    run, output = train(steps=3, from_folder=str(photos), **TINY)
    assert run.status == TrainingRun.Status.DONE, run.error
    assert run.kind == "backdrop" and run.step == 3 and len(run.history) == 3
    assert run.checkpoint and run.weights and run.samples
    assert run.dataset["split"]["photos"] == ["fractal", "glow", "grain"] and str(photos) in run.dataset["split"]["origin"]
    assert "generated-backdrop" in output and "imagegen_evaluate backdrop" in output

    style = Style.objects.get(slug="generated-backdrop")
    assert style.processor == "background" and style.parameters == STYLE_PARAMS
    with style.reference.open("rb") as stream:
        weights = stream.read()
    with run.weights.open("rb") as stream:
        assert stream.read() == weights and is_backdrop_export(weights)

    run, _ = train(resume=str(run.pk), steps=4)
    assert run.status == TrainingRun.Status.DONE and run.step == 4 and len(run.history) == 4

    out = io.StringIO()
    call_command("imagegen_evaluate", "backdrop", str(run.pk), samples=24, stdout=out)
    table = out.getvalue()
    assert "Nearest training crop" in table and "KID" in table and "Flagged as memorised" in table
    run.refresh_from_db()
    m = run.metrics
    assert m["step"] == 4 and m["generated"] == 24 and m["looks"] == ["fractal", "glow", "grain"]
    page = admin_client.get(f"/admin/imagegen/trainingrun/{run.pk}/change/").content.decode()
    assert "a generated backdrop of its look" in page and f"{m['kid']:.4f}" in page and run.samples.url in page
    assert "nearest crop" in admin_client.get("/admin/imagegen/trainingrun/").content.decode()

    # an upload restyled with the published style, by the worker subprocess
    style.refresh_from_db()
    photo = draw_product("mug", color=(200, 60, 40), size=160, transparent=True, seed=3)
    image = upload(make_product("Mug"), _png(photo))
    (row,) = request_variants(image, "image", [style], size=128)

    def finished():
        v = Variant.objects.get(pk=row.pk)
        return v if v.status in (Variant.Status.READY, Variant.Status.FAILED) else None

    variant = wait_for(finished, timeout=180, message="the generated-backdrop variant")
    assert variant.status == Variant.Status.READY, (variant.error, worker.output())
    assert max(variant.width, variant.height) == 128 and abs(variant.width / variant.height - 0.8) < 0.03
    with variant.file.open("rb") as stream:
        result = Image.open(stream).convert("RGB")
    corner = result.getpixel((2, 2))
    assert corner != (255, 255, 255)  # a generated scene, not the default white


@pytest.mark.django_db
def test_the_folder_flags_belong_to_their_kinds(photos, tmp_path):
    with pytest.raises(CommandError, match="for backdrop runs only"):
        call_command("imagegen_train", "gan", from_folder=str(photos), steps=1, stdout=io.StringIO())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CommandError, match="No backdrop photos"):
        train(steps=1, from_folder=str(empty), **TINY)
    assert TrainingRun.objects.get().status == TrainingRun.Status.FAILED


def test_the_command_default_is_the_engines():
    from imagegen.engine.training.backdrop import DEFAULT_STEPS
    from imagegen.training.runner import default_steps

    assert default_steps("backdrop") == DEFAULT_STEPS
