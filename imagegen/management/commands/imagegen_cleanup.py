from django.core.management.base import BaseCommand

from imagegen.cleanup import cleanup
from imagegen.storage import variant_storage

SHOWN = 20  # names listed per section; the counts are always complete


class Command(BaseCommand):
    help = (
        "Find variant rows whose source is gone and variant files no row references. "
        "Dry run by default: pass --delete to remove them. Only files under IMAGEGEN['UPLOAD_TO'] "
        "in the variant storage are considered; source images are never touched."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--delete", action="store_true", help="Delete what was found (default: only report).")
        parser.add_argument(
            "--min-age",
            type=int,
            default=3600,
            help="Keep unreferenced files younger than this many seconds: a worker may be about to record them (default 3600).",
        )

    def handle(self, *args, delete: bool, min_age: int, **options) -> None:
        report = cleanup(delete=delete, min_age=min_age)
        verb = "deleted" if delete else "would delete"
        storage = variant_storage()
        self.stdout.write(
            ("imagegen cleanup" if delete else "imagegen cleanup: DRY RUN, nothing deleted (pass --delete to act)")
            + f"\nVariant storage: {type(storage).__name__}, files under {report.prefix} ({report.files_seen} found)"
        )
        count = report.rows_deleted if delete else len(report.rows_without_source)
        self.stdout.write(f"Rows whose source is gone: {count} {verb}")
        self._list(report.rows_without_source)
        count = report.masks_deleted if delete else len(report.unused_masks)
        self.stdout.write(f"Product masks of content no variant refers to: {count} {verb}")
        self._list(report.unused_masks)
        count = report.files_deleted if delete else len(report.orphan_files)
        self.stdout.write(f"Unreferenced variant files: {count} {verb}")
        self._list(report.orphan_files)
        if report.kept_recent:
            self.stdout.write(f"Unreferenced but younger than {min_age} s, kept: {len(report.kept_recent)}")
            self._list(report.kept_recent)

    def _list(self, items: list[str]) -> None:
        for item in items[:SHOWN]:
            self.stdout.write(f"  {item}")
        if len(items) > SHOWN:
            self.stdout.write(f"  ... and {len(items) - SHOWN} more")
