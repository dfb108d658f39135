from __future__ import annotations

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.utils.html import format_html

from .models import Style, Variant


def thumbnail(variant: Variant, size: int = 96) -> str:
    if variant.status == Variant.Status.READY and variant.file:
        return format_html(
            '<img src="{}" alt="{}" style="max-width:{}px;max-height:{}px;border-radius:4px">',
            variant.file.url,
            variant.spec_name,
            size,
            size,
        )
    return "—"


@admin.register(Style)
class StyleAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "processor", "is_active", "updated_at"]
    list_filter = ["processor", "is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["id", "preview", "spec_name", "source_label", "status", "is_published", "format", "width", "height", "updated_at"]
    list_filter = ["status", "is_published", "style", "content_type", "format"]
    list_select_related = ["content_type", "style"]
    search_fields = ["spec_name", "object_id", "error"]
    readonly_fields = [f.name for f in Variant._meta.fields if f.name not in {"is_published"}] + ["preview"]

    @admin.display(description="Preview")
    def preview(self, obj: Variant) -> str:
        return thumbnail(obj)

    @admin.display(description="Source")
    def source_label(self, obj: Variant) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}:{obj.object_id}.{obj.field_name}"

    def has_add_permission(self, request) -> bool:
        return False  # variants are made by the workers, not typed in


class VariantInline(GenericTabularInline):
    """Add to a source model's admin to see its variants on the change page."""

    model = Variant
    ct_field = "content_type"
    ct_fk_field = "object_id"
    extra = 0
    can_delete = True
    fields = ["preview", "spec_name", "status", "is_published", "error", "format", "width", "height", "updated_at"]
    readonly_fields = ["preview", "spec_name", "status", "error", "format", "width", "height", "updated_at"]
    ordering = ["spec_name", "-created_at"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(status=Variant.Status.STALE).select_related("style")

    @admin.display(description="Preview")
    def preview(self, obj: Variant) -> str:
        return thumbnail(obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return False
