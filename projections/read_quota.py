"""Quota questions: per tenant and year, per province, per multi-year period, per unit, per
field — now (stored counts) or as of any past moment (from the validity timestamps).

"As of T" counts what had happened by T by the events' own timestamps: a model accepted at or
before T, a recognition made at or before T and not revoked by then, a unit added by T and not
closed by then, the targets version valid at T. Without ``as_of`` the stored counts are used;
both give the same figures (the tests check it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from danvan.domain.clock import period_fraction_elapsed
from danvan.domain.registration_form import Field
from danvan.domain.targets import YearTargets, effective_targets
from danvan.projections.base import Connection
from danvan.projections.paging import Page, check_first, decode_cursor, page_of
from danvan.projections.quota_status import (
    STATUSES,
    judge,
    judge_year,
)

R = "danvan_read"
FOREVER = "infinity"


def _at(as_of: datetime | None) -> datetime | str:
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    return as_of if as_of is not None else FOREVER


def _now(now: datetime | None, as_of: datetime | None) -> datetime:
    return as_of or now or datetime.now(UTC)


@dataclass(frozen=True)
class TenantRef:
    id: str
    code: str
    name: str
    kind: str
    province_code: str


@dataclass(frozen=True)
class Counts:
    new_models: int = 0
    recognized_tenant_level: int = 0
    recognized_province_level: int = 0
    maintained_models: int = 0
    discontinued_models: int = 0
    submitted_models: int = 0


@dataclass(frozen=True)
class TenantQuota:
    tenant: TenantRef
    year: int
    new_models: int
    new_models_target: int
    recognized_tenant_level: int
    recognized_tenant_level_target: int
    recognized_province_level: int
    recognized_province_level_target: int
    per_unit_minimum: int
    units_without_registration: int
    maintained_models: int
    discontinued_models: int
    submitted_models: int
    status: str
    at_risk: bool


@dataclass(frozen=True)
class Progress:
    participants: int = 0
    workdays: int = 0
    money_vnd: Decimal = Decimal(0)
    land_m2: Decimal = Decimal(0)
    reports: int = 0


@dataclass(frozen=True)
class FieldBreakdown:
    field: str
    new_models: int
    recognized_tenant_level: int
    recognized_province_level: int
    progress: Progress


@dataclass(frozen=True)
class ProvinceSummary:
    province_code: str
    year: int
    tenant_count: int
    new_models: int
    recognized_tenant_level: int
    recognized_province_level: int
    maintained_models: int
    tenants_met: int
    tenants_at_risk: int
    by_field: list[FieldBreakdown]
    progress: Progress


@dataclass(frozen=True)
class UnitCompliance:
    unit_id: str
    name: str
    kind: str
    reports_to_vertical_line: bool
    submitted_models: int
    per_unit_minimum: int
    compliant: bool


@dataclass(frozen=True)
class PeriodQuota:
    tenant_id: str
    start_year: int
    end_year: int
    targets: dict[str, int]
    actual: dict[str, int] = field(default_factory=dict)
    status: str = ""
    at_risk: bool = False


# --- tenants and targets -------------------------------------------------------------------

def tenants(conn: Connection, *, province_code: str | None = None,
            tenant_ids: Sequence[str] | None = None, kind: str | None = None,
            as_of: datetime | None = None) -> list[TenantRef]:
    """Tenants onboarded (by ``as_of``), ordered by official code."""
    rows = conn.execute(
        f"SELECT tenant_id, code, name, kind, province_code FROM {R}.tenants "
        "WHERE (%(p)s::text IS NULL OR province_code = %(p)s) "
        "AND (%(ids)s::text[] IS NULL OR tenant_id = ANY(%(ids)s)) "
        "AND (%(k)s::text IS NULL OR kind = %(k)s) AND onboarded_at <= %(at)s::timestamptz "
        "ORDER BY code, tenant_id",
        {"p": province_code, "ids": list(tenant_ids) if tenant_ids is not None else None,
         "k": kind, "at": _at(as_of)}).fetchall()
    return [TenantRef(*row) for row in rows]


def resolved_targets(conn: Connection, refs: Sequence[TenantRef], year: int,
                     as_of: datetime | None = None) -> dict[str, YearTargets]:
    """Each tenant's targets for ``year`` as they stood: its own, else its province's default
    for its kind, else the built-in default (``domain.targets.effective_targets``)."""
    at = _at(as_of)
    own = {tid: YearTargets(**t) for tid, t in conn.execute(
        f"SELECT DISTINCT ON (tenant_id) tenant_id, targets FROM {R}.tenant_targets "
        "WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s AND valid_from <= %(at)s::timestamptz "
        "AND (valid_to IS NULL OR valid_to > %(at)s::timestamptz) "
        "ORDER BY tenant_id, valid_from DESC, position DESC",
        {"ids": [r.id for r in refs], "y": year, "at": at}).fetchall()}
    provinces = sorted({r.province_code for r in refs})
    defaults = {code: {kind: YearTargets(**t) for kind, t in d.items()} for code, d in
                conn.execute(
        f"SELECT DISTINCT ON (province_code) province_code, defaults FROM {R}.province_targets "
        "WHERE province_code = ANY(%(p)s) AND year = %(y)s "
        "AND valid_from <= %(at)s::timestamptz "
        "AND (valid_to IS NULL OR valid_to > %(at)s::timestamptz) "
        "ORDER BY province_code, valid_from DESC, position DESC",
        {"p": provinces, "y": year, "at": at}).fetchall()}
    return {r.id: effective_targets(r.kind, defaults.get(r.province_code), own.get(r.id))
            for r in refs}


# --- counts --------------------------------------------------------------------------------

def counts(conn: Connection, tenant_ids: Sequence[str], year: int,
           as_of: datetime | None = None) -> dict[str, Counts]:
    ids = list(tenant_ids)
    if as_of is None:
        rows = conn.execute(
            f"SELECT tenant_id, new_models, recognized_tenant_level, recognized_province_level, "
            f"maintained_models, discontinued_models, submitted_models FROM {R}.quota_counts "
            "WHERE tenant_id = ANY(%s) AND year = %s", (ids, year)).fetchall()
        return {row[0]: Counts(*row[1:]) for row in rows}
    params = {"ids": ids, "y": year, "at": _at(as_of)}
    rows = conn.execute(
        f"""WITH m AS (
              SELECT tenant_id,
                     count(*) FILTER (WHERE accepted_at <= %(at)s) AS new_models,
                     count(*) FILTER (WHERE discontinued_at <= %(at)s) AS discontinued,
                     count(*) FILTER (WHERE submitted_at <= %(at)s) AS submitted
                FROM {R}.models WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s
               GROUP BY tenant_id),
            r AS (
              SELECT tenant_id, count(*) FILTER (WHERE level = 'tenant') AS rt,
                     count(*) FILTER (WHERE level = 'province') AS rp
                FROM {R}.recognitions WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s
                 AND recognized_at <= %(at)s AND (revoked_at IS NULL OR revoked_at > %(at)s)
               GROUP BY tenant_id),
            y AS (
              SELECT tenant_id, count(*) AS maintained FROM {R}.model_years
               WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s AND maintained_at <= %(at)s
               GROUP BY tenant_id)
            SELECT t.tenant_id, coalesce(m.new_models, 0), coalesce(r.rt, 0),
                   coalesce(r.rp, 0), coalesce(y.maintained, 0), coalesce(m.discontinued, 0),
                   coalesce(m.submitted, 0)
              FROM unnest(%(ids)s::text[]) AS t(tenant_id)
              LEFT JOIN m USING (tenant_id) LEFT JOIN r USING (tenant_id)
              LEFT JOIN y USING (tenant_id)""", params).fetchall()
    return {row[0]: Counts(*row[1:]) for row in rows}


def _unit_submissions(as_of: datetime | None) -> str:
    if as_of is None:
        return (f"SELECT unit_id, submitted_models AS n FROM {R}.unit_counts "
                "WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s")
    return (f"SELECT unit_id, count(*) AS n FROM {R}.models WHERE tenant_id = ANY(%(ids)s) "
            "AND year = %(y)s AND submitted_at <= %(at)s::timestamptz GROUP BY unit_id")


def units_without_registration(conn: Connection, minimum: dict[str, int], year: int,
                               as_of: datetime | None = None) -> dict[str, int]:
    """Per tenant: units open at ``as_of`` with fewer models of ``year`` ever submitted (a
    received copy counts) than the tenant's ``per_unit_minimum``."""
    ids = list(minimum)
    # MATERIALIZED: inlined, the planner picks a nested loop over every unit of a province
    # (seconds for 1,600 units); computed once, it is milliseconds.
    rows = conn.execute(
        f"""WITH c AS MATERIALIZED ({_unit_submissions(as_of)})
            SELECT u.tenant_id, count(*) FILTER (WHERE coalesce(c.n, 0) < m.minimum)
              FROM {R}.units u
              JOIN unnest(%(ids)s::text[], %(min)s::int[]) AS m(tenant_id, minimum)
                ON m.tenant_id = u.tenant_id
              LEFT JOIN c ON c.unit_id = u.unit_id
             WHERE u.added_at <= %(at)s::timestamptz
               AND (u.closed_at IS NULL OR u.closed_at > %(at)s::timestamptz)
             GROUP BY u.tenant_id""",
        {"ids": ids, "min": [minimum[i] for i in ids], "y": year, "at": _at(as_of)}).fetchall()
    return {tid: n for tid, n in rows}


def unit_compliance(conn: Connection, tenant_id: str, year: int, *,
                    as_of: datetime | None = None) -> list[UnitCompliance]:
    """Every unit open at ``as_of``: models of ``year`` submitted vs the minimum."""
    refs = tenants(conn, tenant_ids=[tenant_id])
    if not refs:
        return []
    minimum = resolved_targets(conn, refs, year, as_of)[tenant_id].per_unit_minimum
    rows = conn.execute(
        f"""SELECT u.unit_id::text, u.name, u.kind, u.reports_to_vertical_line,
                   coalesce(c.n, 0)
              FROM {R}.units u LEFT JOIN ({_unit_submissions(as_of)}) c ON c.unit_id = u.unit_id
             WHERE u.tenant_id = %(tid)s AND u.added_at <= %(at)s::timestamptz
               AND (u.closed_at IS NULL OR u.closed_at > %(at)s::timestamptz)
             ORDER BY u.name, u.unit_id""",
        {"ids": [tenant_id], "tid": tenant_id, "y": year, "at": _at(as_of)}).fetchall()
    return [UnitCompliance(uid, name, kind, vertical, n, minimum, n >= minimum)
            for uid, name, kind, vertical, n in rows]


# --- quotas --------------------------------------------------------------------------------

def quotas(conn: Connection, refs: Sequence[TenantRef], year: int, *,
           as_of: datetime | None = None, now: datetime | None = None) -> list[TenantQuota]:
    """The quota of each tenant in ``refs`` for ``year``; status and risk judged at ``as_of``
    (or ``now``, default the current time)."""
    if not refs:
        return []
    at = _now(now, as_of)
    targets = resolved_targets(conn, refs, year, as_of)
    found = counts(conn, [r.id for r in refs], year, as_of)
    lacking = units_without_registration(
        conn, {r.id: targets[r.id].per_unit_minimum for r in refs}, year, as_of)
    result = []
    for ref in refs:
        c, t = found.get(ref.id, Counts()), targets[ref.id]
        without = lacking.get(ref.id, 0)
        status, at_risk = judge_year(
            [(c.new_models, t.new_models),
             (c.recognized_tenant_level, t.recognized_tenant_level),
             (c.recognized_province_level, t.recognized_province_level)], without, year, at)
        result.append(TenantQuota(
            ref, year, c.new_models, t.new_models, c.recognized_tenant_level,
            t.recognized_tenant_level, c.recognized_province_level, t.recognized_province_level,
            t.per_unit_minimum, without, c.maintained_models, c.discontinued_models,
            c.submitted_models, status, at_risk))
    return result


def tenant_quota(conn: Connection, tenant_id: str, year: int, *, as_of: datetime | None = None,
                 now: datetime | None = None) -> TenantQuota | None:
    refs = tenants(conn, tenant_ids=[tenant_id], as_of=as_of)
    found = quotas(conn, refs, year, as_of=as_of, now=now)
    return found[0] if found else None


def province_quotas(conn: Connection, province_code: str, year: int, *,
                    as_of: datetime | None = None, now: datetime | None = None,
                    kind: str | None = None, status: str | None = None,
                    at_risk: bool | None = None, first: int = 100,
                    after: str | None = None) -> Page[TenantQuota]:
    """One page of the province's tenants' quotas, ordered by official code; ``totalCount``
    counts every tenant matching the filters."""
    check_first(first)
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    refs = tenants(conn, province_code=province_code, kind=kind, as_of=as_of)
    rows = [q for q in quotas(conn, refs, year, as_of=as_of, now=now)
            if (status is None or q.status == status)
            and (at_risk is None or q.at_risk == at_risk)]
    key = decode_cursor("quota", after, (str, str))
    start = [q for q in rows if key is None or (q.tenant.code, q.tenant.id) > tuple(key)]
    return page_of(start[:first + 1], first, len(rows), "quota",
                   lambda q: (q.tenant.code, q.tenant.id))


# --- breakdown and summary -----------------------------------------------------------------

def breakdown(conn: Connection, tenant_ids: Sequence[str], year: int, *,
              as_of: datetime | None = None) -> list[FieldBreakdown]:
    """Per field (all five, zeros included): models of ``year`` accepted and recognised (not
    revoked) at each level, and progress reported for periods of ``year``."""
    ids, at = list(tenant_ids), _at(as_of)
    params: dict[str, Any] = {"ids": ids, "y": year, "at": at}
    if as_of is None:
        count_rows = conn.execute(
            f"SELECT field, sum(new_models), sum(recognized_tenant_level), "
            f"sum(recognized_province_level) FROM {R}.field_counts "
            "WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s GROUP BY field", params).fetchall()
        progress_rows = conn.execute(
            f"SELECT field, sum(participants), sum(workdays), sum(money_vnd), sum(land_m2), "
            f"sum(reports) FROM {R}.progress_totals WHERE tenant_id = ANY(%(ids)s) "
            "AND year = %(y)s GROUP BY field", params).fetchall()
    else:
        count_rows = conn.execute(
            f"""WITH n AS (SELECT coalesce(field, '') AS field, count(*) AS n FROM {R}.models
                  WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s AND accepted_at <= %(at)s
                  GROUP BY 1),
                r AS (SELECT coalesce(field, '') AS field,
                             count(*) FILTER (WHERE level = 'tenant') AS rt,
                             count(*) FILTER (WHERE level = 'province') AS rp
                  FROM {R}.recognitions WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s
                   AND recognized_at <= %(at)s AND (revoked_at IS NULL OR revoked_at > %(at)s)
                  GROUP BY 1)
                SELECT field, coalesce(n.n, 0), coalesce(r.rt, 0), coalesce(r.rp, 0)
                  FROM n FULL JOIN r USING (field)""", params).fetchall()
        progress_rows = conn.execute(
            f"SELECT coalesce(field, ''), sum(participants), sum(workdays), sum(money_vnd), "
            f"sum(land_m2), count(*) FROM {R}.progress_reports "
            "WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s AND reported_at <= %(at)s "
            "GROUP BY 1", params).fetchall()
    found = {f: (int(a), int(b), int(c)) for f, a, b, c in count_rows}
    progress = {f: Progress(int(p), int(w), m, land, int(n))
                for f, p, w, m, land, n in progress_rows}
    return [FieldBreakdown(f.value, *found.get(f.value, (0, 0, 0)),
                           progress.get(f.value, Progress())) for f in Field]


def total_progress(parts: Sequence[FieldBreakdown]) -> Progress:
    return Progress(sum(p.progress.participants for p in parts),
                    sum(p.progress.workdays for p in parts),
                    sum((p.progress.money_vnd for p in parts), Decimal(0)),
                    sum((p.progress.land_m2 for p in parts), Decimal(0)),
                    sum(p.progress.reports for p in parts))


def province_summary(conn: Connection, province_code: str, year: int, *,
                     as_of: datetime | None = None,
                     now: datetime | None = None) -> ProvinceSummary:
    refs = tenants(conn, province_code=province_code, as_of=as_of)
    rows = quotas(conn, refs, year, as_of=as_of, now=now)
    by_field = breakdown(conn, [r.id for r in refs], year, as_of=as_of)
    return ProvinceSummary(
        province_code, year, len(refs), sum(q.new_models for q in rows),
        sum(q.recognized_tenant_level for q in rows),
        sum(q.recognized_province_level for q in rows),
        sum(q.maintained_models for q in rows),
        sum(1 for q in rows if q.status == "MET"), sum(1 for q in rows if q.at_risk),
        by_field, total_progress(by_field))


# --- multi-year periods --------------------------------------------------------------------

def period_quotas(conn: Connection, tenant_id: str, *, as_of: datetime | None = None,
                  now: datetime | None = None) -> list[PeriodQuota]:
    """The tenant's multi-year targets valid at ``as_of`` and how far they are reached:
    models of the period's years recognised at each level and not revoked, and distinct
    models maintained into a year of the period."""
    at, when = _at(as_of), _now(now, as_of)
    periods = conn.execute(
        f"SELECT DISTINCT ON (aggregate_id) start_year, end_year, targets "
        f"FROM {R}.period_targets WHERE tenant_id = %(t)s "
        "AND valid_from <= %(at)s::timestamptz "
        "AND (valid_to IS NULL OR valid_to > %(at)s::timestamptz) "
        "ORDER BY aggregate_id, valid_from DESC, position DESC", {"t": tenant_id, "at": at}
    ).fetchall()
    result = []
    for start, end, targets in sorted(periods):
        row = conn.execute(
            f"""SELECT
                (SELECT count(*) FROM {R}.recognitions WHERE tenant_id = %(t)s
                  AND year BETWEEN %(s)s AND %(e)s AND level = 'tenant'
                  AND recognized_at <= %(at)s::timestamptz
                  AND (revoked_at IS NULL OR revoked_at > %(at)s::timestamptz)),
                (SELECT count(*) FROM {R}.recognitions WHERE tenant_id = %(t)s
                  AND year BETWEEN %(s)s AND %(e)s AND level = 'province'
                  AND recognized_at <= %(at)s::timestamptz
                  AND (revoked_at IS NULL OR revoked_at > %(at)s::timestamptz)),
                (SELECT count(DISTINCT model_id) FROM {R}.model_years WHERE tenant_id = %(t)s
                  AND year BETWEEN %(s)s AND %(e)s
                  AND maintained_at <= %(at)s::timestamptz)""",
            {"t": tenant_id, "s": start, "e": end, "at": at}).fetchone()
        assert row is not None
        actual = dict(zip(("recognized_tenant_level", "recognized_province_level",
                           "maintained_models"), map(int, row), strict=True))
        pairs = [(actual[k], int(v)) for k, v in targets.items() if k in actual]
        status, at_risk = judge(pairs, 0, period_fraction_elapsed(start, end, when))
        result.append(PeriodQuota(tenant_id, start, end, dict(targets), actual, status, at_risk))
    return result
