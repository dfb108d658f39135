"""Create (or update) a Style for each of the 26 built-in styles of the multi-style network.

    python manage.py imagegen_builtin_styles            # slugs builtin-style-00 ... builtin-style-25
    python manage.py imagegen_builtin_styles --inactive # create them switched off
    python manage.py imagegen_builtin_styles --rename   # descriptive names even over an admin's own

Idempotent: rows are matched by slug, and an admin's edits to name or activation are kept.
The pretrained network came without names; imagegen.builtin_styles.BUILTIN_NAMES says what
each looks like (docs/builtin-styles.jpg). Rows still carrying the old numbered default
("Built-in style 3") are renamed on every run.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from imagegen.builtin_styles import BUILTIN_NAMES, NUM_STYLES, builtin_slug, numbered_name
from imagegen.models import Style


class Command(BaseCommand):
    help = "Create a Style row for each of the 26 built-in neural styles (processor 'style'). Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--inactive", action="store_true", help="Create new ones switched off.")
        parser.add_argument(
            "--rename", action="store_true", help="Give every built-in style its descriptive name, even one an admin changed."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        created = renamed = 0
        for index, name in enumerate(BUILTIN_NAMES):
            style, was_created = Style.objects.get_or_create(
                slug=builtin_slug(index),
                defaults={
                    "name": name,
                    "processor": "style",
                    "parameters": {"style": index},
                    "is_active": not options["inactive"],
                },
            )
            fields = []
            if not was_created and (style.processor, style.parameters.get("style")) != ("style", index):
                # the slug is ours: put back what the built-in style is
                style.processor, style.parameters = "style", {**style.parameters, "style": index}
                fields += ["processor", "parameters"]
            if not was_created and style.name != name and (options["rename"] or style.name == numbered_name(index)):
                style.name = name
                fields.append("name")
                renamed += 1
            if fields:
                style.save(update_fields=[*fields, "updated_at"])
            created += was_created
        line = f"Built-in styles: {created} created, {NUM_STYLES - created} already there"
        self.stdout.write(line + (f", {renamed} renamed." if renamed else "."))
