"""What every read model's ``read.py`` shares: row classes that declare their columns once, and
the "as of" bound of time-travelling questions.

A row class (``@row``) is a frozen dataclass whose field names are the names readers use: the
GraphQL types read the same attributes (``graphql/rows.py``). ``select_list`` makes its SELECT
list from the fields, in their order, so ``UnitRow(*values)`` builds a row from what that SELECT
returned; a field read from another expression than its own column says so once, on the field:

    @row
    class UnitRow:
        id: str = column("u.unit_id::text")
        tenant_id: str
        ...

    UNITS = select_list(UnitRow, "u")   # "u.unit_id::text, u.tenant_id, ..."

Reading as the application's role, run the functions inside ``queries.scoped``.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, dataclass_transform

from danvan.projections.schema import READ_SCHEMA

R = READ_SCHEMA
"""The readers' schema: a view per read-model table, over the active version."""
T = TypeVar("T")
_SQL = "danvan.sql"


def column(sql: str) -> Any:
    """A field of a row class read from ``sql`` (an expression) rather than its own name."""
    return dataclasses.field(metadata={_SQL: sql})


@dataclass_transform(frozen_default=True, field_specifiers=(column,))
def row(cls: type[T]) -> type[T]:
    """A read-model row: a frozen dataclass, its fields the SELECT list (``select_list``)."""
    return dataclasses.dataclass(frozen=True)(cls)


def select_list(cls: type, alias: str | None = None) -> str:
    """The SELECT list of ``cls``'s fields in order: a field's ``column`` expression, else its
    name (qualified by ``alias``)."""
    return ", ".join(column_sql(cls, alias).values())


def column_sql(cls: type, alias: str | None = None) -> dict[str, str]:
    """Each field of ``cls`` by name: the expression ``select_list`` reads it from."""
    prefix = f"{alias}." if alias else ""
    return {f.name: f.metadata.get(_SQL) or f"{prefix}{f.name}" for f in dataclasses.fields(cls)}


def rows_of(cls: Callable[..., T], values: list[Any]) -> list[T]:
    """Rows of ``cls`` from values fetched with its ``select_list``."""
    return [cls(*v) for v in values]


FOREVER = "infinity"


def as_of_bound(as_of: datetime | None) -> datetime | str:
    """The moment a time-travelling question is asked at, as a ``timestamptz`` parameter:
    ``as_of`` (timezone-aware), else ``infinity`` (everything recorded so far)."""
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    return as_of if as_of is not None else FOREVER


def fold_text(text: str) -> str:
    """What a search is compared with: NFC first (``danvan_fold`` then drops the marks)."""
    return unicodedata.normalize("NFC", text).strip()


def like_escaped(text: str) -> str:
    """``text`` as a ``LIKE`` pattern that matches itself alone (backslash is the escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_like(param: str) -> str:
    """SQL: the ``LIKE`` pattern matching the search bound to ``%(param)s`` (``fold_text``'s)
    anywhere, case and diacritics ignored. Its wildcards are escaped after folding, since
    folding turns some characters into them (full-width ％, ＿ and ＼: unaccent's rules)."""
    folded = f"public.danvan_fold(%({param})s)"
    escaped = (rf"replace(replace(replace({folded}, E'\\', E'\\\\'), '%%', E'\\%%'), "
               rf"'_', E'\\_')")  # E'': whatever standard_conforming_strings says
    return f"('%%' || {escaped} || '%%')"
