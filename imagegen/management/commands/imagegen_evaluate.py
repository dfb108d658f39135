"""python manage.py imagegen_evaluate {gan,enhance,segment,backdrop} [RUN] [--run ID] [--samples N] [--device]

Figures on the held-out split, saved on the TrainingRun and printed as a table."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from imagegen.training.evaluation import evaluate_run, format_table, latest_evaluable
from imagegen.training.models import TrainingRun


class Command(BaseCommand):
    help = "Evaluate a training run on the held-out images (enhance: PSNR/SSIM vs bicubic and Lanczos; gan: KID, Frechet, SWD, precision/recall, D accuracy, memorisation; segment: IoU and alpha MAE on white and on photos, built-in vs fine-tuned; backdrop: memorisation (nearest training crop), diversity, KID)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=[k.value for k in TrainingRun.Kind])
        parser.add_argument("run_id", nargs="?", type=int, metavar="RUN", help="Run id (same as --run).")
        parser.add_argument("--run", type=int, help="Run id (default: the latest run of this kind with a checkpoint).")
        parser.add_argument("--samples", type=int, default=256, help="GAN, backdrop: images to generate for the figures (default 256).")
        parser.add_argument("--device", default=None, help="auto, cpu, cuda ... (default: the run's device).")
        parser.add_argument("--backgrounds", metavar="DIR",
                            help="segment: evaluate on the photos in DIR instead of the run's backgrounds (e.g. photos it never saw).")
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON instead of a table.")

    def handle(self, *args, kind, run, samples, device, json: bool = False, run_id=None, backgrounds=None, **opts) -> None:
        run = run or run_id
        if backgrounds and kind != TrainingRun.Kind.SEGMENT:
            raise CommandError("--backgrounds is for segment runs only.")
        try:
            training_run = TrainingRun.objects.get(pk=run, kind=kind) if run else latest_evaluable(kind)
        except (TrainingRun.DoesNotExist, LookupError) as exc:
            raise CommandError(str(exc) if isinstance(exc, LookupError) else f"No {kind} training run #{run}.")
        try:
            figures = evaluate_run(training_run, samples=samples, device=device, backgrounds=backgrounds)
        except Exception as exc:
            raise CommandError(f"Evaluation of run #{training_run.pk} failed: {exc}") from exc
        if json:
            self.stdout.write(_json(figures))
        else:
            self.stdout.write(f"Run #{training_run.pk} at step {figures['step']}:")
            self.stdout.write(format_table(kind, figures))


def _json(figures) -> str:
    return json.dumps(figures, indent=2, sort_keys=True)
