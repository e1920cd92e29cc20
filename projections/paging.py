"""Keyset pagination for the query functions: opaque cursors and a generic page."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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


def decode_cursor(kind: str, cursor: str | None, arity: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("malformed cursor") from exc
    if not isinstance(data, list) or len(data) != arity + 1 or data[0] != kind:
        raise BadCursor("cursor of another list")
    return data[1:]


def page_of(rows: Sequence[T], first: int, total: int, kind: str,
            key: Any) -> Page[T]:
    """``rows`` fetched with ``LIMIT first + 1``; ``key(row)`` gives a row's cursor key."""
    items = list(rows[:first])
    cursors = [encode_cursor(kind, key(item)) for item in items]
    return Page(items, total, len(rows) > first, cursors[-1] if cursors else None, cursors)
