"""Training work on the ``imagegen-train`` queue (conf.QUEUES["train"]), for a GPU worker:

    python manage.py imagegen_worker imagegen-train

Arguments are plain data (run ids, numbers). The job id is derived from the run, so the same
run is never queued twice at once.
"""
from __future__ import annotations

from typing import Any

from ..conf import conf
from ..queue import LIVE_STATUSES, get_queue, job_status

__all__ = ["train_job", "generate_job", "evaluate_job", "enqueue_training", "enqueue_generate"]

TRAIN_JOB = "imagegen.training.jobs.train_job"


def train_job(run_id: int) -> dict[str, Any]:
    from .runner import execute

    run = execute(run_id)
    return {"run": run.pk, "status": run.status, "step": run.step}


def evaluate_job(run_id: int, samples: int = 256) -> dict[str, Any]:
    from .evaluation import evaluate_run
    from .models import TrainingRun

    return evaluate_run(TrainingRun.objects.get(pk=run_id), samples=samples)


def generate_job(run_id: int | None, n: int, category: str = "", seed: int = 0, image_format: str = "png") -> dict[str, Any]:
    from .generate import generate_variants

    return generate_variants(run_id, n, category=category, seed=seed, image_format=image_format).as_dict()


def enqueue_training(run) -> str:
    """Queue ``run`` on the training queue; returns the job id. Raises redis errors."""
    job_id = f"imagegen-train-{run.pk}"
    if job_status(job_id, "train") not in LIVE_STATUSES:
        get_queue("train").enqueue(
            TRAIN_JOB,
            run.pk,
            job_id=job_id,
            job_timeout=conf.TRAINING_JOB_TIMEOUT,
            result_ttl=7 * 24 * 3600,
            failure_ttl=7 * 24 * 3600,
            description=f"imagegen: train {run.kind} run #{run.pk}",
        )
    type(run).objects.filter(pk=run.pk).update(job_id=job_id)
    run.job_id = job_id
    return job_id


def enqueue_generate(run_id: int | None, n: int, *, category: str = "", seed: int = 0, image_format: str = "png") -> str:
    job = get_queue("train").enqueue(
        "imagegen.training.jobs.generate_job",
        run_id,
        n,
        category,
        seed,
        image_format,
        job_timeout=conf.JOB_TIMEOUT,
        description=f"imagegen: generate {n} images ({category or 'any category'})",
    )
    return job.id
