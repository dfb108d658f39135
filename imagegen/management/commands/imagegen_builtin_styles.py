"""Create (or update) a Style for each of the 26 built-in styles of the multi-style network.

    python manage.py imagegen_builtin_styles            # slugs builtin-style-00 ... builtin-style-25
    python manage.py imagegen_builtin_styles --inactive # create them switched off

Idempotent: rows are matched by slug, and an admin's edits to name or activation are kept.
The styles have no names of their own (the pretrained network never came with any), so they
are numbered like the package's contact sheet.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from imagegen.models import Style

NUM_STYLES = 26  # the multi-style network's (imagegen.engine.networks.NUM_STYLES; no torch import here)


def builtin_slug(index: int) -> str:
    return f"builtin-style-{index:02d}"


class Command(BaseCommand):
    help = "Create a Style row for each of the 26 built-in neural styles (processor 'style'). Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--inactive", action="store_true", help="Create new ones switched off.")

    def handle(self, *args: Any, **options: Any) -> None:
        created = 0
        for index in range(NUM_STYLES):
            style, was_created = Style.objects.get_or_create(
                slug=builtin_slug(index),
                defaults={
                    "name": f"Built-in style {index}",
                    "processor": "style",
                    "parameters": {"style": index},
                    "is_active": not options["inactive"],
                },
            )
            if not was_created and (style.processor, style.parameters.get("style")) != ("style", index):
                # the slug is ours: put back what the built-in style is
                style.processor, style.parameters = "style", {**style.parameters, "style": index}
                style.save(update_fields=["processor", "parameters", "updated_at"])
            created += was_created
        self.stdout.write(f"Built-in styles: {created} created, {NUM_STYLES - created} already there.")
