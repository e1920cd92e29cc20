"""The read side's public API: plain functions over a psycopg connection, returning dataclasses.

The GraphQL layer calls these; each takes the connection first and keyword filters after.
Reading as the application's role, wrap calls in ``scoped(conn, tenant_ids=...,
province_codes=...)``: row-level security then shows only those tenants' rows (a province
scope shows all of its tenants'), as a second wall behind the resolvers' own checks.

    with pool.connection() as conn, scoped(conn, province_codes=["15"]):
        page = province_quotas(conn, "15", 2026, status="IN_PROGRESS", first=50)

Times: ``as_of`` answers as the data stood then (by the events' timestamps); status and
"at risk" are judged at ``as_of``, else at ``now`` (default: the current time, Vietnam
calendar). Pages are keyset-paginated (``first`` at most 100, ``after`` an opaque cursor).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from danvan.projections.base import Connection
from danvan.projections.lag import ProjectionLag, lag_probe, lag_report, projection_lag
from danvan.projections.paging import MAX_PAGE, BadCursor, Page
from danvan.projections.read_audit import AuditEntry, audit_trail
from danvan.projections.read_quota import (
    Counts,
    FieldBreakdown,
    PeriodQuota,
    Progress,
    ProvinceSummary,
    TenantQuota,
    TenantRef,
    UnitCompliance,
    breakdown,
    counts,
    period_quotas,
    province_quotas,
    province_summary,
    quotas,
    resolved_targets,
    tenant_quota,
    tenants,
    unit_compliance,
)
from danvan.projections.read_registry import (
    ModelSummary,
    PlanTaskRow,
    RecognitionRow,
    UnitRow,
    YearListRow,
    model,
    models,
    plan_tasks,
    recognitions,
    units,
    year_lists,
)

__all__ = [
    "MAX_PAGE", "AuditEntry", "BadCursor", "Counts", "FieldBreakdown", "ModelSummary", "Page",
    "PeriodQuota", "PlanTaskRow", "Progress", "ProjectionLag", "ProvinceSummary",
    "RecognitionRow", "TenantQuota", "TenantRef", "UnitCompliance", "UnitRow", "YearListRow",
    "audit_trail", "breakdown", "counts", "lag_probe", "lag_report", "model", "models",
    "period_quotas", "plan_tasks", "projection_lag", "province_quotas", "province_summary",
    "quotas", "recognitions", "resolved_targets", "scoped", "tenant", "tenant_breakdown",
    "tenant_quota", "tenants", "unit_compliance", "units", "year_lists",
]


@contextmanager
def scoped(conn: Connection, *, tenant_ids: Sequence[str] = (),
           province_codes: Sequence[str] = ()) -> Iterator[Connection]:
    """A transaction in which row-level security lets ``conn`` see only these tenants (and
    every tenant of these provinces). The settings end with the transaction."""
    for value in (*tenant_ids, *province_codes):
        if "," in value:
            raise ValueError(f"not a tenant id or province code: {value!r}")
    with conn.transaction():
        conn.execute("SELECT set_config('danvan.tenant_ids', %s, true), "
                     "set_config('danvan.province_codes', %s, true)",
                     (",".join(tenant_ids), ",".join(province_codes)))
        yield conn


def tenant(conn: Connection, tenant_id: str) -> TenantRef | None:
    found = tenants(conn, tenant_ids=[tenant_id])
    return found[0] if found else None


def tenant_breakdown(conn: Connection, tenant_id: str, year: int, *,
                     as_of: datetime | None = None) -> list[FieldBreakdown]:
    """Per field for one tenant (see ``breakdown``)."""
    return breakdown(conn, [tenant_id], year, as_of=as_of)
