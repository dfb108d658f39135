"""imagegen's settings: one lazy object read from ``settings.IMAGEGEN``.

Values are resolved on first access and reset when tests override settings, so
``from imagegen.conf import conf`` is safe at import time.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # Queue per purpose; each must exist in settings.RQ_QUEUES (a system check says so).
    "QUEUES": {
        "high": "imagegen-high",
        "default": "imagegen",
        "bulk": "imagegen-bulk",
        "train": "imagegen-train",
    },
    # Seconds a job may run before the worker kills it.
    "JOB_TIMEOUT": 600,
    # Pending rows older than this (seconds) without a live job are re-enqueued by reconcile.
    "RECONCILE_AFTER": 60,
    # How often (seconds) each imagegen worker runs reconcile.
    "RECONCILE_INTERVAL": 30,
    # torch threads per worker process (None: torch's default, one per core). Several workers
    # on one host should share the cores out: two workers with a thread per core each slow
    # each other down many times over.
    "TORCH_THREADS": None,
    # Renders one network call may take: variants of the same network from different sources
    # are batched (style networks). None: 8 on a CUDA worker, 1 (no batching) on a CPU worker,
    # where batches measured slower (docs/benchmarks.md).
    "BATCH_SIZE": None,
    # Milliseconds a job waits for more pending renders of its network before running a
    # partial batch (only when BATCH_SIZE > 1).
    "BATCH_WAIT_MS": 20,
    # Seconds without a heartbeat after which a worker counts as dead and its work is redone.
    "WORKER_HEARTBEAT_TTL": 15,
    # Transient failures (storage, OOM) are retried this many times before the row fails.
    "MAX_ATTEMPTS": 3,
    # Alias in settings.STORAGES where variant files are written.
    "STORAGE": "default",
    # Folder (inside that storage) for variant files; names are content hashes.
    "UPLOAD_TO": "imagegen/variants",
    # Safety limits applied before decoding an upload.
    "MAX_SOURCE_BYTES": 50 * 1024 * 1024,
    "MAX_SOURCE_PIXELS": 50_000_000,
    # Default output encoding.
    "DEFAULT_FORMAT": "webp",
    "DEFAULT_QUALITY": 85,
    # Background for formats without alpha (JPEG): a transparent product must not turn black.
    "BACKGROUND": (255, 255, 255),
    # Publish ready variants of registered specs automatically (otherwise an admin approves them).
    "AUTO_PUBLISH": True,
    # Publish ad-hoc work (admin "Restyle with…", API requests) automatically. False: it waits
    # on the admin's "Awaiting approval" page, so an experiment never reaches the storefront.
    "PUBLISH_REQUESTS": False,
    # Where style previews are rendered: "app_label.model.field:pk" (e.g.
    # "shop.productimage.image:12"), or None for the first registered source image (a drawn
    # sample product while the catalogue is empty).
    "PREVIEW_SAMPLE": None,
    # Long side (px) of style previews.
    "PREVIEW_SIZE": 384,
    # REST API (imagegen.api, docs/api.md). Dotted path of visible(user, queryset) -> queryset:
    # which source objects a non-staff user (or anonymous) may see; None: every source.
    "API_SOURCE_VISIBILITY": None,
    # Extra variant filters by a source's parent, e.g. {"product": {"shop.productimage": "product"}}
    # gives ?product=42 (ProductImage rows whose product is 42).
    "API_PARENT_FILTERS": {},
    "API_MAX_SOURCES": 50,  # sources in one POST jobs/ request
    "API_REQUEST_RATE": "60/hour",  # work-creating requests per user (DRF rate syntax); None: no limit
    "API_RETRY_AFTER": 5,  # seconds clients are told to wait before polling a pending variant again
    # Webhooks: callbacks are POSTed, signed with HMAC-SHA256, only to hosts in the allow-list.
    "WEBHOOK_SECRET": "",
    "WEBHOOK_ALLOWED_HOSTS": [],  # like ALLOWED_HOSTS: "hooks.example.com", ".example.com"
    "WEBHOOK_TIMEOUT": 10,  # seconds per delivery attempt
    "WEBHOOK_RETRY_DELAYS": [10, 60, 300, 1800, 7200],  # seconds before each retry
    "WEBHOOK_QUEUE": "high",
    # Training (imagegen_train, docs/models.md). Checkpoints, weights and sample grids go to
    # this folder of the STORAGE storage.
    "TRAINING_UPLOAD_TO": "imagegen/training",
    # Attribute path from a source instance to its category, for category-conditional GANs
    # (e.g. "product.category.slug"); None: the GAN is unconditional.
    "TRAINING_LABEL": None,
    # imagegen_train segment: a folder of background photos the transparent products are
    # composited on (None: the reference images of look/background styles, else procedural).
    "SEGMENT_BACKGROUNDS": None,
    # Seconds a training job may run on the imagegen-train queue.
    "TRAINING_JOB_TIMEOUT": 24 * 3600,
    # Generated images closer than this to a training image (RMS pixel difference of 32x32
    # thumbnails, 0..1) are rejected as copies.
    "MEMORISATION_THRESHOLD": 0.02,
    # Quality gates on restyled variants (figures in Variant.metrics, engine/restyle.py): a
    # variant outside them fails with a message. Keys: content_ssim_min (e.g. 0.2: the
    # product must stay recognisable), product_delta_e_max, style_distance_max. {}: no gate.
    "QUALITY_THRESHOLDS": {},
}


class ImagegenSettings:
    """Attribute access to IMAGEGEN settings merged over DEFAULTS."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        user = getattr(settings, "IMAGEGEN", {}) or {}
        merged = {**DEFAULTS, **user}
        merged["QUEUES"] = {**DEFAULTS["QUEUES"], **user.get("QUEUES", {})}
        return merged

    @property
    def user_keys(self) -> set[str]:
        return set(getattr(settings, "IMAGEGEN", {}) or {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._cache is None:
            self._cache = self._load()
        try:
            return self._cache[name]
        except KeyError:
            raise AttributeError(f"IMAGEGEN has no setting {name!r}") from None

    def reset(self) -> None:
        self._cache = None


conf = ImagegenSettings()


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in {"IMAGEGEN", "RQ_QUEUES", "STORAGES"}:
        conf.reset()


setting_changed.connect(_reset)
