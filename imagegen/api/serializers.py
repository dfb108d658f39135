"""What the API says about styles, variants and requests, and what it accepts.

Read serializers never touch storage or the database beyond what the view prefetched:
URLs come from the rows (``Variant.file``), the source image URL from the prefetched
source object.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from django.contrib.contenttypes.models import ContentType
from django.http.request import validate_host
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..conf import conf
from ..models import Style, Variant
from ..specs import FORMATS, normalise_ratio
from ..variant_requests import VariantRequest, summarise
from . import refs
from .permissions import visible_sources

FORMAT_CHOICES = ["webp", "jpeg", "png", "avif"]
PRIORITY_CHOICES = ["high", "default", "bulk"]
PRESERVE_PRODUCT_CHOICES = ["off", "product", "background"]
NULLABLE_URI = {"type": "string", "format": "uri", "nullable": True}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".avif", ".gif")


def absolute_url(context: dict, url: str | None) -> str | None:
    """Storage URLs as absolute URLs (local storage gives /media/...; S3 is already absolute)."""
    if not url:
        return None
    request = context.get("request")
    if request is not None and url.startswith("/"):
        return request.build_absolute_uri(url)
    return url


def source_ref(variant: Variant) -> str:
    # ContentType's own cache: no query per row, whether or not the view used select_related.
    content_type = ContentType.objects.get_for_id(variant.content_type_id)
    return refs.format_ref(f"{content_type.app_label}.{content_type.model}", variant.object_id)


class StyleSerializer(serializers.ModelSerializer):
    preview_url = serializers.SerializerMethodField(
        help_text="The style on a sample product (rendered by a worker job); null until rendered."
    )
    reference_url = serializers.SerializerMethodField(help_text="The style's reference image, if it has one that is an image.")

    class Meta:
        model = Style
        fields = ["slug", "name", "processor", "parameters", "show_on_storefront", "preview_url", "reference_url", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(NULLABLE_URI)
    def get_preview_url(self, style: Style) -> str | None:
        return absolute_url(self.context, style.preview.url) if style.preview else None

    @extend_schema_field(NULLABLE_URI)
    def get_reference_url(self, style: Style) -> str | None:
        if not style.reference or not style.reference.name.lower().endswith(IMAGE_EXTENSIONS):
            return None
        return absolute_url(self.context, style.reference.url)


class VariantSummarySerializer(serializers.ModelSerializer):
    """A variant in a list inside another resource (a request, a product image)."""

    source = serializers.SerializerMethodField(help_text="The source object, as app_label.model:pk.")
    spec = serializers.CharField(source="spec_name", read_only=True, help_text="The spec (or style) name.")
    style = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True, help_text="Style slug (null for processor specs).")
    url = serializers.SerializerMethodField(help_text="The image file; null until ready.")
    format = serializers.SerializerMethodField(help_text="Output format: webp, jpeg, png or avif.")
    bytes = serializers.IntegerField(source="file_size", read_only=True, allow_null=True, help_text="File size in bytes.")

    class Meta:
        model = Variant
        fields = ["id", "status", "is_published", "source", "spec", "style", "url", "width", "height", "format", "bytes", "error"]
        read_only_fields = fields

    def get_source(self, variant: Variant) -> str:
        return source_ref(variant)

    @extend_schema_field(NULLABLE_URI)
    def get_url(self, variant: Variant) -> str | None:
        if variant.status != Variant.Status.READY or not variant.file:
            return None
        return absolute_url(self.context, variant.file.url)

    @extend_schema_field(serializers.ChoiceField(choices=FORMAT_CHOICES))
    def get_format(self, variant: Variant) -> str:
        return (variant.format or variant.requested_format).lower()  # JPEG -> jpeg


class VariantSerializer(VariantSummarySerializer):
    """Everything about one variant: status, file, figures, provenance, timings."""

    source_field = serializers.CharField(source="field_name", read_only=True, help_text="The image field of the source.")
    source_url = serializers.SerializerMethodField(help_text="The original image this variant was made from.")
    figures = serializers.JSONField(source="metrics", read_only=True, help_text="Quality figures (e.g. content SSIM, colour dE2000).")
    timings = serializers.JSONField(read_only=True, help_text="Milliseconds per stage (read, decode, process, encode, save).")
    parameters = serializers.JSONField(read_only=True, help_text="Processor parameters, options included.")
    duration_ms = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta(VariantSummarySerializer.Meta):
        fields = [
            "id", "status", "is_published", "source", "source_field", "source_url", "spec", "style", "processor",
            "parameters", "url", "width", "height", "format", "bytes", "figures", "error", "model_version",
            "attempts", "timings", "duration_ms", "created_at", "updated_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(NULLABLE_URI)
    def get_source_url(self, variant: Variant) -> str | None:
        source = variant.source  # prefetched by the view (prefetch_related("source"))
        fieldfile = getattr(source, variant.field_name, None) if source is not None else None
        return absolute_url(self.context, fieldfile.url) if fieldfile else None


# --- requests for new work -----------------------------------------------------------------

class RequestOptionsSerializer(serializers.Serializer):
    """Options every restyle understands; unknown keys are refused, not ignored."""

    strength = serializers.FloatField(min_value=0, max_value=1, required=False, help_text="0 keeps the photo, 1 applies the full style.")
    preserve_colors = serializers.BooleanField(required=False, help_text="Keep the product's own colours; transfer light and texture.")
    preserve_product = serializers.ChoiceField(
        choices=PRESERVE_PRODUCT_CHOICES, required=False,
        help_text="off: restyle everything; product: keep the product, restyle the background; background: the reverse.",
    )
    preserve_amount = serializers.FloatField(
        min_value=0, max_value=1, required=False, help_text="With preserve_product: how much of the source the preserved part keeps (default 0.75)."
    )

    aspect = serializers.CharField(
        required=False, max_length=11,
        help_text="Crop the result around the product to this aspect ratio, width:height (e.g. \"1:1\", \"4:5\", \"16:9\"); "
        "the product is never cut when it fits.",
    )

    def validate_aspect(self, value: str) -> str:
        try:
            ratio = normalise_ratio(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        w, h = (int(x) for x in ratio.split(":"))
        if not 0.1 <= w / h <= 10:
            raise serializers.ValidationError(f"Aspect ratio {value!r} is too extreme; use one between 1:10 and 10:1.")
        return ratio

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                allowed = ", ".join(self.fields)
                raise serializers.ValidationError({key: [f"Unknown option {key!r}; allowed: {allowed}."] for key in unknown})
        values = super().to_internal_value(data)
        if values.get("preserve_product") == "off":
            del values["preserve_product"]  # the engine's default: nothing to send
        return values


class RequestCreateSerializer(serializers.Serializer):
    """``POST jobs/``: one variant per (source, style)."""

    sources = serializers.ListField(
        child=serializers.CharField(max_length=200), allow_empty=False,
        help_text=f"Source images as app_label.model:pk (e.g. {refs.EXAMPLE}) or app_label.model.field:pk.",
    )
    styles = serializers.ListField(child=serializers.SlugField(), allow_empty=False, max_length=20, help_text="Slugs of active styles.")
    options = RequestOptionsSerializer(required=False)
    format = serializers.ChoiceField(
        choices=FORMAT_CHOICES, required=False,
        error_messages={"invalid_choice": "Unknown format {input!r}; use one of webp, jpeg, png, avif."},
        help_text="Output format (default: IMAGEGEN['DEFAULT_FORMAT']).",
    )
    size = serializers.IntegerField(min_value=16, max_value=8192, required=False, allow_null=True, help_text="Longest side in pixels (never upscaled).")
    priority = serializers.ChoiceField(choices=PRIORITY_CHOICES, default="high", help_text="Queue: high (now), default, bulk (background).")
    callback_url = serializers.URLField(
        required=False, allow_blank=True, max_length=500,
        help_text="Receives a signed POST when every variant is done; its host must be in IMAGEGEN['WEBHOOK_ALLOWED_HOSTS'].",
    )
    regenerate = serializers.BooleanField(default=False, help_text="Render again even if an identical variant exists (costs GPU time).")

    def validate_sources(self, values: list[str]) -> list[tuple[refs.SourceRef, Any]]:
        limit = int(conf.API_MAX_SOURCES)
        if len(values) > limit:
            raise serializers.ValidationError(f"At most {limit} sources per request (got {len(values)}); split the request.")
        # Every problem is reported at once, in the client's order: malformed references and
        # ones that name no visible object (a client fixing the first must not meet the second next).
        parsed, errors = [], {}
        for position, value in enumerate(values):
            try:
                parsed.append((position, value, refs.parse(value)))
            except refs.BadReference as exc:
                errors[position] = str(exc)
        # One query per source model, through the visibility hook: a source the user cannot
        # see is answered exactly like one that does not exist.
        by_model: dict[Any, list[refs.SourceRef]] = defaultdict(list)
        for _, _, ref in parsed:
            by_model[ref.source.model].append(ref)
        user = self.context["request"].user
        found: dict[tuple[Any, str], Any] = {}
        for model, model_refs in by_model.items():
            for obj in visible_sources(user, model).filter(pk__in=[r.pk for r in model_refs]):
                found[(model, str(obj.pk))] = obj
        result, seen = [], set()
        for position, value, ref in parsed:
            instance = found.get((ref.source.model, ref.object_id))
            if instance is None:
                errors[position] = f"Unknown source {value!r}: no such object, or you cannot see it."
            elif not getattr(instance, ref.source.field_name):
                errors[position] = f"Source {value!r} has no image in {ref.source.field_name!r} to make variants of."
            elif (ref.source.id, ref.object_id) not in seen:
                seen.add((ref.source.id, ref.object_id))
                result.append((ref, instance))
        if errors:
            raise serializers.ValidationError([errors[position] for position in sorted(errors)])
        return result

    def validate_styles(self, values: list[str]) -> list[Style]:
        slugs = list(dict.fromkeys(values))
        styles = {s.slug: s for s in Style.objects.filter(slug__in=slugs, is_active=True)}
        missing = [slug for slug in slugs if slug not in styles]
        if missing:
            active = ", ".join(Style.objects.filter(is_active=True).order_by("slug").values_list("slug", flat=True)[:50]) or "none"
            raise serializers.ValidationError([f"Unknown style {slug!r}; active styles: {active}." for slug in missing])
        return [styles[slug] for slug in slugs]

    def validate_callback_url(self, value: str) -> str:
        if not value:
            return ""
        if not conf.WEBHOOK_SECRET:
            raise serializers.ValidationError("Webhooks are not enabled on this server (IMAGEGEN['WEBHOOK_SECRET'] is not set).")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise serializers.ValidationError("The callback URL must be http or https.")
        if not parts.hostname or not validate_host(parts.hostname, list(conf.WEBHOOK_ALLOWED_HOSTS)):
            raise serializers.ValidationError(
                f"Host {parts.hostname!r} is not allowed for callbacks; allowed: {', '.join(conf.WEBHOOK_ALLOWED_HOSTS) or 'none'} "
                "(IMAGEGEN['WEBHOOK_ALLOWED_HOSTS'])."
            )
        return value

    def validate_format(self, value: str) -> str:
        return FORMATS[value].lower()


class WebhookSerializer(serializers.Serializer):
    status = serializers.CharField(source="webhook_status", help_text="Empty (no callback), pending, queued, sending, delivered or failed.")
    attempts = serializers.IntegerField(source="webhook_attempts")
    next_attempt_at = serializers.DateTimeField(source="webhook_next_attempt_at", allow_null=True)
    delivered_at = serializers.DateTimeField(source="webhook_delivered_at", allow_null=True)
    last_error = serializers.CharField(source="webhook_last_error")


class CountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    ready = serializers.IntegerField()
    failed = serializers.IntegerField()
    stale = serializers.IntegerField()


class RequestSerializer(serializers.ModelSerializer):
    """A request and the progress of its variants (the variants are prefetched)."""

    status = serializers.SerializerMethodField(help_text="pending, running, then ready, partial or failed once every variant is settled.")
    progress = serializers.SerializerMethodField(help_text="Share of variants settled, 0..1.")
    counts = serializers.SerializerMethodField(help_text="Variants per status.")
    variants = VariantSummarySerializer(many=True, read_only=True)
    webhook = WebhookSerializer(source="*", read_only=True)
    callback_url = serializers.CharField(read_only=True, help_text="Empty when no webhook was asked for.")

    class Meta:
        model = VariantRequest
        fields = ["id", "status", "progress", "counts", "variants", "options", "callback_url", "webhook", "created_at", "completed_at"]
        read_only_fields = fields

    def _summary(self, obj: VariantRequest) -> tuple[str, dict[str, int], float]:
        cached = getattr(obj, "_imagegen_summary", None)
        if cached is None:
            cached = obj._imagegen_summary = summarise([v.status for v in obj.variants.all()])
        return cached

    @extend_schema_field({"type": "string", "enum": ["pending", "running", "ready", "partial", "failed"]})
    def get_status(self, obj: VariantRequest) -> str:
        return self._summary(obj)[0]

    @extend_schema_field(OpenApiTypes.FLOAT)
    def get_progress(self, obj: VariantRequest) -> float:
        return self._summary(obj)[2]

    @extend_schema_field(CountsSerializer)
    def get_counts(self, obj: VariantRequest) -> dict[str, int]:
        return self._summary(obj)[1]
