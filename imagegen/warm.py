"""Applying specs or styles to a whole catalogue (``imagegen_warm`` and the Style admin action)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import models

from .models import Style, Variant
from .registry import Source, registry
from .sources import hash_file, resolve, resolve_style, sync_variants

logger = logging.getLogger(__name__)

MODES = ("missing", "stale", "force")


@dataclass
class WarmReport:
    sources: int = 0
    queued: int = 0  # rows now pending
    existing: int = 0  # rows already ready/pending that were left alone
    errors: list[str] = field(default_factory=list)


def iter_instances(source: Source) -> Iterator[models.Model]:
    queryset = source.model._default_manager.exclude(**{source.field_name: ""}).exclude(**{f"{source.field_name}__isnull": True})
    yield from queryset.order_by("pk").iterator(chunk_size=200)


def count_instances(pattern: str) -> int:
    return sum(
        source.model._default_manager.exclude(**{source.field_name: ""}).count() for source, _ in registry.match(pattern)
    )


def warm(
    pattern: str,
    *,
    styles: list[Style] | None = None,
    mode: str = "missing",
    queue: str = "bulk",
    progress: Callable[[int], None] | None = None,
) -> WarmReport:
    """Queue variants for every source matching ``pattern`` (``app.model.field:spec`` globs).

    With ``styles``, those styles are applied to each source (the spec part of the pattern is
    ignored); otherwise the registered specs matching the pattern are used.
    ``missing`` queues only what has no row; ``stale`` also redoes failed rows;
    ``force`` renders everything again.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    report = WarmReport()
    matches = registry.match(pattern)
    if not matches:
        raise ValueError(f"No registered source matches {pattern!r}; registered: {[s.id for s in registry.sources()]}")
    for source, specs in matches:
        style_rows = {s.slug: s for s in Style.objects.filter(slug__in=[spec.style for spec in specs if spec.style])}
        for instance in iter_instances(source):
            report.sources += 1
            try:
                fieldfile = getattr(instance, source.field_name)
                source_hash = hash_file(fieldfile)
                if styles is not None:
                    resolved = [resolve_style(style, format="webp") for style in styles]
                else:
                    resolved = [r for r in (resolve(spec, style_rows) for spec in specs) if r is not None]
                before = _statuses(instance, source.field_name, source_hash)
                rows = sync_variants(
                    instance,
                    source.field_name,
                    source_hash,
                    resolved,
                    queue=queue,
                    mark_others_stale=False,
                    force=mode == "force",
                    retry_failed=mode in ("stale", "force"),
                    # styles chosen for this run are ad-hoc work (wait for approval); registered specs are not
                    origin=Variant.Origin.REQUEST if styles is not None else Variant.Origin.SPEC,
                )
                for row in rows:
                    was = before.get(row.pk)
                    if row.status == Variant.Status.PENDING and was != Variant.Status.PENDING:
                        report.queued += 1
                    else:
                        report.existing += 1
            except Exception as exc:  # one unreadable file must not stop a catalogue-wide run
                logger.warning("imagegen warm: %s %s: %s", source.id, instance.pk, exc)
                report.errors.append(f"{source.id} #{instance.pk}: {exc}")
            if progress:
                progress(1)
    return report


def _statuses(instance: models.Model, field_name: str, source_hash: str) -> dict[int, str]:
    return dict(
        Variant.objects.for_object(instance, field_name).filter(source_hash=source_hash).values_list("pk", "status")
    )
