"""python manage.py imagegen_generate [--run ID] [--n 8] [--category SLUG] [--seed 0] [--queue]

Samples a trained GAN into Variant rows of its TrainingRun (not published until an admin
approves them); samples too close to a training image are rejected."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from imagegen.conf import conf


class Command(BaseCommand):
    help = "Generate product images with a trained GAN run and store them as variants of the run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--run", type=int, help="GAN run id (default: the latest finished one).")
        parser.add_argument("--n", type=int, default=8, help="How many images (default 8).")
        parser.add_argument("--category", default="", help="Category for a conditional GAN (as IMAGEGEN['TRAINING_LABEL'] gives it).")
        parser.add_argument("--seed", type=int, default=0, help="First sample's seed; the same seed gives the same image.")
        parser.add_argument("--format", default="png", help="png, webp, jpeg or avif (default png).")
        parser.add_argument("--queue", action="store_true", help="Enqueue on the training queue instead of running here.")

    def handle(self, *args, run, n, category, seed, format, queue, **opts) -> None:
        if n < 1:
            raise CommandError("--n must be at least 1.")
        if queue:
            from imagegen.training.jobs import enqueue_generate

            try:
                job_id = enqueue_generate(run, n, category=category, seed=seed, image_format=format)
            except RedisError as exc:
                raise CommandError(f"Redis is not reachable ({exc}).")
            self.stdout.write(f"Queued job {job_id} on {conf.QUEUES['train']!r}.")
            return
        from imagegen.training.generate import generate_variants

        try:
            report = generate_variants(run, n, category=category, seed=seed, image_format=format)
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Run #{report.run_id}: {len(report.created)} of {n} images stored as variants {report.created}; "
            f"{report.rejected} rejected as too close to a training image."
        )
