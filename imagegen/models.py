from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from .storage import variant_storage


class Style(models.Model):
    """A named look an admin can apply: a processor, its parameters and an optional reference
    file (a photo whose colours to copy, a .cube LUT, a style image)."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    processor = models.CharField(max_length=50)
    parameters = models.JSONField(default=dict, blank=True)
    reference = models.FileField(upload_to="imagegen/styles/", blank=True)
    # Style vector of the reference image in the style predictor's embedding ("style" processor):
    # computed once by a worker job (imagegen.style_vectors), with the hash of the file it came from.
    style_vector = models.JSONField(null=True, blank=True, editable=False)
    style_vector_source = models.CharField(max_length=64, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    show_on_storefront = models.BooleanField(
        default=False,
        help_text=_("Offer this style to shoppers (the storefront's style switcher). Leave off for experiments."),
    )
    # What the style looks like on a sample product: rendered by a worker job (imagegen.previews),
    # never in a web request. preview_key records what it was rendered from (processor,
    # parameters, reference, sample, engine version): a different key means it is out of date.
    preview = models.FileField(upload_to="imagegen/previews/", blank=True, editable=False)
    preview_key = models.CharField(max_length=64, blank=True, editable=False)
    preview_error = models.TextField(blank=True, editable=False)
    preview_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def reference_is_image(self) -> bool:
        """A photo or picture (shown beside the preview), not a .cube LUT or weights file."""
        return bool(self.reference) and self.reference.name.lower().endswith((".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif"))


class VariantQuerySet(models.QuerySet):
    def for_object(self, obj: models.Model, field_name: str | None = None) -> VariantQuerySet:
        qs = self.filter(content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk))
        return qs.filter(field_name=field_name) if field_name else qs

    def current(self) -> VariantQuerySet:
        return self.exclude(status=Variant.Status.STALE)

    def ready(self) -> VariantQuerySet:
        return self.filter(status=Variant.Status.READY)

    def awaiting_approval(self) -> VariantQuerySet:
        """Ready, not published, not rejected: what the review page lists."""
        return self.ready().filter(is_published=False).exclude(review=Variant.Review.REJECTED)


class Variant(models.Model):
    """One generated image of one source image field. The database is the source of truth:
    pending rows are the outbox of work still to do, ready rows say everything the read path
    needs (URL, size, format) without touching storage."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        STALE = "stale", _("Stale")

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    # A string, so sources with integer, UUID or text primary keys all work.
    object_id = models.CharField(max_length=64)
    source = GenericForeignKey("content_type", "object_id")
    field_name = models.CharField(max_length=100)
    source_hash = models.CharField(max_length=64, help_text=_("sha256 of the source file's bytes"))

    spec_name = models.CharField(max_length=100)
    style = models.ForeignKey(Style, null=True, blank=True, on_delete=models.SET_NULL, related_name="variants")
    processor = models.CharField(max_length=50)
    parameters = models.JSONField(default=dict, blank=True)
    spec_hash = models.CharField(max_length=64)
    requested_format = models.CharField(max_length=10)
    max_size = models.PositiveIntegerField(null=True, blank=True)
    quality = models.PositiveSmallIntegerField(default=85)
    queue = models.CharField(max_length=50, blank=True)

    class Origin(models.TextChoices):
        SPEC = "spec", _("Registered spec")  # follows IMAGEGEN["AUTO_PUBLISH"]
        REQUEST = "request", _("Admin or API request")  # waits for approval (PUBLISH_REQUESTS)

    class Review(models.TextChoices):
        NONE = "", _("Not reviewed")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    is_published = models.BooleanField(default=False)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.SPEC)
    review = models.CharField(max_length=10, choices=Review.choices, default=Review.NONE, blank=True)
    file = models.FileField(storage=variant_storage, max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True, help_text=_("bytes"))
    format = models.CharField(max_length=10, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    job_id = models.CharField(max_length=200, blank=True)
    worker_name = models.CharField(max_length=200, blank=True, help_text=_("the worker rendering or last rendering it"))
    model_version = models.CharField(max_length=100, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text=_("milliseconds per stage"))

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = VariantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field_name", "spec_hash", "source_hash"],
                name="imagegen_variant_unique_per_source_and_spec",
            ),
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id", "field_name"], name="imagegen_variant_source"),
            models.Index(fields=["status", "updated_at"], name="imagegen_variant_status_age"),
        ]
        permissions = [("request_variant", "Can request new variants (costs GPU time)")]

    def __str__(self) -> str:
        # what a shop admin reads in page titles and messages ("Sketch of product image #38,
        # ready"); get_for_id is served from Django's content type cache, not a query per row
        kind = ContentType.objects.get_for_id(self.content_type_id).name
        return f"{self.spec_name.capitalize()} of {kind} #{self.object_id}, {self.get_status_display().lower()}"

    @property
    def source_id_string(self) -> str:
        return f"{self.content_type.app_label}.{self.content_type.model}.{self.field_name}"

    @property
    def url(self) -> str:
        return self.file.url if self.file else ""

    @property
    def duration_ms(self) -> int | None:
        if self.started_at and self.finished_at:
            return int((self.finished_at - self.started_at).total_seconds() * 1000)
        return None


class ProductMask(models.Model):
    """Where the product is in one source's content: computed once per (content hash,
    segmenter) by the worker, stored as an 8-bit PNG, and reused by every variant of that
    content and every mask-using option (cut-outs, backgrounds, crops, preserve_product,
    the figures). Sources with a real alpha channel need none: their alpha is the mask."""

    source_hash = models.CharField(max_length=64, help_text=_("sha256 of the source file's bytes"))
    segmenter = models.CharField(
        max_length=100, help_text=_("the network and weights that made it, e.g. u2netp@1a2b3c4d5e6f")
    )
    file = models.FileField(storage=variant_storage, max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    coverage = models.FloatField(help_text=_("share of the image that is product, 0..1"))
    runtime_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_hash", "segmenter"], name="imagegen_productmask_unique"),
        ]

    def __str__(self) -> str:
        return f"mask {self.source_hash[:12]} ({self.segmenter})"



class PreviewSample(models.Model):
    """The product image a shop admin chose for style previews (the admin action "Use for
    style previews"). Rows are kept as a history; the latest one is the choice."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64)  # a string, like Variant.object_id: any pk type
    field_name = models.CharField(max_length=100)
    chosen_at = models.DateTimeField(auto_now_add=True)
    # SET_NULL: deleting a staff account must not forget the shop's choice
    chosen_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        get_latest_by = ["chosen_at", "pk"]

    def __str__(self) -> str:
        return f"{self.content_type.app_label}.{self.content_type.model}.{self.field_name}:{self.object_id}"

from .variant_requests import VariantRequest  # noqa: E402,F401  (API requests and their webhooks)
from .training.models import TrainingRun  # noqa: E402,F401  (training runs: imagegen_train, docs/models.md)
