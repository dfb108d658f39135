"""Collecting the training images: every image of every registered source, read through
Django storage and handed to the engine as plain bytes, lazily (one file in memory at once).
Prepared tensors are cached in the imagegen storage, keyed by content hash and settings."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.files.base import ContentFile
from django.db import models

from ..conf import conf
from ..registry import registry
from ..storage import variant_storage
from ..warm import iter_instances

logger = logging.getLogger(__name__)

__all__ = ["collect", "StorageCache", "label_of", "load_catalogue"]


def label_of(instance: models.Model, path: str | None) -> str:
    """Follow an attribute path such as "product.category.slug"; "" when unset or broken."""
    if not path:
        return ""
    value: Any = instance
    for part in path.split("."):
        try:
            value = getattr(value, part)
        except (AttributeError, ObjectDoesNotExist):
            return ""
        if value is None:
            return ""
    return str(value)


def collect(label_path: str | None = None, missing: list[tuple[str, str]] | None = None) -> Iterator[Any]:
    """CatalogueItems for every registered source image. Files that storage cannot open are
    reported in ``missing`` as (key, reason) and skipped."""
    from ..engine.training.data import CatalogueItem

    for source in registry.sources():
        for instance in iter_instances(source):
            fieldfile = getattr(instance, source.field_name)
            key = f"{source.id}:{instance.pk}"
            try:
                with fieldfile.storage.open(fieldfile.name, "rb") as stream:
                    data = stream.read()
            except OSError as exc:
                logger.warning("imagegen training: cannot read %s (%s)", key, exc)
                if missing is not None:
                    missing.append((key, f"not readable from storage: {exc}"))
                continue
            yield CatalogueItem(key=key, data=data, label=label_of(instance, label_path))


class StorageCache:
    """The engine's TensorCache in the imagegen storage (shared by every worker host)."""

    def __init__(self) -> None:
        self.storage = variant_storage()
        self.prefix = f"{conf.TRAINING_UPLOAD_TO}/cache"

    def get(self, name: str) -> bytes | None:
        path = f"{self.prefix}/{name}"
        try:
            if not self.storage.exists(path):
                return None
            with self.storage.open(path, "rb") as stream:
                return stream.read()
        except OSError:
            return None

    def put(self, name: str, data: bytes) -> None:
        path = f"{self.prefix}/{name}"
        try:
            if not self.storage.exists(path):
                self.storage.save(path, ContentFile(data))
        except OSError as exc:  # a cache: failing to write it only costs time next run
            logger.warning("imagegen training: cannot write cache %s (%s)", path, exc)


def load_catalogue(*, size: int, conditional: bool, holdout: float, min_side: int, background: tuple[int, int, int]):
    """The prepared CatalogueData of the whole catalogue (train and held-out)."""
    from ..engine.training.data import prepare

    missing: list[tuple[str, str]] = []
    items = collect(conf.TRAINING_LABEL if conditional else None, missing)
    try:
        data = prepare(items, size=size, background=background, min_side=min_side, holdout=holdout, cache=StorageCache())
    except ValueError as exc:
        sources = ", ".join(s.id for s in registry.sources()) or "none registered"
        unreadable = f" {len(missing)} could not be read from storage." if missing else ""
        raise ValueError(
            f"{exc}{unreadable} Training uses the images of the registered sources ({sources}) that are at least "
            f"{min_side} px on the shorter side: upload product images first."
        ) from exc
    data.report.corrupt.extend(missing)
    data.report.collected += len(missing)
    return data
