"""What every kind of report reads with: the request in its snapshot (``Asked``), the
scope's tenants, every model of a year page after page, and the small rules they share (in
force at a moment, counted by a moment, a status in words). Everything is read through the
read models' read API (``projections/<model>/read.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from danvan.backend.reports import wording as w
from danvan.backend.reports.content import Column, Kind, Value
from danvan.backend.reports.scope import Scope
from danvan.domain.clock import vietnam_date
from danvan.domain.reports import ReportPeriod, ReportRequest
from danvan.projections.base import Connection
from danvan.projections.directory.read import province_tenants
from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.quota_status import IN_PROGRESS, MET, MISSED
from danvan.projections.models.read import model_pages
from danvan.projections.models.rows import ModelSummary, RecognitionRow, TenantQuota
from danvan.projections.paging import MAX_PAGE


def tenants_of(conn: Connection, scope: Scope, moment: datetime | None) -> list[TenantRef]:
    if scope.tenant is not None:
        return [scope.tenant]
    return province_tenants(conn, scope.province_code, as_of=moment)


def every_model(conn: Connection, tenant_ids: Sequence[str], year: int,
                state: str | None = None) -> list[ModelSummary]:
    """Every model of ``year`` of the tenants, page after page (the read API's pages)."""
    found: list[ModelSummary] = []
    pending: dict[str, str | None] = dict.fromkeys(tenant_ids)
    while pending:
        after_groups: dict[str | None, list[str]] = {}
        for tenant_id, after in pending.items():
            after_groups.setdefault(after, []).append(tenant_id)
        pending = {}
        for after, ids in after_groups.items():
            for tenant_id, page in model_pages(conn, ids, year=year, state=state,
                                               first=MAX_PAGE, after=after).items():
                found.extend(page.items)
                if page.has_next_page:
                    pending[tenant_id] = page.end_cursor
    return found


def counted_by(moment: datetime | None) -> Callable[[datetime | None], bool]:
    return lambda at: at is not None and (moment is None or at <= moment)


def in_force(moment: datetime | None) -> Callable[[RecognitionRow], bool]:
    def holds(r: RecognitionRow) -> bool:
        if moment is None:
            return r.revoked_at is None
        return r.recognized_at <= moment and (r.revoked_at is None or r.revoked_at > moment)
    return holds


def status_words(q: TenantQuota) -> str:
    word = {MET: "met", MISSED: "missed", IN_PROGRESS: "in_progress"}[q.status]
    text = w.word(word)
    return f"{text} ({w.word('at_risk').lower()})" if q.at_risk else text


def share(actual: int, target: int) -> Decimal | None:
    return None if target <= 0 else (Decimal(actual) / Decimal(target)).quantize(
        Decimal("0.0001"))


@dataclass(frozen=True)
class Asked:
    conn: Connection
    scope: Scope
    request: ReportRequest
    moment: datetime | None
    now: datetime

    @property
    def year(self) -> int:
        return self.request.year

    def values(self) -> dict[str, object]:
        period = self.request.period or ReportPeriod.YEAR
        return {"year": self.year, "scope": self.scope.words,
                "movement": w.section("movement")["name"],
                "period": w.render(w.section("periods")[period.value], year=self.year),
                "moment": w.render(w.word("moment_at"),
                                   day=w.day(vietnam_date(self.moment or self.now)))}


def tenant_column(asked: Asked) -> tuple[Column, ...]:
    return () if asked.scope.tenant else (Column("Xã, phường, cơ quan", Kind.TEXT, 24, "tenant"),)


def tenant_cell(asked: Asked, names: dict[str, str], tenant_id: str) -> tuple[Value, ...]:
    return () if asked.scope.tenant else (names.get(tenant_id, tenant_id),)


def form_date(model: ModelSummary, key: str) -> date | None:
    value = model.form.get(key)
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None
