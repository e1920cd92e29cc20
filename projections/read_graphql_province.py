"""A province's quota figures for the GraphQL read API, computed once and shared.

``province_figures`` reads every tenant's quota and the per-field breakdown of a province in
one pass (the same functions as ``queries.province_quotas`` and ``queries.province_summary``);
``ProvinceFigures.summary()`` adds the rows up, so the summary's totals equal the sum of the
rows a page shows. ``quota_page`` filters, sorts and pages those rows by keyset.

    figures = province_figures(conn, "15", 2026)
    figures.summary().new_models == sum(q.new_models for q in figures.quotas)
    page = quota_page(figures.quotas, status="IN_PROGRESS", order="new_models", first=50)
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from danvan.projections.base import Connection
from danvan.projections.paging import BadCursor, Page, check_first, decode_cursor
from danvan.projections.quota_status import MET, STATUSES
from danvan.projections.read_quota import (
    FieldBreakdown,
    ProvinceSummary,
    TenantQuota,
    breakdown,
    quotas,
    tenants,
    total_progress,
)

R = "danvan_read"

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


@dataclass(frozen=True)
class ProvinceFigures:
    province_code: str
    year: int
    quotas: Sequence[TenantQuota]
    """One row per tenant onboarded (by ``as_of``), ordered by official code."""
    by_field: Sequence[FieldBreakdown]

    def summary(self) -> ProvinceSummary:
        rows = self.quotas
        return ProvinceSummary(
            self.province_code, self.year, len(rows), sum(q.new_models for q in rows),
            sum(q.recognized_tenant_level for q in rows),
            sum(q.recognized_province_level for q in rows),
            sum(q.maintained_models for q in rows),
            sum(1 for q in rows if q.status == MET), sum(1 for q in rows if q.at_risk),
            list(self.by_field), total_progress(self.by_field))


_encode = msgspec.json.Encoder().encode


def _cursor(kind: str, key: tuple[Any, ...]) -> str:
    """``paging.encode_cursor``'s format (``decode_cursor`` reads it), a few times faster."""
    return base64.urlsafe_b64encode(_encode([kind, *key])).decode().rstrip("=")


def province_figures(conn: Connection, province_code: str, year: int, *,
                     as_of: datetime | None = None,
                     now: datetime | None = None) -> ProvinceFigures:
    """Every tenant's quota for ``year`` and the per-field breakdown, as of ``as_of``."""
    refs = tenants(conn, province_code=province_code, as_of=as_of)
    rows = quotas(conn, refs, year, as_of=as_of, now=now)
    by_field = breakdown(conn, [r.id for r in refs], year, as_of=as_of)
    return ProvinceFigures(province_code, year, rows, by_field)


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
