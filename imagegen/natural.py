"""Natural ("human") sorting: "Style 2" before "Style 10", case ignored.

Lists of styles are short (tens, at most a few thousand rows), so the database orders them by a
rank computed here in Python (one small query) rather than by a database-specific collation:
the same order on SQLite and PostgreSQL, with no extra column to migrate.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db import models
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.expressions import OrderBy

__all__ = ["natural_key", "natural_sorted", "natural_ordering", "MAX_RANKED"]

T = TypeVar("T")
_DIGITS = re.compile(r"(\d+)")
MAX_RANKED = 5000  # above this, plain alphabetical order in SQL (a CASE with more arms costs more than it gives)


def natural_key(text: str) -> tuple[Any, ...]:
    """A sort key: runs of digits compare as numbers, the rest as case-folded text."""
    parts = _DIGITS.split(str(text).casefold())
    # (0, number) for digit runs and (1, text) for the rest keep the tuple comparable across
    # names that start differently ("2 mugs" vs "mugs 2")
    return tuple((0, int(part), part) if i % 2 else (1, part, "") for i, part in enumerate(parts) if part)


def natural_sorted(items: Iterable[T], key: Callable[[T], str] = str) -> list[T]:
    """``items`` sorted naturally by ``key(item)``."""
    return sorted(items, key=lambda item: natural_key(key(item)))


def natural_ordering(model_or_queryset: type[models.Model] | models.QuerySet, field: str = "name") -> OrderBy:
    """An ORDER BY expression that sorts rows of the model naturally by ``field``: usable in
    ``queryset.order_by(...)`` and ``ModelAdmin.get_ordering``. Reads (pk, field) once."""
    queryset = model_or_queryset if isinstance(model_or_queryset, models.QuerySet) else model_or_queryset._default_manager.all()
    rows = list(queryset.order_by().values_list("pk", field)[: MAX_RANKED + 1])
    if not rows or len(rows) > MAX_RANKED:
        return F(field).asc()
    ranked = natural_sorted(rows, key=lambda row: row[1] or "")
    whens = [When(pk=pk, then=Value(rank)) for rank, (pk, _) in enumerate(ranked)]
    # rows added after the ranking was read sort last, by name (order_by adds it as a tie-break)
    return Case(*whens, default=Value(len(ranked)), output_field=IntegerField()).asc()
