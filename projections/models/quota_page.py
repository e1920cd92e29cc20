"""A page of quota rows (a province's, read once by ``read.province_figures``): filtered by
kind, status and risk, ordered by any of ``SORT_KEYS``, paged by keyset. Pure.

    figures = province_figures(conn, "15", 2026)
    page = quota_page(figures.quotas, status="IN_PROGRESS", order="new_models", first=50)
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from danvan.projections.models.quota_status import STATUSES
from danvan.projections.models.rows import TenantQuota
from danvan.projections.paging import BadCursor, Page, check_first, decode_cursor

SORT_KEYS: dict[str, Callable[[TenantQuota], Any]] = {
    "code": lambda q: q.tenant.code,
    "name": lambda q: q.tenant.name,
    "kind": lambda q: q.tenant.kind,
    "status": lambda q: q.status,
    "at_risk": lambda q: q.at_risk,
    "new_models": lambda q: q.new_models,
    "recognized_tenant_level": lambda q: q.recognized_tenant_level,
    "recognized_province_level": lambda q: q.recognized_province_level,
    "units_without_registration": lambda q: q.units_without_registration,
    "new_models_ratio": lambda q: (q.new_models / q.new_models_target
                                   if q.new_models_target > 0 else 1.0),
}
"""What a quota page may be ordered by; ties are broken by official code, then tenant id."""

_encode = msgspec.json.Encoder().encode


def _cursor(kind: str, key: tuple[Any, ...]) -> str:
    """``paging.encode_cursor``'s format (``decode_cursor`` reads it), a few times faster."""
    return base64.urlsafe_b64encode(_encode([kind, *key])).decode().rstrip("=")


def quota_page(rows: Sequence[TenantQuota], *, kind: str | None = None,
               status: str | None = None, at_risk: bool | None = None, order: str = "code",
               descending: bool = False, first: int = 100,
               after: str | None = None) -> Page[TenantQuota]:
    """Filter, order and page quota rows; ``total_count`` counts every row matching."""
    check_first(first)
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    sort = SORT_KEYS.get(order)
    if sort is None:
        raise ValueError(f"order must be one of {', '.join(SORT_KEYS)}")
    kept = [q for q in rows if (kind is None or q.tenant.kind == kind)
            and (status is None or q.status == status)
            and (at_risk is None or q.at_risk == at_risk)]
    cursor_kind = f"quota.{order}.{'desc' if descending else 'asc'}"

    def key(q: TenantQuota) -> tuple[Any, str, str]:
        return (sort(q), q.tenant.code, q.tenant.id)

    kept.sort(key=key, reverse=descending)
    start = 0
    found = decode_cursor(cursor_kind, after, ((int, float, str, bool), str, str))
    if found is not None:
        mark = tuple(found)
        try:
            start = next((i for i, q in enumerate(kept)
                          if (key(q) < mark if descending else key(q) > mark)), len(kept))
        except TypeError as exc:  # a key of another type than this order's
            raise BadCursor("malformed cursor") from exc
    items = kept[start:start + first]
    cursors = [_cursor(cursor_kind, key(q)) for q in items]
    return Page(items, len(kept), start + first < len(kept),
                cursors[-1] if cursors else None, cursors)
