from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from ..models import Variant
from ..registry import registry
from .display import figures, options, publication, thumbnail

REVIEW_PAGE_SIZE = 24


def source_file_url(variant: Variant) -> str:
    """The original image's URL, from the (prefetched) source object; "" when it is gone."""
    source = variant.source
    fieldfile = getattr(source, variant.field_name, None) if source is not None else None
    return fieldfile.url if fieldfile else ""


def source_admin_url(variant: Variant) -> str:
    ct = ContentType.objects.get_for_id(variant.content_type_id)
    try:
        return reverse(f"admin:{ct.app_label}_{ct.model}_change", args=[variant.object_id])
    except NoReverseMatch:
        return ""


class RegisteredSourceFilter(admin.SimpleListFilter):
    """The source models a shop registered (not every content type Django knows)."""

    title = "source"
    parameter_name = "source_model"

    def lookups(self, request, model_admin):
        seen = {}
        for source in registry.sources():
            ct = ContentType.objects.get_for_model(source.model)
            seen[str(ct.pk)] = f"{source.model._meta.verbose_name.capitalize()} ({source.field_name})"
        return sorted(seen.items(), key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(content_type_id=self.value()) if self.value() else queryset


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["preview", "spec_name", "source_label", "status", "is_published", "review", "format", "updated_at"]
    list_display_links = ["preview", "spec_name"]
    list_filter = ["status", "is_published", "review", "origin", "style", RegisteredSourceFilter, "format"]
    list_select_related = ["content_type", "style"]
    search_fields = ["spec_name", "object_id", "error"]
    readonly_fields = [f.name for f in Variant._meta.fields if f.name != "is_published"] + ["preview", "before_after", "source_label", "plain_figures"]
    actions = ["publish", "reject", "unpublish"]
    change_list_template = "admin/imagegen/variant/change_list.html"
    fieldsets = [
        (None, {"fields": ["before_after", "source_label", "style", "spec_name", "status", "is_published", "review", "plain_figures", "error"]}),
        ("Output", {"fields": ["format", "width", "height", "file_size", "file", "options_label"]}),
        ("Technical details", {"classes": ["collapse"], "fields": [
            "origin", "processor", "parameters", "requested_format", "max_size", "quality", "queue", "content_type", "object_id",
            "field_name", "source_hash", "spec_hash", "metrics", "timings", "model_version", "attempts", "job_id", "worker_name",
            "created_at", "updated_at", "enqueued_at", "started_at", "finished_at",
        ]}),
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "options_label"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("source")

    @admin.display(description="Preview")
    def preview(self, obj: Variant) -> str:
        return thumbnail(obj)

    @admin.display(description="Source")
    def source_label(self, obj: Variant) -> str:
        """The host object as people know it: its name, a thumbnail and a link."""
        source = obj.source
        if source is None:
            return format_html('<span style="color:#ba2121">{}</span>', f"deleted ({obj.content_type.model} {obj.object_id})")
        url, image = source_admin_url(obj), source_file_url(obj)
        thumb = format_html('<img src="{}" alt="" style="width:32px;height:32px;object-fit:cover;border-radius:4px;vertical-align:middle;margin-right:6px">', image) if image else ""
        name = format_html('<a href="{}">{}</a>', url, source) if url else format_html("{}", source)
        return format_html('<span style="white-space:nowrap">{}{}</span>', thumb, name)

    @admin.display(description="Before / after")
    def before_after(self, obj: Variant) -> str:
        original = source_file_url(obj)
        after = obj.url if obj.status == Variant.Status.READY else ""
        box = '<figure style="margin:0"><img src="{}" alt="{}" style="max-width:420px;max-height:420px;border-radius:8px;background:#f4f4f4"><figcaption>{}</figcaption></figure>'
        return format_html(
            '<div style="display:flex;gap:16px;flex-wrap:wrap">{}{}</div>',
            format_html(box, original, "original", "Original") if original else "",
            format_html(box, after, obj.spec_name, "Variant") if after else format_html("<p>{}</p>", obj.get_status_display()),
        )

    @admin.display(description="Figures")
    def plain_figures(self, obj: Variant) -> str:
        rows = figures(obj)
        if not rows:
            return "—"
        return format_html(
            "<dl style='margin:0;display:grid;grid-template-columns:auto 1fr;gap:0 12px'>{}</dl>",
            format_html_join("", '<dt>{}</dt><dd title="{}" style="margin:0">{}</dd>', ((label, raw, value) for label, value, raw in rows)),
        )

    @admin.display(description="Options")
    def options_label(self, obj: Variant) -> str:
        return options(obj) or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # variants are made by the workers, not typed in

    @admin.action(description="Approve and publish selected variants", permissions=["change"])
    def publish(self, request: HttpRequest, queryset) -> None:
        count, skipped = approve(queryset)
        self.message_user(request, f"Published {count} variant(s)." + (f" {skipped} not ready were skipped." if skipped else ""), messages.SUCCESS)

    @admin.action(description="Reject selected variants (never published)", permissions=["change"])
    def reject(self, request: HttpRequest, queryset) -> None:
        self.message_user(request, f"Rejected {reject(queryset)} variant(s).", messages.SUCCESS)

    @admin.action(description="Unpublish selected variants", permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset) -> None:
        count = queryset.update(is_published=False)
        self.message_user(request, f"Unpublished {count} variant(s).", messages.SUCCESS)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra = {"awaiting_count": Variant.objects.current().awaiting_approval().count(), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def get_urls(self):
        extra = [
            path("status/", self.admin_site.admin_view(self.status_view), name="imagegen_variant_status"),
            path("review/", self.admin_site.admin_view(self.review_view), name="imagegen_variant_review"),
        ]
        return extra + super().get_urls()

    def review_view(self, request: HttpRequest):
        """Awaiting approval: large before/after pairs, approved or rejected in bulk."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        if request.method == "POST":
            if not self.has_change_permission(request):
                return JsonResponse({"error": "forbidden"}, status=403)
            ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
            chosen = Variant.objects.filter(pk__in=ids)
            if request.POST.get("decision") == "approve":
                count, _ = approve(chosen)
                self.message_user(request, f"Approved and published {count} variant(s).", messages.SUCCESS)
            elif request.POST.get("decision") == "reject":
                self.message_user(request, f"Rejected {reject(chosen)} variant(s); they stay off the storefront.", messages.SUCCESS)
            return HttpResponseRedirect(request.get_full_path())
        queryset = (
            Variant.objects.current().awaiting_approval().select_related("style", "content_type").prefetch_related("source")
            .order_by("content_type_id", "object_id", "field_name", "spec_name")
        )  # fmt: skip
        page = Paginator(queryset, REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
        items = [{"v": v, "original": source_file_url(v), "figures": figures(v), "options": options(v)} for v in page.object_list]
        context = {
            **self.admin_site.each_context(request),
            "title": "Awaiting approval",
            "opts": self.model._meta,
            "page": page,
            "items": items,
            "can_change": self.has_change_permission(request),
        }
        return TemplateResponse(request, "admin/imagegen/variant/review.html", context)

    def status_view(self, request: HttpRequest) -> JsonResponse:
        """Light polling for the variants panel: status, error and thumbnail of some ids."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isdigit()][:200]
        rows = Variant.objects.filter(pk__in=ids)
        return JsonResponse(
            {
                "variants": {
                    str(v.pk): {
                        "status": v.status,
                        "status_label": v.get_status_display(),
                        "error": v.error,
                        "url": v.url if v.status == Variant.Status.READY else "",
                        "width": v.width,
                        "height": v.height,
                        "figures": figures(v),
                        "publication": publication(v),
                    }
                    for v in rows
                }
            }
        )


def approve(queryset: models.QuerySet) -> tuple[int, int]:
    """Publish the ready ones; returns (published, skipped because not ready)."""
    total = queryset.count()
    count = queryset.filter(status=Variant.Status.READY).update(
        is_published=True, review=Variant.Review.APPROVED, updated_at=timezone.now()
    )
    return count, total - count


def reject(queryset: models.QuerySet) -> int:
    """Unpublished for good: a re-render keeps it off the storefront (jobs.auto_publish)."""
    return queryset.update(is_published=False, review=Variant.Review.REJECTED, updated_at=timezone.now())
