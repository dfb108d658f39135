import time

from django.core.management.base import BaseCommand, CommandError

from imagegen.models import Style, Variant
from imagegen.progress import ProgressBar
from imagegen.warm import count_instances, warm


class Command(BaseCommand):
    help = (
        "Queue variants for a whole catalogue on the bulk queue. "
        "Example: imagegen_warm 'shop.productimage.image:*' --styles vintage --missing"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("pattern", help="Glob of variant ids: app_label.model.field:spec (e.g. 'shop.*.image:*').")
        parser.add_argument("--styles", nargs="+", default=None, metavar="SLUG", help="Apply these styles instead of the registered specs.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--missing", dest="mode", action="store_const", const="missing", help="Only variants that don't exist yet (default).")
        mode.add_argument("--stale", dest="mode", action="store_const", const="stale", help="Also redo failed variants.")
        mode.add_argument("--force", dest="mode", action="store_const", const="force", help="Render everything again.")
        parser.add_argument("--queue", default="bulk", help="Queue key or name (default: bulk).")
        parser.add_argument("--wait", action="store_true", help="Show progress until every queued variant is ready or failed.")
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds to --wait at most.")

    def handle(self, *args, pattern, styles, mode, queue, wait, timeout, **options) -> None:
        style_rows = None
        if styles:
            style_rows = list(Style.objects.filter(slug__in=styles, is_active=True))
            missing = set(styles) - {s.slug for s in style_rows}
            if missing:
                raise CommandError(f"Unknown or inactive style(s): {', '.join(sorted(missing))}")
        bar = ProgressBar(count_instances(pattern), "queueing", stream=self.stderr._out)
        try:
            report = warm(pattern, styles=style_rows, mode=mode or "missing", queue=queue, progress=bar.update)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        bar.close()
        self.stdout.write(
            f"{report.sources} source image(s): queued {report.queued} variant(s), {report.existing} already present."
        )
        for error in report.errors:
            self.stderr.write(self.style.WARNING(error))
        if wait and report.queued:
            self._wait(report.queued, timeout)

    def _wait(self, queued: int, timeout: float) -> None:
        busy = Variant.objects.filter(status__in=[Variant.Status.PENDING, Variant.Status.RUNNING])
        start_busy = busy.count()
        bar = ProgressBar(start_busy, "rendering", stream=self.stderr._out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = busy.count()
            bar.set(start_busy - left)
            if not left:
                break
            time.sleep(1)
        bar.close()
        if busy.exists():
            raise CommandError("Timed out waiting; the work goes on in the workers.")
