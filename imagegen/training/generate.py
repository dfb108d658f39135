"""Generating product images with a trained GAN run and storing them as variants.

The "source" of a generated image is the trained generator, so each image is a Variant of the
TrainingRun: content type TrainingRun, object id = run id, field ``weights``, source hash =
sha256 of the weights file, spec ``generate-<category>-<seed>``. The same run, category, seed
and format always give the same image and the same row (the unique constraint makes a
repeated request a no-op). Rows are written only once their file exists, already ``ready``,
so the upload pipeline (reconcile, process_source) never sees them.

Generated images show products that do not exist: they are never auto-published; an admin
approves them in the variant list. Samples the memorisation guard rejects (too close to a
training image) are not stored; the job reports how many there were.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..conf import conf
from ..models import Variant
from ..specs import normalise_format
from ..storage import save_content
from .models import TrainingRun

logger = logging.getLogger(__name__)

__all__ = ["generate_variants", "GenerateReport", "latest_run"]


@dataclass
class GenerateReport:
    run_id: int
    requested: int
    created: list[int] = field(default_factory=list)  # Variant ids (new or existing)
    rejected: int = 0  # samples the memorisation guard refused

    def as_dict(self) -> dict:
        return {"run": self.run_id, "requested": self.requested, "variants": self.created, "rejected_as_copies": self.rejected}


def latest_run(kind: str) -> TrainingRun:
    run = TrainingRun.objects.filter(kind=kind, status=TrainingRun.Status.DONE).exclude(weights="").order_by("-finished_at", "-id").first()
    if run is None:
        raise LookupError(f"No finished {kind} training run with weights; run `python manage.py imagegen_train {kind}` first.")
    return run


def generate_variants(
    run_id: int | None,
    n: int,
    *,
    category: str = "",
    seed: int = 0,
    image_format: str = "png",
    threshold: float | None = None,
    device: str | None = None,
) -> GenerateReport:
    from ..engine import encode
    from ..engine.io import Image
    from ..engine.training.base import load_checkpoint
    from ..engine.training.sampling import GanSampler

    run = TrainingRun.objects.get(pk=run_id) if run_id else latest_run(TrainingRun.Kind.GAN)
    if run.kind != TrainingRun.Kind.GAN or not run.weights:
        raise ValueError(f"Training run #{run.pk} is not a finished GAN run with weights.")
    with run.weights.open("rb") as stream:
        weights = stream.read()
    threshold = conf.MEMORISATION_THRESHOLD if threshold is None else threshold
    sampler = GanSampler(load_checkpoint(weights), device=device, threshold=threshold)
    fmt = normalise_format(image_format)
    source_hash = hashlib.sha256(weights).hexdigest()
    content_type = ContentType.objects.get_for_model(TrainingRun)

    report = GenerateReport(run.pk, n)
    samples, report.rejected = sampler.sample(n, label=category or None, seed=seed)
    for sample in samples:
        params = {"category": category, "seed": sample.seed, "memorisation_threshold": threshold}
        spec_hash = hashlib.sha256(json.dumps({"processor": "generate", "params": params, "format": fmt}, sort_keys=True).encode()).hexdigest()
        lookup = dict(content_type=content_type, object_id=str(run.pk), field_name="weights", spec_hash=spec_hash, source_hash=source_hash)
        existing = Variant.objects.filter(**lookup).first()
        if existing is not None:
            report.created.append(existing.pk)
            continue
        encoded = encode(Image(rgb=sample.image), fmt, quality=conf.DEFAULT_QUALITY)
        name = save_content(encoded, fmt)
        now = timezone.now()
        try:
            with transaction.atomic():
                variant = Variant.objects.create(
                    **lookup,
                    spec_name=f"generate-{category or 'any'}-{sample.seed}",
                    processor="generate",
                    parameters=params,
                    requested_format=fmt,
                    status=Variant.Status.READY,
                    is_published=False,
                    file=name,
                    width=sample.image.shape[-1],
                    height=sample.image.shape[-2],
                    file_size=len(encoded),
                    format=fmt,
                    model_version=f"gan-run-{run.pk}@step-{run.step}",
                    metrics={
                        "nearest_train_distance": round(sample.nearest_distance, 5),
                        "nearest_train_image": sample.nearest_key,
                        "memorisation_space": "thumb32-rms",
                    },
                    started_at=now,
                    finished_at=now,
                )
        except IntegrityError:  # a concurrent job made the same image
            variant = Variant.objects.get(**lookup)
        report.created.append(variant.pk)
    if report.rejected:
        logger.info("imagegen: run %s: %d generated samples rejected as too close to training images", run.pk, report.rejected)
    return report
