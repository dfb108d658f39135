import mimetypes

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class ImagegenConfig(AppConfig):
    name = "imagegen"
    verbose_name = "Image generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Storages set Content-Type from the name; not every system's table knows these.
        mimetypes.add_type("image/webp", ".webp")
        mimetypes.add_type("image/avif", ".avif")
        from . import checks  # noqa: F401  registers the system checks
        from .signals import connect_source_models

        # Each installed app's imagegen.py registers its sources (as admin.py does for the admin).
        autodiscover_modules("imagegen")
        connect_source_models()
        # API requests: completion and webhooks follow variant_ready/variant_failed (in workers too).
        from . import request_checks  # noqa: F401  checks of the API/webhook settings
        from .completion import connect_signals as connect_request_signals

        connect_request_signals()
        # "style" Styles with a reference image get their style vector computed by a worker job.
        from .style_vectors import connect as connect_style_vectors

        connect_style_vectors()
        # Every Style gets a preview on a sample product, rendered by a worker job (previews.py).
        from .previews import connect as connect_previews

        connect_previews()
