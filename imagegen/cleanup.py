"""Removing what nothing needs any more: variant files no row references, rows whose source
is gone (its object deleted, its model uninstalled, or its image field emptied), and stored
product masks of content no variant refers to any more (their PNGs live next to the variants).

Safety rules, because this deletes from production storage:
- Only files under ``IMAGEGEN["UPLOAD_TO"]`` in the variant storage are ever listed, so source
  images (the shop's uploads) are out of reach even when both share a bucket. Names that a
  registered source field holds are protected as well, in case a host stores uploads there.
- A file younger than ``min_age`` is kept: a worker saves the file a moment before it updates
  the row that references it.
- Each file is checked against the database again right before it is deleted: names are
  content hashes, so a new variant with the same bytes may have started to use it.
- Rows go before files, so no row ever points at a deleted file.
"""
from __future__ import annotations

import logging
import posixpath
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.core.files.storage import Storage
from django.db import models
from django.utils import timezone

from .conf import conf
from .models import ProductMask, Variant
from .registry import registry
from .storage import variant_storage

logger = logging.getLogger(__name__)

CHUNK = 500


@dataclass
class CleanupReport:
    dry_run: bool
    prefix: str
    rows_without_source: list[str] = field(default_factory=list)  # "#id source:spec" labels
    rows_deleted: int = 0
    orphan_files: list[str] = field(default_factory=list)
    files_deleted: int = 0
    kept_recent: list[str] = field(default_factory=list)  # unreferenced but younger than min_age
    unused_masks: list[str] = field(default_factory=list)  # "mask <hash12> (<segmenter>)" labels
    masks_deleted: int = 0
    files_seen: int = 0


def iter_files(storage: Storage, prefix: str) -> Iterator[tuple[str, datetime | None]]:
    """(name, last modified) of every file under ``prefix`` in ``storage``."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # django-storages is optional
        S3Storage = None  # noqa: N806
    if S3Storage is not None and isinstance(storage, S3Storage):
        yield from _iter_s3(storage, prefix)
        return
    yield from _iter_listdir(storage, prefix)


def _iter_s3(storage, prefix: str) -> Iterator[tuple[str, datetime | None]]:
    # One flat listing (1000 keys a request, with their dates) instead of listdir's walk
    # through 65,536 hash folders and a HEAD per file for its date.
    key_prefix = storage._normalize_name(prefix.strip("/")) + "/"
    location = storage.location.strip("/")
    paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=key_prefix):
        for entry in page.get("Contents", ()):
            key = entry["Key"]
            name = key[len(location) + 1 :] if location else key
            yield name, entry.get("LastModified")


def _iter_listdir(storage: Storage, prefix: str) -> Iterator[tuple[str, datetime | None]]:
    prefix = prefix.strip("/")
    try:
        directories, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        path = posixpath.join(prefix, name)
        try:
            modified = storage.get_modified_time(path)
        except (NotImplementedError, OSError):
            modified = None
        yield path, modified
    for directory in directories:
        yield from _iter_listdir(storage, posixpath.join(prefix, directory))


def rows_without_source() -> list[Variant]:
    """Variant rows whose source object, model or image is gone."""
    gone: list[Variant] = []
    groups: dict[tuple[int, str], set[str]] = defaultdict(set)
    for ct_id, field_name, object_id in Variant.objects.values_list("content_type_id", "field_name", "object_id").distinct():
        groups[(ct_id, field_name)].add(object_id)
    for (ct_id, field_name), object_ids in groups.items():
        missing = _missing_objects(ContentType.objects.get_for_id(ct_id).model_class(), field_name, object_ids)
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            gone.extend(
                Variant.objects.filter(content_type_id=ct_id, field_name=field_name, object_id__in=chunk).select_related("content_type")
            )
    return gone


def _missing_objects(model: type[models.Model] | None, field_name: str, object_ids: set[str]) -> list[str]:
    if model is None:
        return sorted(object_ids)  # the model is no longer installed
    try:
        model._meta.get_field(field_name)
    except FieldDoesNotExist:
        return sorted(object_ids)
    pk = model._meta.pk
    present: set[str] = set()
    ids = sorted(object_ids)
    for start in range(0, len(ids), CHUNK):
        chunk = []
        for object_id in ids[start : start + CHUNK]:
            try:
                chunk.append(pk.to_python(object_id))
            except Exception:  # an id the key type cannot hold: that object cannot exist
                continue
        # _base_manager: a host's filtering default manager must not make live objects look gone.
        for key, value in model._base_manager.filter(pk__in=chunk).values_list("pk", field_name):
            if value:
                present.add(str(key))
    return [object_id for object_id in ids if object_id not in present]


def _protected_source_names(prefix: str) -> set[str]:
    """Names held by registered source fields inside the variant folder (normally none)."""
    names: set[str] = set()
    for source in registry.sources():
        try:
            model = source.model
        except LookupError:
            continue
        lookup = {f"{source.field_name}__startswith": prefix}
        names.update(model._base_manager.filter(**lookup).values_list(source.field_name, flat=True))
    return names


def cleanup(*, delete: bool = False, min_age: int = 3600) -> CleanupReport:
    """Find (and with ``delete``, remove) rows without a source and unreferenced variant files."""
    prefix = str(conf.UPLOAD_TO).strip("/") + "/"
    report = CleanupReport(dry_run=not delete, prefix=prefix)
    storage = variant_storage()

    gone_rows = rows_without_source()
    report.rows_without_source = [f"#{v.pk} {v.source_id_string}:{v.object_id} {v.spec_name}" for v in gone_rows]
    gone_ids = {v.pk for v in gone_rows}
    if delete and gone_ids:
        ids = sorted(gone_ids)
        for start in range(0, len(ids), CHUNK):
            report.rows_deleted += Variant.objects.filter(pk__in=ids[start : start + CHUNK]).delete()[0]

    cutoff = timezone.now() - timedelta(seconds=min_age)
    unused = unused_masks(cutoff if min_age else None)
    report.unused_masks = [str(mask) for mask in unused]
    if delete and unused:
        report.masks_deleted = ProductMask.objects.filter(pk__in=[m.pk for m in unused]).delete()[0]

    referenced = set(Variant.objects.exclude(file="").exclude(pk__in=gone_ids).values_list("file", flat=True).iterator())
    referenced |= _mask_files(exclude=[] if not delete else [m.pk for m in unused])
    referenced |= _protected_source_names(prefix)
    for name, modified in iter_files(storage, prefix):
        report.files_seen += 1
        if not name.startswith(prefix) or name in referenced:
            continue
        if min_age and (modified is None or _aware(modified) > cutoff):
            report.kept_recent.append(name)
            continue
        report.orphan_files.append(name)
        if delete and not Variant.objects.filter(file=name).exists() and not ProductMask.objects.filter(file=name).exists():
            storage.delete(name)
            report.files_deleted += 1
    if delete:
        logger.info(
            "imagegen cleanup: deleted %d rows without a source and %d unreferenced files",
            report.rows_deleted,
            report.files_deleted,
        )
    return report


def unused_masks(older_than: datetime | None) -> list[ProductMask]:
    """Stored product masks of content that no variant row (of any status) refers to any
    more; with ``older_than``, only those made before it (a worker makes the mask of new
    content a moment before its variants need it)."""
    used = Variant.objects.filter(source_hash=models.OuterRef("source_hash"))
    masks = ProductMask.objects.exclude(models.Exists(used))
    if older_than is not None:
        masks = masks.filter(created_at__lt=older_than)
    return list(masks.order_by("pk"))


def _mask_files(exclude: list[int]) -> set[str]:
    return set(ProductMask.objects.exclude(pk__in=exclude).values_list("file", flat=True).iterator())


def _aware(moment: datetime) -> datetime:
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt_timezone.utc)
