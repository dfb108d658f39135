"""Create the built-in product styles: Cut-out, Marketplace image, White background, Studio grey
gradient with contact shadow, Square crop.

    python manage.py imagegen_product_styles             # idempotent; seed_demo runs it
    python manage.py imagegen_product_styles --inactive  # create them switched off

See imagegen/product_styles.py and docs/product-images.md.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from imagegen.product_styles import PRODUCT_STYLES, ensure_product_styles


class Command(BaseCommand):
    help = "Create the built-in product styles (cut-out, marketplace image, backgrounds, square crop). Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--inactive", action="store_true", help="Create new ones switched off.")

    def handle(self, *args: Any, **options: Any) -> None:
        styles, created = ensure_product_styles(active=not options["inactive"])
        self.stdout.write(f"Product styles: {created} created, {len(PRODUCT_STYLES) - created} already there.")
        if options["verbosity"] >= 2:
            for style in styles:
                self.stdout.write(f"  {style.slug}: {style.name} ({style.processor} {style.parameters})")
