import django_rq
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from imagegen.conf import conf
from imagegen.worker import ImagegenWorker


class Command(BaseCommand):
    help = "Run an imagegen worker (torch loaded once, periodic reconcile) on the imagegen queues."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "queues",
            nargs="*",
            help="Queue names, highest priority first (default: the high, default and bulk queues).",
        )
        parser.add_argument("--burst", action="store_true", help="Exit when the queues are empty.")
        parser.add_argument("--name", default=None, help="Worker name shown in the admin and rq.")

    def handle(self, *args, queues, burst, name, **options) -> None:
        names = queues or [conf.QUEUES[key] for key in ("high", "default", "bulk")]
        rq_queues = [django_rq.get_queue(q) for q in names]
        # Connections opened before start-up (checks) must not be shared with job code.
        connections.close_all()
        from imagegen.engine.errors import EngineError  # imports torch: only this command needs it

        try:
            worker = ImagegenWorker(rq_queues, connection=rq_queues[0].connection, name=name)
        except EngineError as exc:  # e.g. a mistyped IMAGEGEN_PRECISION: say so, no traceback
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"imagegen worker listening on {', '.join(names)}")
        worker.work(burst=burst, with_scheduler=False)
