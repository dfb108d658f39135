from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, JsonResponse
from django.urls import path

from ..models import Variant
from .display import figures, thumbnail


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["id", "preview", "spec_name", "source_label", "status", "is_published", "format", "width", "height", "updated_at"]
    list_filter = ["status", "is_published", "style", "content_type", "format"]
    list_select_related = ["content_type", "style"]
    search_fields = ["spec_name", "object_id", "error"]
    readonly_fields = [f.name for f in Variant._meta.fields if f.name != "is_published"] + ["preview"]
    actions = ["publish", "unpublish"]

    @admin.display(description="Preview")
    def preview(self, obj: Variant) -> str:
        return thumbnail(obj)

    @admin.display(description="Source")
    def source_label(self, obj: Variant) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}:{obj.object_id}.{obj.field_name}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # variants are made by the workers, not typed in

    @admin.action(description="Approve and publish selected variants", permissions=["change"])
    def publish(self, request: HttpRequest, queryset) -> None:
        ready = queryset.filter(status=Variant.Status.READY)
        count = ready.update(is_published=True)
        skipped = queryset.count() - count
        self.message_user(request, f"Published {count} variant(s)." + (f" {skipped} not ready were skipped." if skipped else ""), messages.SUCCESS)

    @admin.action(description="Unpublish selected variants", permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset) -> None:
        count = queryset.update(is_published=False)
        self.message_user(request, f"Unpublished {count} variant(s).", messages.SUCCESS)

    def get_urls(self):
        extra = [path("status/", self.admin_site.admin_view(self.status_view), name="imagegen_variant_status")]
        return extra + super().get_urls()

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
                    }
                    for v in rows
                }
            }
        )
