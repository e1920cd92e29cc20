"""Keyset pagination for the query functions: opaque cursors and a generic page."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
MAX_PAGE = 100


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


def check_first(first: int) -> int:
    if not 0 <= first <= MAX_PAGE:
        raise BadCursor(f"first must be between 0 and {MAX_PAGE}")
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
            return [encode_cursor(self.kind, self.key(item)) for item in self.items[index]]
        return encode_cursor(self.kind, self.key(self.items[index]))
