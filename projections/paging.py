"""Keyset pagination for the query functions: opaque cursors and a generic page."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
MAX_PAGE = 100
MAX_BATCH = 1_000
"""A stream's batch (the audit trail's subscription): larger than a page a client asks for."""


class BadCursor(ValueError):
    """A cursor this API did not hand out (or a page size out of range)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total_count: int
    has_next_page: bool
    end_cursor: str | None
    cursors: Sequence[str]
    """One cursor per item (Relay edges), in order."""

    def part(self, start: int, stop: int) -> Page[T]:
        """Items ``start:stop`` as a page of their own (a stream's message): it ends at its
        last item's cursor and has a next page if items follow it, here or after this page."""
        cursors = self.cursors[start:stop]
        return Page(self.items[start:stop], self.total_count,
                    stop < len(self.items) or self.has_next_page,
                    cursors[-1] if cursors else self.end_cursor, cursors)


def check_first(first: int, most: int = MAX_PAGE) -> int:
    if not 0 <= first <= most:
        raise BadCursor(f"first must be between 0 and {most}")
    return first


def encode_cursor(kind: str, key: Sequence[Any]) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


UUID = "uuid"
"""In a cursor's shape: a string that is a UUID (the key's SQL casts it)."""
Shape = Sequence[type | tuple[type, ...] | str]


def decode_cursor(kind: str, cursor: str | None, shape: Shape) -> list[Any] | None:
    """The key ``cursor`` carries, checked against ``shape`` (one JSON type, tuple of types or
    ``UUID`` per part): a cursor this API did not hand out is ``BadCursor``, never a key the
    query cannot compare or cast."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("malformed cursor") from exc
    if not isinstance(data, list) or len(data) != len(shape) + 1 or data[0] != kind:
        raise BadCursor("cursor of another list")
    key = data[1:]
    for part, expected in zip(key, shape, strict=True):
        if not _fits(part, expected):
            raise BadCursor("malformed cursor")
    return key


BIGINT = range(-(2**63), 2**63)


def _fits(part: Any, expected: type | tuple[type, ...] | str) -> bool:
    if isinstance(part, str) and not _storable(part):
        return False
    if isinstance(part, bool):
        return expected is bool or (isinstance(expected, tuple) and bool in expected)
    if isinstance(part, int) and part not in BIGINT:
        return False
    if expected == UUID:
        if not isinstance(part, str):
            return False
        try:
            uuid.UUID(part)
        except ValueError:
            return False
        return True
    assert not isinstance(expected, str)
    return isinstance(part, expected)


def _storable(text: str) -> bool:
    """Text PostgreSQL can receive: JSON's escapes also spell a NUL and lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def page_of(rows: Sequence[T], first: int, total: int, kind: str,
            key: Any) -> Page[T]:
    """``rows`` fetched with ``LIMIT first + 1``; ``key(row)`` gives a row's cursor key."""
    items = list(rows[:first])
    cursors = Cursors(kind, key, items)
    return Page(items, total, len(rows) > first, cursors[-1] if cursors else None, cursors)


class Cursors(Sequence[str]):
    """Each item's cursor, encoded when asked for: a client paging through a trail asks
    only for the page's end cursor, and encoding all of them cost a tenth of a page."""

    def __init__(self, kind: str, key: Any, items: Sequence[Any]) -> None:
        self.kind, self.key, self.items = kind, key, items

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return Cursors(self.kind, self.key, self.items[index])
        return encode_cursor(self.kind, self.key(self.items[index]))


def tenant_pages(conn: Any, row: Callable[..., T], *, select: str, table: str, where: str,
                 order: str, keyset: str | None, params: dict[str, Any],
                 tenant_ids: Sequence[str], first: int, kind: str,
                 key: Callable[[T], tuple[Any, ...]]) -> dict[str, Page[T]]:
    """One page of each tenant's rows in two statements: every tenant's count, then each
    tenant's first ``first`` rows after the cursor (``keyset``, a condition on ``order``'s
    columns) by a lateral join. ``table`` is ``"<table> <alias>"`` and ``select`` selects
    from it; ``where`` joins the alias to ``q.tenant_id`` and filters; ``params`` holds
    ``t`` (``tenant_ids``) and ``lim`` is set here. A row goes to the tenant ``where``
    matched it with (a row may be listed in a tenant other than its ``tenant_id``)."""
    params = {**params, "t": list(tenant_ids), "lim": first + 1}
    totals = dict(conn.execute(
        f"SELECT q.tenant_id, count(*) FROM {table} "
        f"JOIN unnest(%(t)s::text[]) AS q(tenant_id) ON {where} GROUP BY q.tenant_id",
        params).fetchall())
    rows = conn.execute(
        f"SELECT q.tenant_id, x.* FROM unnest(%(t)s::text[]) AS q(tenant_id) CROSS JOIN "
        f"LATERAL ({select} WHERE {where} {f'AND {keyset}' if keyset else ''} "
        f"ORDER BY {order} LIMIT %(lim)s) x", params).fetchall()
    grouped: dict[str, list[T]] = {t: [] for t in tenant_ids}
    for listed, *values in rows:
        grouped[listed].append(row(*values))
    return {t: page_of(items, first, int(totals.get(t, 0)), kind, key)
            for t, items in grouped.items()}
