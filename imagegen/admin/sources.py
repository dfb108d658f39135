"""Admin mixin for any model registered as an imagegen source (or whose related objects are)."""
from __future__ import annotations

import posixpath
from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe

from ..conf import conf
from ..models import Variant
from ..prefetch import prefetch_variants, variants_for
from ..previews import choose_sample
from ..product_styles import CUTOUT, MARKETPLACE, MARKETPLACE_SIZE, ensure_product_styles
from ..registry import registry
from ..requests import regenerate, request_variants
from .display import thumbnail, variants_panel
from .forms import RestyleForm

REQUEST_PERM = "imagegen.request_variant"
DELETE_PERM = "imagegen.delete_variant"
VIEW_PERM, CHANGE_PERM = "imagegen.view_variant", "imagegen.change_variant"
PREVIEW_SAMPLE_PERM = "imagegen.change_style"  # the sample changes every style's preview


class ImagegenSourceAdmin:
    """Mix into a ModelAdmin (before admin.ModelAdmin). Override ``imagegen_sources`` when the
    images live on related objects (e.g. a Product whose ProductImages are the sources)."""

    imagegen_actions = (
        "imagegen_restyle",
        "imagegen_remove_background",
        "imagegen_marketplace",
        "imagegen_regenerate",
        "imagegen_delete_variants",
        "imagegen_use_for_previews",
    )

    def imagegen_sources(self, objects: Iterable[models.Model]) -> Iterable[tuple[models.Model, str]]:
        fields = [source.field_name for source in registry.for_model(self.model)]
        for obj in objects:
            for field_name in fields:
                if getattr(obj, field_name):
                    yield obj, field_name

    # --- permissions: the actions are hidden from users who may not use them ------------

    def has_imagegen_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REQUEST_PERM)

    def has_imagegen_delete_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DELETE_PERM)

    def has_imagegen_preview_sample_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PREVIEW_SAMPLE_PERM)

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        for name in self.imagegen_actions:
            func = getattr(type(self), name)
            if all(getattr(self, f"has_{perm}_permission")(request) for perm in func.allowed_permissions):
                actions[name] = (func, name, func.short_description)
        return actions

    # --- the change page: a live panel of variants -------------------------------------

    def has_imagegen_view_permission(self, request: HttpRequest) -> bool:
        # The panel shows variants (status, errors, files): only to those allowed to see them.
        return request.user.has_perm(VIEW_PERM) or request.user.has_perm(CHANGE_PERM)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + ["imagegen_variants"] if obj is not None and self.has_imagegen_view_permission(request) else fields

    def get_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_fields(request, obj))
        if (obj is None or not self.has_imagegen_view_permission(request)) and "imagegen_variants" in fields:
            fields.remove("imagegen_variants")
        return fields

    @admin.display(description="Image variants")
    def imagegen_variants(self, obj: models.Model) -> str:
        sources = list(self.imagegen_sources([obj]))
        for field_name in {f for _, f in sources}:
            prefetch_variants([o for o, f in sources if f == field_name], field_name)
        status_url = reverse("admin:imagegen_variant_status")
        panels = [
            variants_panel(
                variants_for(instance, field_name), getattr(instance, field_name).url, status_url,
                title=str(instance), file_name=posixpath.basename(getattr(instance, field_name).name),
            )
            for instance, field_name in sources
        ]
        return mark_safe("".join(panels)) if panels else "No image yet."

    # --- actions ----------------------------------------------------------------------

    @admin.action(description="Restyle with…", permissions=["imagegen"])
    def imagegen_restyle(self, request: HttpRequest, queryset):
        form = RestyleForm(
            request.POST if "apply" in request.POST else None,
            # product-faithful unless the admin chooses otherwise: a product photo shows what is for sale
            initial={"_selected_action": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME), "preserve_product": "product"},
        )
        if "apply" in request.POST and form.is_valid():
            created = existing = images = 0
            for instance, field_name in self.imagegen_sources(queryset):
                images += 1
                before = set(Variant.objects.for_object(instance, field_name).values_list("pk", flat=True))
                rows = request_variants(
                    instance, field_name, list(form.cleaned_data["styles"]), format=form.cleaned_data["format"], queue=form.queue, **form.options()
                )
                new = sum(1 for row in rows if row.pk not in before)
                created, existing = created + new, existing + len(rows) - new
            self.message_user(
                request,
                f"Queued {created} new variant(s) for {images} image(s) on {form.queue}"
                + (f"; {existing} identical variant(s) already existed." if existing else ".")
                + ("" if conf.PUBLISH_REQUESTS else " New ones reach the storefront once approved (Variants › Awaiting approval)."),
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Restyle with…",
            "form": form,
            "objects": queryset,
            "opts": self.model._meta,
            "action": "imagegen_restyle",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/imagegen/restyle.html", context)

    @admin.action(description="Remove background (cut-out)", permissions=["imagegen"])
    def imagegen_remove_background(self, request: HttpRequest, queryset) -> None:
        # WebP keeps the transparency at a fraction of PNG's size
        self._queue_product_style(request, queryset, CUTOUT, format="webp", size=None, label="cut-out")

    @admin.action(description="Marketplace image (white, square)", permissions=["imagegen"])
    def imagegen_marketplace(self, request: HttpRequest, queryset) -> None:
        # JPEG: what marketplaces accept for a main image everywhere
        self._queue_product_style(request, queryset, MARKETPLACE, format="jpeg", size=MARKETPLACE_SIZE, label="marketplace image", quality=90)

    def _queue_product_style(self, request: HttpRequest, queryset, slug: str, *, format: str, size: int | None, label: str, quality: int = 85) -> None:
        """One variant of a built-in product style per selected image, on the high queue."""
        (style,), _ = ensure_product_styles([slug])  # made on first use if imagegen_product_styles never ran
        if not style.is_active:
            self.message_user(request, f"The style {style.name!r} is switched off; activate it under Styles first.", messages.ERROR)
            return
        created = existing = images = 0
        for instance, field_name in self.imagegen_sources(queryset):
            images += 1
            before = set(Variant.objects.for_object(instance, field_name).values_list("pk", flat=True))
            rows = request_variants(instance, field_name, [style], format=format, size=size, quality=quality, queue="high")
            new = sum(1 for row in rows if row.pk not in before)
            created, existing = created + new, existing + len(rows) - new
        if not images:
            self.message_user(request, "None of the selected items has an image.", messages.WARNING)
            return
        self.message_user(
            request,
            f"Queued {created} {label}(s) for {images} image(s)"
            + (f"; {existing} already existed." if existing else ".")
            + " They appear in each item's image variants when ready.",
            messages.SUCCESS,
        )

    @admin.action(description="Regenerate variants", permissions=["imagegen"])
    def imagegen_regenerate(self, request: HttpRequest, queryset) -> None:
        count = images = 0
        for instance, field_name in self.imagegen_sources(queryset):
            images += 1
            count += len(regenerate(instance, field_name, queue="high"))
        self.message_user(request, f"Queued {count} variant(s) of {images} image(s) for regeneration.", messages.SUCCESS)

    @admin.action(description="Delete variants", permissions=["imagegen_delete"])
    def imagegen_delete_variants(self, request: HttpRequest, queryset) -> None:
        count = 0
        for instance, field_name in self.imagegen_sources(queryset):
            count += Variant.objects.for_object(instance, field_name).delete()[0]
        self.message_user(request, f"Deleted {count} variant(s). Their files are removed by imagegen_cleanup.", messages.SUCCESS)

    @admin.action(description="Use for style previews", permissions=["imagegen_preview_sample"])
    def imagegen_use_for_previews(self, request: HttpRequest, queryset) -> None:
        """Make the selected item's (first) image the sample every style preview is rendered on."""
        selected = list(queryset[:2])  # two are enough to know it is not exactly one
        if len(selected) != 1:
            self.message_user(request, "Select exactly one item to use for style previews.", messages.ERROR)
            return
        # A product may have several images (the demo's ProductAdmin): its first one.
        source = next(iter(self.imagegen_sources(selected)), None)
        if source is None:
            self.message_user(request, f"“{selected[0]}” has no image to use for style previews.", messages.WARNING)
            return
        instance, field_name = source
        choose_sample(instance, field_name, user=request.user)  # queues the re-render on a worker
        self.message_user(request, f"Style previews will now show {instance}; they are being re-rendered.", messages.SUCCESS)


class VariantInline(GenericTabularInline):
    """A plain table of a source's variants, for hosts that prefer an inline to the panel."""

    model = Variant
    ct_field = "content_type"
    ct_fk_field = "object_id"
    extra = 0
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
