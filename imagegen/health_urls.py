"""``path("", include("imagegen.health_urls"))`` adds /healthz and /healthz/workers."""
from django.urls import path

from . import health

urlpatterns = [
    path("healthz", health.health, name="imagegen-health"),
    path("healthz/workers", health.workers, name="imagegen-health-workers"),
]
