from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from ..models import Style, Variant
from ..queue import get_queue
from ..registry import registry
from ..requests import request_variants
from ..warm import iter_instances
from .forms import StyleForm

logger = logging.getLogger(__name__)


def sample_source():
    """The first image of the first registered source: where style previews are rendered."""
    for source in registry.sources():
        for instance in iter_instances(source):
            return instance, source.field_name
    return None


@admin.register(Style)
class StyleAdmin(admin.ModelAdmin):
    form = StyleForm
    list_display = ["name", "slug", "processor", "is_active", "catalogue_progress", "updated_at"]
    list_filter = ["processor", "is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["recent_variants"]
    actions = ["activate", "deactivate", "render_preview", "apply_to_catalogue"]

    def get_queryset(self, request: HttpRequest):
        current = ~Q(variants__status=Variant.Status.STALE)
        return super().get_queryset(request).annotate(
            variants_total=Count("variants", filter=current),
            variants_ready=Count("variants", filter=Q(variants__status=Variant.Status.READY)),
            variants_failed=Count("variants", filter=Q(variants__status=Variant.Status.FAILED)),
        )

    @admin.display(description="Variants ready")
    def catalogue_progress(self, obj: Style) -> str:
        total = getattr(obj, "variants_total", 0)
        if not total:
            return "—"
        ready, failed = obj.variants_ready, obj.variants_failed
        pct = int(100 * ready / total)
        return format_html(
            '<progress max="{}" value="{}" title="{}%"></progress> {}/{}{}',
            total, ready, pct, ready, total, format_html(' · <span style="color:#ba2121">{} failed</span>', failed) if failed else "",
        )

    @admin.display(description="Recent variants")
    def recent_variants(self, obj: Style) -> str:
        rows = obj.variants.filter(status=Variant.Status.READY).order_by("-finished_at")[:6] if obj.pk else []
        if not rows:
            return "No variants yet: use the “Render a preview” action or restyle a product."
        return format_html_join(
            "", '<img src="{}" alt="{}" title="{}" style="max-height:140px;margin-right:8px;border-radius:6px">', ((v.url, v.spec_name, v.spec_name) for v in rows)
        )

    def save_model(self, request: HttpRequest, obj: Style, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if obj.is_active and request.user.has_perm("imagegen.request_variant"):
            self._preview(request, [obj])

    def _preview(self, request: HttpRequest, styles: list[Style]) -> None:
        sample = sample_source()
        if sample is None:
            self.message_user(request, "No product image exists yet to render a preview on.", messages.WARNING)
            return
        instance, field_name = sample
        rows = request_variants(instance, field_name, styles, queue="high")
        self.message_user(request, f"Rendering {len(rows)} preview(s) on “{instance}”; they appear below within seconds.", messages.INFO)

    @admin.action(description="Activate selected styles", permissions=["change"])
    def activate(self, request: HttpRequest, queryset) -> None:
        self.message_user(request, f"Activated {queryset.update(is_active=True)} style(s).", messages.SUCCESS)

    @admin.action(description="Deactivate selected styles", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset) -> None:
        self.message_user(request, f"Deactivated {queryset.update(is_active=False)} style(s).", messages.SUCCESS)

    @admin.action(description="Render a preview on a sample product", permissions=["imagegen"])
    def render_preview(self, request: HttpRequest, queryset) -> None:
        self._preview(request, list(queryset.filter(is_active=True)))

    @admin.action(description="Apply to the whole catalogue (bulk queue)", permissions=["imagegen"])
    def apply_to_catalogue(self, request: HttpRequest, queryset) -> None:
        ids = list(queryset.filter(is_active=True).values_list("pk", flat=True))
        # Walking the catalogue is itself queued: a big shop must not time out this request.
        get_queue("bulk").enqueue("imagegen.jobs.warm_styles", ids, "*", "missing", job_timeout=3600)
        self.message_user(request, f"Queued {len(ids)} style(s) for the whole catalogue; progress shows in this list.", messages.SUCCESS)

    def has_imagegen_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("imagegen.request_variant")
