from django.core.management.base import BaseCommand

from imagegen.reconcile import reconcile


class Command(BaseCommand):
    help = "Re-enqueue pending variants whose job never reached Redis, and revive variants whose worker died."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than", type=int, default=None, help="Seconds a row must have waited (default: IMAGEGEN['RECONCILE_AFTER'])."
        )

    def handle(self, *args, older_than=None, **options) -> None:
        report = reconcile(older_than=older_than)
        self.stdout.write(f"Requeued {report.requeued_jobs} job(s); revived {report.revived_rows} abandoned variant(s).")
        if report.unreachable:
            self.stderr.write(self.style.WARNING("Redis was unreachable: pending work stays pending; run again later."))
