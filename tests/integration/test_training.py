"""Training through Django: the commands end to end on a tiny catalogue, TrainingRun rows,
checkpoints in storage, exact resume, evaluation, generated variants, the enhance style used
by the upload pipeline, and a training job run by a real worker on the training queue."""
from __future__ import annotations

import io
import math

import pytest
import torch
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from PIL import Image

from imagegen.models import Style, Variant
from imagegen.training.models import TrainingRun
from shop.catalogue.drawing import demo_catalogue, draw_product
from shop.catalogue.models import Category, Product, ProductImage

from ..conftest import wait_for

TINY_GAN = {"size": 32, "batch": 4, "base_channels": 8, "log_every": 1, "device": "cpu"}
TINY_ENHANCE = {"size": 16, "image_size": 64, "batch": 2, "log_every": 1, "device": "cpu"}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def make_catalogue(n: int = 8) -> list[ProductImage]:
    images = []
    for i, entry in enumerate(demo_catalogue(n)):
        category, _ = Category.objects.get_or_create(name=entry["category"], slug=entry["category"].lower())
        product = Product.objects.create(category=category, name=entry["name"], slug=f"p-{i}", price=entry["price"])
        image = ProductImage(product=product)
        drawing = draw_product(entry["kind"], color=entry["color"], size=64, transparent=entry["transparent"], seed=entry["seed"])
        image.image.save(f"p{i}.png", ContentFile(png(drawing)), save=True)
        images.append(image)
    return images


def train(kind: str, **options) -> tuple[TrainingRun, str]:
    out = io.StringIO()
    call_command("imagegen_train", kind, stdout=out, **options)
    return TrainingRun.objects.order_by("-id").first(), out.getvalue()


@pytest.mark.django_db
def test_gan_command_end_to_end_records_the_run_evaluates_and_generates(admin_client):
    make_catalogue()
    run, output = train("gan", steps=4, seed=3, conditional=True, **TINY_GAN)

    assert run.status == TrainingRun.Status.DONE and (run.step, run.total_steps) == (4, 4)
    assert "4/4" in output and f"Run #{run.pk} done" in output
    assert [h["step"] for h in run.history] == [1, 2, 3, 4]
    assert all(math.isfinite(h["loss_d"]) and math.isfinite(h["loss_g"]) for h in run.history)
    assert run.config["preset"] == "strong" and run.config["conditional"] is True and run.seed == 3
    assert run.device_used == "cpu fp32" and run.steps_per_second > 0
    assert run.dataset["summary"].startswith("8 of 8 images kept")
    assert run.dataset["split"]["train"] + run.dataset["split"]["held_out"] == 8
    assert len(run.dataset["split"]["labels"]) == 6  # the demo's categories, via TRAINING_LABEL
    for field in (run.checkpoint, run.weights, run.samples):
        assert field.name.startswith(f"imagegen/training/{run.pk}/") and field.storage.exists(field.name)
    assert Image.open(run.samples.open("rb")).size == (274, 274)  # 8x8 grid of 32 px samples

    out = io.StringIO()
    call_command("imagegen_evaluate", "gan", run=run.pk, samples=16, stdout=out)
    run.refresh_from_db()
    assert "randconv64-v1" in out.getvalue() and "KID" in out.getvalue() and "FID" not in out.getvalue().replace("not FID", "")
    assert run.metrics["generated"] == 16 and run.metrics["step"] == 4
    assert 0 <= run.metrics["d_accuracy_held_out"] <= 1

    page = admin_client.get(f"/admin/imagegen/trainingrun/{run.pk}/change/").content.decode()
    assert page.count("<polyline") == 4  # loss_d, loss_g, d_accuracy, loss_recon (strong: FastGAN's D): server-drawn curves
    assert run.samples.url in page and "randconv64-v1" in page and "Precision" in page
    assert "cdn" not in page.lower()

    category = run.dataset["split"]["labels"][0]
    out = io.StringIO()
    call_command("imagegen_generate", run=run.pk, n=3, category=category, seed=10, stdout=out)
    generated = list(Variant.objects.for_object(run).order_by("id"))
    assert len(generated) == 3 and "3 of 3 images" in out.getvalue()
    for variant in generated:
        assert variant.status == Variant.Status.READY and not variant.is_published  # an admin approves
        assert variant.field_name == "weights" and (variant.width, variant.height) == (32, 32)
        assert variant.metrics["nearest_train_distance"] >= 0.02
        assert variant.file.storage.exists(variant.file.name)
    assert sorted(v.parameters["seed"] for v in generated) == [10, 11, 12]
    call_command("imagegen_generate", run=run.pk, n=3, category=category, seed=10, stdout=io.StringIO())
    assert Variant.objects.for_object(run).count() == 3  # same seeds: the same rows

    run.delete()
    assert not Variant.objects.filter(pk__in=[v.pk for v in generated]).exists()


@pytest.mark.django_db
def test_resume_gives_the_same_losses_as_an_uninterrupted_run():
    make_catalogue(6)
    straight, _ = train("gan", steps=6, seed=1, preset="baseline", **TINY_GAN)
    interrupted, _ = train("gan", steps=3, seed=1, preset="baseline", **TINY_GAN)
    first_checkpoint = interrupted.checkpoint.name

    resumed, output = train("gan", resume=str(interrupted.pk), steps=6, device="cpu")

    assert resumed.pk == interrupted.pk and resumed.step == 6
    assert resumed.history == straight.history
    assert resumed.checkpoint.name != first_checkpoint
    assert not resumed.checkpoint.storage.exists(first_checkpoint)  # only the latest is kept
    with pytest.raises(CommandError, match="keeps its configuration"):
        train("gan", resume=str(resumed.pk), size=64)


@pytest.mark.django_db
def test_enhance_command_publishes_a_style_the_pipeline_uses(admin_client):
    from imagegen.jobs import process_source
    from imagegen.requests import request_variants

    images = make_catalogue(6)
    run, output = train("enhance", steps=3, **TINY_ENHANCE)
    assert run.status == TrainingRun.Status.DONE and "enhance-4x" in output

    out = io.StringIO()
    call_command("imagegen_evaluate", "enhance", stdout=out)
    run.refresh_from_db()
    table = out.getvalue()
    assert "bicubic" in table and "lanczos" in table and "data range 1.0" in table
    assert set(run.metrics) >= {"gan", "bicubic", "lanczos"} and run.metrics["gan"]["psnr_y"] > 10

    # issue 14: the change page shows the evaluation figures (the table raised a ValueError before)
    page = admin_client.get(f"/admin/imagegen/trainingrun/{run.pk}/change/").content.decode()
    assert "PSNR-Y dB" in page and "Not evaluated yet" not in page
    for method in ("gan", "bicubic", "lanczos"):
        m = run.metrics[method]
        assert f"<td>{method}</td><td>{m['psnr_y']:.2f}</td><td>{m['ssim_y']:.4f}</td><td>{m['psnr_rgb']:.2f}</td>" in page

    style = Style.objects.get(slug="enhance-4x")
    assert style.processor == "enhance" and style.reference
    small = images[0]
    small.image.save("small.png", ContentFile(png(Image.new("RGB", (40, 30), (200, 30, 30)))), save=True)
    (variant,) = request_variants(small, "image", [style], format="png")
    process_source(variant.content_type_id, variant.object_id, variant.field_name, variant.source_hash)
    variant.refresh_from_db()
    assert variant.status == Variant.Status.READY, variant.error
    assert (variant.width, variant.height) == (160, 120)


@pytest.mark.django_db
def test_enhance_defaults_are_faithful_and_adversarial_is_an_option():
    make_catalogue(6)
    faithful, _ = train("enhance", steps=4, **TINY_ENHANCE)
    assert faithful.config["arch"] == "rlfn" and faithful.config["adv_weight"] == 0 and faithful.config["schedule"] == 4
    assert all(h["loss_d"] == 0 for h in faithful.history)
    sharp, _ = train("enhance", steps=4, adversarial=True, **TINY_ENHANCE)
    assert sharp.status == TrainingRun.Status.DONE and sharp.config["adv_weight"] > 0 and sharp.config["adv_start"] == 1
    assert sharp.history[-1]["loss_d"] > 0
    with pytest.raises(CommandError, match="--adversarial is for enhance runs only"):
        train("gan", steps=2, adversarial=True, **TINY_GAN)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_the_enhance_styles_render_on_a_real_worker_at_4x_and_2x(start_worker):
    from imagegen.requests import request_variants

    images = make_catalogue(6)
    train("enhance", steps=3, **TINY_ENHANCE)
    four = Style.objects.get(slug="enhance-4x")
    with four.reference.open("rb") as stream:
        weights = stream.read()
    two = Style(slug="enhance-2x", name="Enhance 2x", processor="enhance", parameters={"scale": 2})
    two.reference.save("enhance-2x.pt", ContentFile(weights), save=True)
    small = images[0]
    small.image.save("small.png", ContentFile(png(Image.new("RGB", (40, 30), (200, 30, 30)))), save=True)
    rows = request_variants(small, "image", [four, two], format="png")

    worker = start_worker()

    def settled():
        fresh = [Variant.objects.get(pk=v.pk) for v in rows]
        return fresh if all(v.status in (Variant.Status.READY, Variant.Status.FAILED) for v in fresh) else None

    done = wait_for(settled, timeout=120, message="the enhance variants")
    assert [v.status for v in done] == ["ready", "ready"], ([v.error for v in done], worker.output())
    assert [(v.width, v.height) for v in done] == [(160, 120), (80, 60)]


@pytest.mark.django_db
def test_command_errors_are_clear():
    with pytest.raises(CommandError, match="No usable images"):
        train("gan", steps=2, **TINY_GAN)
    assert TrainingRun.objects.get().status == TrainingRun.Status.FAILED
    with pytest.raises(CommandError, match="size must be one of"):
        train("gan", steps=2, **{**TINY_GAN, "size": 48})
    with pytest.raises(CommandError, match="No enhance training run"):
        call_command("imagegen_evaluate", "enhance", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No usable images"):
        train("gan", resume="latest")  # the failed run is the one to resume
    TrainingRun.objects.all().delete()
    with pytest.raises(CommandError, match="No unfinished gan run"):
        train("gan", resume="latest")


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_queued_training_runs_on_a_training_worker(start_worker):
    make_catalogue(6)
    run, output = train("gan", steps=3, queue=True, **TINY_GAN)
    assert run.status == TrainingRun.Status.QUEUED and "imagegen-train" in output

    worker = start_worker("imagegen-train")
    wait_for(lambda: TrainingRun.objects.get(pk=run.pk).status in {"done", "failed"}, timeout=120, message="the training job")
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.DONE, (run.error, worker.output())
    assert run.step == 3 and run.weights and run.job_id == f"imagegen-train-{run.pk}"


GAN_FIGURES = {
    "held_out_images": 4, "train_images": 12, "generated": 16, "embedding": "randconv64-v1", "memorisation_space": "thumb32",
    "kid": 0.0412, "kid_real_floor": -0.0526, "kid_train": 0.0391, "frechet": 12.5, "swd": 0.08, "pr_k": 3,
    "precision": 0.5, "recall": 0.25, "d_accuracy_held_out": 0.6, "d_accuracy_train": 0.7,
    "nearest_train_min": 0.05, "nearest_train_median": 0.1, "memorisation_threshold": 0.02, "memorised_share": 0.0, "step": 4,
}


@pytest.mark.django_db
def test_a_negative_kid_is_explained_where_it_is_shown(admin_client):
    """Issue 14: the unbiased KID estimate of two near-identical sets scatters around 0 and can be
    negative; the table and the admin say so instead of printing "-0.0526" bare."""
    from imagegen.training.evaluation import format_table

    table = format_table("gan", GAN_FIGURES)
    assert "-0.0526" in table and "unbiased" in table and "negative" in table and "read it as 0" in table
    assert "unbiased" not in format_table("gan", {**GAN_FIGURES, "kid_real_floor": 0.001})  # no note when not needed

    run = TrainingRun.objects.create(kind=TrainingRun.Kind.GAN, metrics=GAN_FIGURES, status=TrainingRun.Status.DONE)
    page = admin_client.get(f"/admin/imagegen/trainingrun/{run.pk}/change/").content.decode()
    assert "-0.0526" in page and "unbiased" in page and "read it as 0" in page
