"""python manage.py imagegen_train {gan,enhance,segment,backdrop} [--size --steps --batch --device --resume --seed]

Trains on every image of the registered sources (see docs/models.md). Inline by default, with
a progress bar; ``--queue`` puts the run on the imagegen-train queue for a (GPU) worker.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from imagegen.conf import conf
from imagegen.training.models import TrainingRun
from imagegen.training.runner import RunBusy, create_run, default_steps, execute, make_config


class Command(BaseCommand):
    help = ("Train the product GAN ('gan') or the faithful 4x enhancer ('enhance') on the catalogue's images, or fine-tune the "
            "product segmenter ('segment') on its transparent product photos, or the backdrop GAN ('backdrop') on a folder of backdrop photos.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=[k.value for k in TrainingRun.Kind])
        parser.add_argument("--size", type=int, help="GAN: image size 32, 64 or 128 (default 64). enhance: crop size (default 96). "
                            "segment: training resolution, a multiple of 32 (default 224). backdrop: training crop, a multiple of 8 (default 64).")
        parser.add_argument("--steps", type=int, help="Total steps (default: " + ", ".join(f"{k} {default_steps(k)}" for k in TrainingRun.Kind.values) + "); with --resume, the new total.")
        parser.add_argument("--batch", type=int, help="Batch size (default 32 for gan, 16 for enhance, 4 for segment).")
        parser.add_argument("--device", default="auto", help="auto (CUDA with bf16 if present, else CPU), cpu, cuda, cuda:1 ...")
        parser.add_argument("--seed", type=int, default=0, help="Random seed: the same seed and data give the same run.")
        parser.add_argument("--resume", nargs="?", const="latest", metavar="RUN_ID",
                            help="Continue a run from its last checkpoint (default: the latest unfinished run of this kind).")
        parser.add_argument("--preset", choices=["baseline", "strong"], default="strong",
                            help="GAN: 'baseline' (the article's DCGAN + BCE) or 'strong' (spectral norm, hinge, DiffAugment, EMA).")
        parser.add_argument("--conditional", action="store_true", help="GAN: condition on the category (IMAGEGEN['TRAINING_LABEL']).")
        parser.add_argument("--image-size", type=int, help="enhance: side the catalogue images are prepared at (default 256).")
        parser.add_argument("--adversarial", action="store_true",
                            help="enhance: add the patch-GAN stage (sharper, less faithful: it invents texture and costs PSNR; see docs/models.md).")
        parser.add_argument("--base-channels", type=int, help="GAN: width of the networks (default 64).")
        parser.add_argument("--backgrounds", metavar="DIR",
                            help="segment: folder of background photos (default IMAGEGEN['SEGMENT_BACKGROUNDS'], then the look/background "
                            "styles' reference images, then procedural backgrounds only).")
        parser.add_argument("--from-folder", metavar="DIR",
                            help="backdrop: folder of the backdrop photos to learn (studio sweeps, marble, wood, fabric, rooms); default as "
                            "--backgrounds: IMAGEGEN['SEGMENT_BACKGROUNDS'], then the look/background styles' reference photos.")
        parser.add_argument("--lr", type=float, help="segment: Adam's learning rate (default 1e-4).")
        parser.add_argument("--holdout", type=float, default=0.2, help="Share of images held out for evaluation (default 0.2).")
        parser.add_argument("--log-every", type=int, help="Steps per loss-history point and progress update (default 10).")
        parser.add_argument("--checkpoint-every", type=int, help="Steps between checkpoints (default a tenth of the run, at least 100).")
        parser.add_argument("--queue", action="store_true", help="Enqueue on the training queue instead of running here.")
        parser.add_argument("--nproc", type=int, default=1,
                            help="gan: train on N processes of this machine with DistributedDataParallel (one per GPU; gloo on CPU), "
                            "the batch split between them. Under torchrun leave it out: the launcher's RANK/WORLD_SIZE are used.")

    def handle(self, *args, **opts) -> None:
        kind = opts["kind"]
        world = self._world(kind, opts)
        if world is not None:  # launched by torchrun: rank 0 makes the run, every rank trains it
            from imagegen.training.distributed_run import create_in_group

            run = create_in_group(world, lambda: self._resume(kind, opts) if opts["resume"] else self._new(kind, opts), opts["device"])
        else:
            run = self._resume(kind, opts) if opts["resume"] else self._new(kind, opts)
        if opts["queue"]:
            from imagegen.training.jobs import enqueue_training

            try:
                job_id = enqueue_training(run)
            except RedisError as exc:
                raise CommandError(f"Redis is not reachable, run #{run.pk} stays queued ({exc}). Start Redis, then run with --resume {run.pk} --queue.")
            queue = conf.QUEUES["train"]
            self.stdout.write(f"Queued training run #{run.pk} as job {job_id} on {queue!r}. "
                              f"A worker takes it with: python manage.py imagegen_worker {queue}")
            return

        from imagegen.training.progress import ProgressBar

        main = world is None or world.rank == 0
        if main:
            processes = f" on {world.size if world else opts['nproc']} processes" if (world or opts["nproc"] > 1) else ""
            self.stdout.write(f"Training {kind} run #{run.pk}{processes}: {run.config.get('preset', '')} {self._describe(run)}")
        bar = ProgressBar(self.stdout, run.total_steps, start=run.step)
        try:
            if world is not None:
                from imagegen.training.distributed_run import execute_in_group

                run = execute_in_group(run.pk, world, progress=bar if main else None, checkpoint_every=opts["checkpoint_every"])
                if not main:
                    return
            elif opts["nproc"] > 1:
                from imagegen.training.distributed_run import spawn_run

                run = spawn_run(run.pk, opts["nproc"], checkpoint_every=opts["checkpoint_every"])
            else:
                run = execute(run.pk, progress=bar, checkpoint_every=opts["checkpoint_every"])
        except RunBusy as exc:
            raise CommandError(str(exc))
        except Exception as exc:
            raise CommandError(f"Training run #{run.pk} failed: {TrainingRun.objects.get(pk=run.pk).error or exc}") from exc
        self.stdout.write(f"Dataset: {run.dataset.get('summary', '')}; device {run.device_used}.")
        if run.status != TrainingRun.Status.DONE:
            self.stdout.write(f"Run #{run.pk} {run.status} at step {run.step}; continue with --resume {run.pk}.")
            return
        rate = f", {run.steps_per_second:.2f} steps/s" if run.steps_per_second else ""
        self.stdout.write(self.style.SUCCESS(f"Run #{run.pk} done: {run.step} steps{rate}; checkpoint {run.checkpoint.name}, weights {run.weights.name}."))
        if kind == TrainingRun.Kind.ENHANCE:
            self.stdout.write("Published as the 'enhance-4x' style: use it on low-resolution images (processor 'enhance').")
        if kind == TrainingRun.Kind.BACKDROP:
            self.stdout.write("Published as the 'generated-backdrop' style (processor 'background'): every product gets its own generated scene.")
        if kind == TrainingRun.Kind.SEGMENT:
            self.stdout.write("Published as the reference file of the 'cutout' style: new product masks use the fine-tuned network.")
        self.stdout.write(f"Evaluate with: python manage.py imagegen_evaluate {kind} --run {run.pk}")

    def _world(self, kind: str, opts):
        """The torchrun process group this command runs in, if any; checks --nproc."""
        from imagegen.engine.training.distributed import from_env

        world = from_env()
        if opts["nproc"] < 1:
            raise CommandError("--nproc must be at least 1.")
        if (world or opts["nproc"] > 1) and kind != TrainingRun.Kind.GAN:
            raise CommandError("--nproc (and torchrun) trains gan runs only.")
        if world and opts["nproc"] > 1:
            raise CommandError("Under torchrun the launcher starts the processes: leave --nproc out.")
        if (world or opts["nproc"] > 1) and opts["queue"]:
            raise CommandError("--nproc trains here; a queued run is trained by one worker.")
        return world

    def _describe(self, run: TrainingRun) -> str:
        c = run.config
        return f"size {c.get('size', c.get('crop'))}, batch {c['batch']}, seed {c['seed']}, steps {run.step}->{run.total_steps}"

    def _new(self, kind: str, opts) -> TrainingRun:
        if opts["conditional"] and kind == TrainingRun.Kind.GAN and not conf.TRAINING_LABEL:
            raise CommandError("--conditional needs IMAGEGEN['TRAINING_LABEL'], the path from a source image to its category, e.g. 'product.category.slug'.")
        extra = {"log_every": opts["log_every"]}
        if kind == TrainingRun.Kind.GAN:
            extra["base_channels"] = opts["base_channels"]
        elif kind == TrainingRun.Kind.SEGMENT:
            extra["lr"] = opts["lr"]
        elif kind == TrainingRun.Kind.BACKDROP:
            pass
        else:
            extra["image_size"] = opts["image_size"]
            extra["steps"] = opts["steps"]  # the learning-rate cosine spans the run's budget
            extra["adversarial"] = opts["adversarial"] or None
        if opts["adversarial"] and kind != TrainingRun.Kind.ENHANCE:
            raise CommandError("--adversarial is for enhance runs only.")
        if opts["backgrounds"] and kind not in (TrainingRun.Kind.SEGMENT, TrainingRun.Kind.BACKDROP):
            raise CommandError("--backgrounds is for segment runs only (and backdrop runs, where --from-folder says the same).")
        if opts["from_folder"] and kind != TrainingRun.Kind.BACKDROP:
            raise CommandError("--from-folder is for backdrop runs only (segment runs take --backgrounds).")
        folder = opts["from_folder"] or opts["backgrounds"]
        try:
            config = make_config(kind, size=opts["size"], batch=opts["batch"], seed=opts["seed"], preset=opts["preset"],
                                 conditional=opts["conditional"], **extra)
        except (ValueError, TypeError) as exc:
            raise CommandError(str(exc))
        except Exception as exc:  # the engine's configuration errors
            raise CommandError(str(exc))
        steps = opts["steps"] or default_steps(kind)
        if steps < 1:
            raise CommandError("--steps must be at least 1.")
        return create_run(kind, config, steps=steps, device=opts["device"], holdout=opts["holdout"], backgrounds=folder)

    def _resume(self, kind: str, opts) -> TrainingRun:
        runs = TrainingRun.objects.filter(kind=kind)
        if opts["resume"] == "latest":
            run = runs.exclude(status=TrainingRun.Status.DONE).order_by("-created_at", "-id").first()
            if run is None:
                raise CommandError(f"No unfinished {kind} run to resume; give a run id to extend a finished one.")
        else:
            try:
                run = runs.get(pk=int(opts["resume"]))
            except (ValueError, TrainingRun.DoesNotExist):
                raise CommandError(f"No {kind} training run #{opts['resume']}.")
        for key in ("size", "batch"):
            if opts[key] and opts[key] != run.config.get(key):
                raise CommandError(f"--{key} {opts[key]} differs from run #{run.pk}'s {run.config.get(key)}; a resumed run keeps its configuration.")
        updates = {"device": opts["device"] or run.device}
        if opts["steps"]:
            if opts["steps"] < run.step:
                raise CommandError(f"Run #{run.pk} is already at step {run.step}.")
            updates["total_steps"] = opts["steps"]
        TrainingRun.objects.filter(pk=run.pk).update(**updates)
        run.refresh_from_db()
        return run
