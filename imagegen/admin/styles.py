from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from .. import previews
from ..models import Style, Variant
from ..natural import natural_ordering
from ..previews import sample_label
from ..queue import get_queue
from ..requests import RESTYLE_OPTION_KEYS  # the restyle options; other generic ones are output settings
from .param_fields import GENERIC
from .style_form import StyleForm, build_style_form

logger = logging.getLogger(__name__)


PREVIEW_IMG = '<img src="{}" alt="{}" loading="lazy" style="width:{}px;height:{}px;object-fit:cover;border-radius:6px;background:#eee">'


def preview_thumbnail(style: Style, size: int = 72) -> str:
    if style.preview:
        return format_html(PREVIEW_IMG, style.preview.url, f"{style.name} preview", size, size)
    if style.preview_error:
        return format_html('<span title="{}" style="color:#ba2121">preview failed</span>', style.preview_error)
    return format_html('<span style="color:#888">{}</span>', "rendering…")


@admin.register(Style)
class StyleAdmin(admin.ModelAdmin):
    form = StyleForm
    change_form_template = "admin/imagegen/style/change_form.html"
    change_list_template = "admin/imagegen/style/change_list.html"  # "Previews show: …" above the list
    list_display = ["preview_image", "name", "processor", "is_active", "show_on_storefront", "catalogue_progress", "updated_at"]
    list_display_links = ["preview_image", "name"]
    list_editable = ["show_on_storefront"]
    list_filter = ["processor", "is_active", "show_on_storefront"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["preview_panel", "recent_variants"]
    actions = ["activate", "deactivate", "show_on_storefront_action", "hide_from_storefront", "render_preview", "apply_to_catalogue"]

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        kwargs["form"] = self._style_form(request)
        return super().get_form(request, obj, change=change, **kwargs)

    @staticmethod
    def _style_form(request: HttpRequest) -> type[StyleForm]:
        """The form class, built once per request (get_form, get_fieldsets and the change
        form's context all need it; processors registered later still show next request)."""
        form = getattr(request, "_imagegen_style_form", None)
        if form is None:
            form = request._imagegen_style_form = build_style_form()
        return form

    def get_fieldsets(self, request: HttpRequest, obj=None):
        form = self._style_form(request)
        sets: list = [(None, {"fields": ["name", "slug", "processor", "reference", "kept_reference", "is_active", "show_on_storefront"]})]
        if obj is not None:
            sets.insert(0, ("Preview", {"fields": ["preview_panel"]}))
        for info in form.processor_infos:
            names = form.param_fields.get(info.name, [])
            if names:
                sets.append((f"{info.name.capitalize()} settings", {"fields": names, "classes": ["imagegen-params", f"imagegen-params-{info.name}"]}))
        generic = form.param_fields.get(GENERIC, [])
        restyle = [n for n in generic if n.rsplit("__", 1)[1] in RESTYLE_OPTION_KEYS]
        sets.append(("Restyle options", {"fields": restyle, "classes": ["imagegen-params", "imagegen-params-generic"],
                                         "description": "How the result is blended with the product photo."}))
        if len(restyle) < len(generic):
            sets.append(("Output", {"fields": [n for n in generic if n not in restyle]}))
        sets.append(("Advanced", {"fields": ["parameters"], "classes": ["collapse"]}))
        if obj is not None:
            sets.append(("Recent variants", {"fields": ["recent_variants"]}))
        return sets

    def render_change_form(self, request, context, *args, **kwargs):
        form = self._style_form(request)
        context["processor_meta"] = {
            info.name: {"description": info.description, "options": info.restyle_options, "reference": info.needs_reference}
            for info in form.processor_infos
        }
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description="Preview")
    def preview_image(self, obj: Style) -> str:
        return preview_thumbnail(obj)

    @admin.display(description="Preview")
    def preview_panel(self, obj: Style) -> str:
        """The rendered sample, and the reference next to it for reference-image styles."""
        parts = []
        if obj.preview:
            parts.append(format_html('<figure style="margin:0"><img src="{}" alt="preview of {}" style="max-width:320px;border-radius:8px">'
                                     "<figcaption>On {}</figcaption></figure>", obj.preview.url, obj.name, sample_label()))
        elif obj.preview_error:
            parts.append(format_html('<p style="color:#ba2121">The preview could not be rendered: {}</p>', obj.preview_error))
        else:
            parts.append(format_html("<p>Rendering a preview on {}… reload in a few seconds.</p>", sample_label()))
        if obj.reference_is_image:
            parts.append(format_html('<figure style="margin:0"><img src="{}" alt="reference of {}" style="max-width:320px;border-radius:8px">'
                                     "<figcaption>Reference</figcaption></figure>", obj.reference.url, obj.name))
        return format_html('<div style="display:flex;gap:16px;align-items:flex-start">{}</div>', format_html_join("", "{}", ((p,) for p in parts)))

    def save_model(self, request: HttpRequest, obj: Style, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # The preview job is queued by the save itself (imagegen.previews); say where it shows.
        self.message_user(request, f"A preview of “{obj.name}” is being rendered on {sample_label()}; it shows in the list within seconds.", messages.INFO)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra = {"preview_sample_label": sample_label(), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def get_ordering(self, request: HttpRequest):
        return [natural_ordering(Style)]  # "Style 2" before "Style 10"

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
            return "No variants yet: restyle a product (“Restyle with…” on the products list) or apply the style to the catalogue."
        return format_html_join(
            "", '<img src="{}" alt="{}" title="{}" style="max-height:140px;margin-right:8px;border-radius:6px">', ((v.url, v.spec_name, v.spec_name) for v in rows)
        )

    @admin.action(description="Activate selected styles", permissions=["change"])
    def activate(self, request: HttpRequest, queryset) -> None:
        self.message_user(request, f"Activated {queryset.update(is_active=True)} style(s).", messages.SUCCESS)

    @admin.action(description="Deactivate selected styles", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset) -> None:
        self.message_user(request, f"Deactivated {queryset.update(is_active=False)} style(s).", messages.SUCCESS)

    @admin.action(description="Show selected styles on the storefront", permissions=["change"])
    def show_on_storefront_action(self, request: HttpRequest, queryset) -> None:
        self.message_user(request, f"{queryset.update(show_on_storefront=True)} style(s) now show on the storefront.", messages.SUCCESS)

    @admin.action(description="Hide selected styles from the storefront", permissions=["change"])
    def hide_from_storefront(self, request: HttpRequest, queryset) -> None:
        self.message_user(request, f"{queryset.update(show_on_storefront=False)} style(s) hidden from the storefront.", messages.SUCCESS)

    @admin.action(description="Render the preview again", permissions=["imagegen"])
    def render_preview(self, request: HttpRequest, queryset) -> None:
        # A worker job per style: never rendered in this request.
        queued = sum(1 for pk in queryset.values_list("pk", flat=True) if previews.enqueue(pk, force=True))
        self.message_user(request, f"Rendering {queued} preview(s) on {sample_label()}; they appear in this list within seconds.", messages.INFO)

    @admin.action(description="Apply to the whole catalogue (bulk queue)", permissions=["imagegen"])
    def apply_to_catalogue(self, request: HttpRequest, queryset) -> None:
        ids = list(queryset.filter(is_active=True).values_list("pk", flat=True))
        # Walking the catalogue is itself queued: a big shop must not time out this request.
        get_queue("bulk").enqueue("imagegen.jobs.warm_styles", ids, "*", "missing", job_timeout=3600)
        self.message_user(request, f"Queued {len(ids)} style(s) for the whole catalogue; progress shows in this list.", messages.SUCCESS)

    def has_imagegen_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("imagegen.request_variant")
