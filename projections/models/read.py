"""The models read model's questions, batched: models (by id, or a page per tenant, filtered and
searched without diacritics), the recognition registry, and the quotas (per tenant and year,
per province, per unit, per field, per multi-year period), now or as of any past moment.

Each function takes the connection first (scope it with ``queries.scoped``) and answers for
every key asked at once; a single tenant is a batch of one. Dicts map each key asked to what
was found (an empty list or page when nothing was; absent for single objects).

"As of T" counts what had happened by T by the events' own timestamps: a model accepted at or
before T, a recognition made at or before T and not revoked by then, a unit added by T and not
closed by then, the targets version valid at T. Without ``as_of`` the stored counts are used;
both give the same figures (the tests check it). Status and "at risk" are judged at ``as_of``,
else at ``now`` (default: the current time, Vietnam calendar).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from danvan.domain.clock import period_fraction_elapsed, year_fraction_elapsed
from danvan.domain.policies import province_scope
from danvan.domain.registration_form import Field
from danvan.domain.targets import effective_period_targets
from danvan.projections.base import Connection, pg_array, pg_text_array
from danvan.projections.directory.read import province_tenants, tenants_by_id
from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.quota_status import judge
from danvan.projections.models.rows import (
    Counts,
    FieldBreakdown,
    ModelSummary,
    PeriodQuota,
    PeriodQuotaRow,
    Progress,
    ProvinceFigures,
    RecognitionRow,
    TenantQuota,
    UnitCompliance,
)
from danvan.projections.paging import UUID, Page, check_first, decode_cursor, page_of, tenant_pages
from danvan.projections.reading import (
    R,
    as_of_bound,
    fold_text,
    rows_of,
    search_like,
    select_list,
)
from danvan.projections.targets.read import period_targets_by_tenant, resolved_targets

_MODELS_FROM = f"FROM {R}.models m LEFT JOIN {R}.model_forms f ON f.model_id = m.model_id"
_MODELS = f"SELECT {select_list(ModelSummary, 'm')} {_MODELS_FROM}"


# --- the registry --------------------------------------------------------------------------

def models_by_id(conn: Connection, model_ids: Sequence[str]) -> dict[str, ModelSummary]:
    rows = conn.execute(f"{_MODELS} WHERE m.model_id = ANY(%s::uuid[])",
                        (list(model_ids),)).fetchall()
    return {m.id: m for m in rows_of(ModelSummary, rows)}


_MODEL_COLUMNS = len(dataclasses.fields(ModelSummary))
_MODELS_WITH_TENANTS = (
    f"SELECT {select_list(ModelSummary, 'm')}, {select_list(TenantRef, 't')} {_MODELS_FROM} "
    f"LEFT JOIN {R}.tenants t ON t.tenant_id = m.tenant_id "
    "AND t.onboarded_at <= %s::timestamptz WHERE m.model_id = ANY(%s::uuid[])")


def models_with_tenants(conn: Connection, model_ids: Sequence[str]
                        ) -> tuple[dict[str, ModelSummary], dict[str, TenantRef | None]]:
    """``models_by_id`` and the tenant of each model found (``tenants_by_id``'s rows; None
    where the connection sees no such tenant), in one statement: prepared, since every plan
    of it is a primary-key probe per id (``graphql.db``)."""
    models: dict[str, ModelSummary] = {}
    tenants: dict[str, TenantRef | None] = {}
    for row in conn.execute(_MODELS_WITH_TENANTS, (as_of_bound(None), list(model_ids)),
                            prepare=True).fetchall():
        model = ModelSummary(*row[:_MODEL_COLUMNS])
        models[model.id] = model
        tenant = row[_MODEL_COLUMNS:]
        tenants[model.tenant_id] = TenantRef(*tenant) if tenant[0] is not None else None
    return models, tenants


def model_pages(conn: Connection, tenant_ids: Sequence[str], *, year: int | None = None,
                state: str | None = None, field: str | None = None,
                unit_ids: Sequence[str] | None = None, search: str | None = None,
                first: int = 100, after: str | None = None
                ) -> dict[str, Page[ModelSummary]]:
    """One page of models per tenant, all with the same filters, ordered by name then id:
    ``search`` matches any part of the name ignoring case and Vietnamese diacritics ("duong"
    finds "Đường"); ``unit_ids`` (if given) keeps those units' models. Two statements."""
    check_first(first)
    key = decode_cursor("model", after, (str, UUID))
    params: dict[str, Any] = {
        "y": year, "s": state, "f": field,
        "u": list(unit_ids) if unit_ids is not None else None,
        "q": fold_text(search) if search else None,
        "kn": key[0] if key else None, "ki": key[1] if key else None}
    # Only the filters given, so that each query plans against the matching index.
    clauses = [clause for wanted, clause in (
        (year is not None, "m.year = %(y)s"), (state is not None, "m.state = %(s)s"),
        (field is not None, "m.field = %(f)s"),
        (unit_ids is not None, "m.unit_id = ANY(%(u)s::uuid[])"),
        (bool(search), f"m.search_text LIKE {search_like('q')}")) if wanted]
    return tenant_pages(
        conn, ModelSummary, select=_MODELS, table=f"{R}.models m",
        where=" AND ".join(["m.tenant_id = q.tenant_id", *clauses]), order="m.name, m.model_id",
        keyset="(m.name, m.model_id) > (%(kn)s, %(ki)s::uuid)" if key else None,
        params=params, tenant_ids=list(dict.fromkeys(tenant_ids)), first=first, kind="model",
        key=lambda m: (m.name, m.id))


def province_model_pages(conn: Connection, province_codes: Sequence[str], *,
                         year: int | None = None, state: str | None = None,
                         field: str | None = None, search: str | None = None,
                         first: int = 100, after: str | None = None
                         ) -> dict[str, Page[ModelSummary]]:
    """One page per province of the models of all its tenants, with ``model_pages``'s
    filters and order (by name, then id): e.g. ``state="nominated"``, the province's
    recognition queue. Two statements for every province asked."""
    check_first(first)
    key = decode_cursor("model", after, (str, UUID))
    codes = list(dict.fromkeys(province_codes))
    params: dict[str, Any] = {
        "p": codes, "y": year, "s": state, "f": field,
        "q": fold_text(search) if search else None,
        "kn": key[0] if key else None, "ki": key[1] if key else None, "lim": first + 1}
    clauses = [clause for wanted, clause in (
        (year is not None, "m.year = %(y)s"), (state is not None, "m.state = %(s)s"),
        (field is not None, "m.field = %(f)s"),
        (bool(search), f"m.search_text LIKE {search_like('q')}")) if wanted]
    where = " AND ".join([f"m.tenant_id IN (SELECT tenant_id FROM {R}.tenants "
                          "WHERE province_code = q.code)", *clauses])
    totals = dict(conn.execute(
        f"SELECT q.code, (SELECT count(*) FROM {R}.models m WHERE {where}) "
        "FROM unnest(%(p)s::text[]) AS q(code)", params).fetchall())
    keyset = "AND (m.name, m.model_id) > (%(kn)s, %(ki)s::uuid)" if key else ""
    rows = conn.execute(
        f"SELECT q.code, x.* FROM unnest(%(p)s::text[]) AS q(code) CROSS JOIN LATERAL ("
        f"{_MODELS} WHERE {where} {keyset} ORDER BY m.name, m.model_id LIMIT %(lim)s) x",
        params).fetchall()
    grouped: dict[str, list[ModelSummary]] = {c: [] for c in codes}
    for code, *values in rows:
        grouped[code].append(ModelSummary(*values))
    return {c: page_of(items, first, int(totals.get(c, 0)), "model", lambda m: (m.name, m.id))
            for c, items in grouped.items()}


def recognitions_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                           year: int | None = None, level: str | None = None,
                           include_revoked: bool = True,
                           unit_ids: Sequence[str] | None = None
                           ) -> dict[str, list[RecognitionRow]]:
    """Each tenant's recognition registry (decisions, and revocations), oldest first;
    ``unit_ids`` (if given) keeps those units' models."""
    found: dict[str, list[RecognitionRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(
        f"SELECT {select_list(RecognitionRow, 'r')} "
        f"FROM {R}.recognitions r JOIN {R}.models m USING (model_id) "
        "WHERE r.tenant_id = ANY(%(t)s) AND (%(y)s::int IS NULL OR r.year = %(y)s) "
        "AND (%(l)s::text IS NULL OR r.level = %(l)s) AND (%(rv)s OR r.revoked_at IS NULL) "
        "AND (%(u)s::uuid[] IS NULL OR m.unit_id = ANY(%(u)s::uuid[])) "
        "ORDER BY r.position",
        {"t": list(tenant_ids), "y": year, "l": level, "rv": include_revoked,
         "u": list(unit_ids) if unit_ids is not None else None}).fetchall()
    for recognition in rows_of(RecognitionRow, rows):
        found[recognition.tenant_id].append(recognition)
    return found


# --- counts --------------------------------------------------------------------------------

_COUNTS = select_list(Counts)


def counts(conn: Connection, tenant_ids: Sequence[str], year: int,
           as_of: datetime | None = None) -> dict[str, Counts]:
    """Each tenant's counts of ``year`` (tenants with none are absent)."""
    ids = list(tenant_ids)
    if as_of is None:
        rows = conn.execute(f"SELECT tenant_id, {_COUNTS} FROM {R}.quota_counts "
                            "WHERE tenant_id = ANY(%s) AND year = %s", (ids, year)).fetchall()
        return {row[0]: Counts(*row[1:]) for row in rows}
    params = {"ids": ids, "y": year, "at": as_of_bound(as_of)}
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
            SELECT t.tenant_id, coalesce(m.new_models, 0) AS new_models,
                   coalesce(r.rt, 0) AS recognized_tenant_level,
                   coalesce(r.rp, 0) AS recognized_province_level,
                   coalesce(y.maintained, 0) AS maintained_models,
                   coalesce(m.discontinued, 0) AS discontinued_models,
                   coalesce(m.submitted, 0) AS submitted_models
              FROM unnest(%(ids)s::text[]) AS t(tenant_id)
              LEFT JOIN m USING (tenant_id) LEFT JOIN r USING (tenant_id)
              LEFT JOIN y USING (tenant_id)""", params).fetchall()
    return {row[0]: Counts(*row[1:]) for row in rows}


def _open_units(select: str, as_of: datetime | None) -> str:
    """``select`` over the units open at ``%(at)s`` of the tenants ``%(ids)s``, each beside
    its tenant's minimum (``%(min)s``, m.minimum) and its models of ``%(y)s`` submitted
    (c.n; a received copy counts)."""
    if as_of is None:
        submitted = (f"SELECT unit_id, submitted_models AS n FROM {R}.unit_counts "
                     "WHERE tenant_id = ANY(%(ids)s::text[]) AND year = %(y)s")
    else:
        submitted = (f"SELECT unit_id, count(*) AS n FROM {R}.models "
                     "WHERE tenant_id = ANY(%(ids)s::text[]) AND year = %(y)s "
                     "AND submitted_at <= %(at)s::timestamptz GROUP BY unit_id")
    # MATERIALIZED: inlined, the planner picks a nested loop over every unit of a province
    # (seconds for 1,600 units); computed once, it is milliseconds.
    return f"""WITH c AS MATERIALIZED ({submitted})
            SELECT {select}
              FROM {R}.units u
              JOIN unnest(%(ids)s::text[], %(min)s::int[]) AS m(tenant_id, minimum)
                ON m.tenant_id = u.tenant_id
              LEFT JOIN c ON c.unit_id = u.unit_id
             WHERE u.added_at <= %(at)s::timestamptz
               AND (u.closed_at IS NULL OR u.closed_at > %(at)s::timestamptz)"""


def _minimums(minimum: dict[str, int], year: int, as_of: datetime | None) -> dict[str, Any]:
    # Array literals: cheaper than psycopg's dumper for a province's hundreds of tenants.
    return {"ids": pg_text_array(minimum), "min": pg_array(minimum.values()), "y": year,
            "at": as_of_bound(as_of)}


def units_without_registration(conn: Connection, minimum: dict[str, int], year: int,
                               as_of: datetime | None = None) -> dict[str, int]:
    """Per tenant: units open at ``as_of`` with fewer models of ``year`` ever submitted (a
    received copy counts) than the tenant's ``per_unit_minimum``."""
    if as_of is None:
        return {tid: below for tid, (_, below) in
                _present_quota_counts(conn, minimum, year).items() if below}
    select = "u.tenant_id, count(*) FILTER (WHERE coalesce(c.n, 0) < m.minimum)"
    rows = conn.execute(f"{_open_units(select, as_of)} GROUP BY u.tenant_id",
                        _minimums(minimum, year, as_of)).fetchall()
    return {tid: n for tid, n in rows}


def _present_quota_counts(conn: Connection, minimum: dict[str, int], year: int,
                          province_code: str | None = None
                          ) -> dict[str, tuple[Counts, int]]:
    """The present, in one statement: each tenant's counts of ``year`` and its open units
    with fewer models of the year submitted than its minimum (the open units less the
    ``unit_histogram`` rows at or above the minimum; a minimum of 0 leaves no unit below).
    With ``province_code`` (the tenants being that province's), each table is read as one
    index range of the province's rows rather than a probe per tenant."""
    counters = ", ".join(f"coalesce(q.{f.name}, 0)" for f in dataclasses.fields(Counts))
    mine = "province_code = %(p)s" if province_code is not None else \
        "tenant_id = ANY(%(ids)s::text[])"
    # MATERIALIZED: each table is read once, then joined in memory (a nested loop would
    # probe it once per tenant, each probe paying for row-level security's array again).
    # By province, prepared: each table is one index range whatever the plan, and planning
    # this statement cost as much as running it (``graphql.db``).
    rows = conn.execute(
        f"""WITH m AS (SELECT * FROM unnest(%(ids)s::text[], %(min)s::int[])
                         AS m(tenant_id, minimum)),
                 q AS MATERIALIZED (SELECT * FROM {R}.quota_counts
                                     WHERE {mine} AND year = %(y)s),
                 o AS MATERIALIZED (SELECT tenant_id, units FROM {R}.open_units WHERE {mine}),
                 h AS MATERIALIZED (SELECT tenant_id, submitted, units FROM {R}.unit_histogram
                                     WHERE {mine} AND year = %(y)s),
                 b AS (SELECT h.tenant_id, sum(h.units) AS units
                         FROM h JOIN m ON m.tenant_id = h.tenant_id
                        WHERE h.submitted >= m.minimum GROUP BY h.tenant_id)
            SELECT m.tenant_id, {counters},
                   CASE WHEN m.minimum <= 0 THEN 0
                        ELSE coalesce(o.units, 0) - coalesce(b.units, 0) END
              FROM m LEFT JOIN q ON q.tenant_id = m.tenant_id
              LEFT JOIN o ON o.tenant_id = m.tenant_id
              LEFT JOIN b ON b.tenant_id = m.tenant_id""",
        {**_minimums(minimum, year, None), "p": province_code},
        prepare=province_code is not None).fetchall()
    return {tid: (Counts(*values), int(below)) for tid, *values, below in rows}


def unit_compliance(conn: Connection, tenant_ids: Sequence[str], year: int, *,
                    as_of: datetime | None = None) -> dict[str, list[UnitCompliance]]:
    """Each tenant's units open at ``as_of``, by name: models of ``year`` submitted against
    the tenant's minimum (an unknown tenant has none)."""
    tenants = list(tenants_by_id(conn, tenant_ids).values())
    targets = resolved_targets(conn, tenants, year, as_of)
    found: dict[str, list[UnitCompliance]] = {t: [] for t in tenant_ids}
    if not tenants:
        return found
    select = f"u.tenant_id, {select_list(UnitCompliance)}"
    rows = conn.execute(
        f"{_open_units(select, as_of)} ORDER BY u.tenant_id, u.name, u.unit_id",
        _minimums({t.id: targets[t.id].per_unit_minimum for t in tenants}, year, as_of)
    ).fetchall()
    for tenant_id, *values in rows:
        found[tenant_id].append(UnitCompliance(*values))
    return found


# --- quotas --------------------------------------------------------------------------------

def quotas(conn: Connection, tenants: Sequence[TenantRef], year: int, *,
           as_of: datetime | None = None, now: datetime | None = None,
           province_code: str | None = None) -> list[TenantQuota]:
    """The quota of each of ``tenants`` for ``year``, in their order; status and risk judged
    at ``as_of`` (or ``now``, default the current time). ``province_code``: the tenants are
    that province's (its present counts are then read by province)."""
    if not tenants:
        return []
    at = as_of or now or datetime.now(UTC)
    targets = resolved_targets(conn, tenants, year, as_of, prepare=province_code is not None)
    minimum = {t.id: targets[t.id].per_unit_minimum for t in tenants}
    if as_of is None:
        present = _present_quota_counts(conn, minimum, year, province_code)
        found = {tid: c for tid, (c, _) in present.items()}
        lacking = {tid: below for tid, (_, below) in present.items()}
    else:
        found = counts(conn, list(minimum), year, as_of)
        lacking = units_without_registration(conn, minimum, year, as_of)
    fraction = year_fraction_elapsed(year, at)  # judge_year's, once for every tenant
    result = []
    for tenant in tenants:
        c, t = found.get(tenant.id, Counts()), targets[tenant.id]
        without = lacking.get(tenant.id, 0)
        status, at_risk = judge(
            [(c.new_models, t.new_models),
             (c.recognized_tenant_level, t.recognized_tenant_level),
             (c.recognized_province_level, t.recognized_province_level)], without, fraction)
        result.append(TenantQuota(
            tenant, year, c.new_models, t.new_models, c.recognized_tenant_level,
            t.recognized_tenant_level, c.recognized_province_level, t.recognized_province_level,
            t.per_unit_minimum, without, c.maintained_models, c.discontinued_models,
            c.submitted_models, status, at_risk))
    return result


def breakdown(conn: Connection, tenant_ids: Sequence[str], year: int, *,
              as_of: datetime | None = None,
              province_code: str | None = None) -> list[FieldBreakdown]:
    """Per field over ``tenant_ids`` together (all five fields, zeros included): models of
    ``year`` accepted and recognised (not revoked) at each level, and progress reported for
    periods of ``year``. ``province_code``: the tenants are all of that province's (its
    present totals are then the projector's rollup, ``province_fields``)."""
    params: dict[str, Any] = {"ids": list(tenant_ids), "y": year, "at": as_of_bound(as_of)}
    if as_of is None and province_code is not None:
        return _rollup_breakdown(_send_province_fields(conn, province_code, year).fetchall())
    if as_of is None:
        both = conn.execute(
            f"""SELECT field, sum(n), sum(rt), sum(rp), sum(p), sum(w), sum(money), sum(land),
                       sum(reports)
                  FROM (SELECT field, new_models AS n, recognized_tenant_level AS rt,
                               recognized_province_level AS rp, NULL::bigint AS p,
                               NULL::bigint AS w, NULL::numeric AS money,
                               NULL::numeric AS land, NULL::int AS reports
                          FROM {R}.field_counts WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s
                        UNION ALL
                        SELECT field, NULL, NULL, NULL, participants, workdays, money_vnd,
                               land_m2, reports
                          FROM {R}.progress_totals
                         WHERE tenant_id = ANY(%(ids)s) AND year = %(y)s) x
                 GROUP BY field""", params).fetchall()
        count_rows = [(f, n, rt, rp) for f, n, rt, rp, *_ in both if n is not None]
        progress_rows = [(f, *sums) for f, _, _, _, *sums in both if sums[-1] is not None]
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
    return _fields(count_rows, progress_rows)


def _send_province_fields(conn: Connection, province_code: str, year: int) -> Any:
    """The province's present per-field rollup (``province_fields``), sent: fetch it when
    needed (in a pipeline it travels with the statements sent after it)."""
    return conn.execute(
        f"SELECT field, new_models, recognized_tenant_level, recognized_province_level, "
        f"participants, workdays, money_vnd, land_m2, reports FROM {R}.province_fields "
        "WHERE tenant_id = %s AND year = %s",
        (province_scope(province_code), year), prepare=True)


def _rollup_breakdown(both: Sequence[Any]) -> list[FieldBreakdown]:
    return _fields([(f, n, rt, rp) for f, n, rt, rp, *_ in both],
                   [(f, *sums) for f, _, _, _, *sums in both])


def _fields(count_rows: Sequence[Any], progress_rows: Sequence[Any]) -> list[FieldBreakdown]:
    found = {f: (int(a), int(b), int(c)) for f, a, b, c in count_rows}
    progress = {f: Progress(int(p), int(w), m, land, int(n))
                for f, p, w, m, land, n in progress_rows}
    return [FieldBreakdown(f.value, *found.get(f.value, (0, 0, 0)),
                           progress.get(f.value, Progress())) for f in Field]


def province_figures(conn: Connection, province_code: str, year: int, *,
                     as_of: datetime | None = None,
                     now: datetime | None = None) -> ProvinceFigures:
    """Every tenant's quota for ``year`` (onboarded by ``as_of``) and the per-field breakdown:
    ``.summary()`` adds them up, ``quota_page.quota_page`` pages them."""
    # The present rollup needs nothing read before it: sent first, in a pipeline (the
    # readers', ``graphql.db``) it shares the tenants' round trip instead of taking its own.
    rollup = _send_province_fields(conn, province_code, year) if as_of is None else None
    tenants = province_tenants(conn, province_code, as_of=as_of)
    rows = quotas(conn, tenants, year, as_of=as_of, now=now, province_code=province_code)
    by_field = _rollup_breakdown(rollup.fetchall()) if rollup is not None else breakdown(
        conn, [t.id for t in tenants], year, as_of=as_of, province_code=province_code)
    return ProvinceFigures(province_code, year, rows, by_field)


# --- multi-year periods --------------------------------------------------------------------

_PERIOD_ACTUALS = ("recognized_tenant_level", "recognized_province_level", "maintained_models")


def _period_actuals(conn: Connection, periods: Sequence[tuple[str, int, int]],
                    as_of: datetime | None) -> list[dict[str, int]]:
    """For each (tenant, start year, end year): models of the period's years recognised at
    each level (by ``as_of``, not revoked by then) and distinct models maintained into a year
    of the period; in order. One statement."""
    if not periods:
        return []
    rows = conn.execute(
        f"""SELECT
            (SELECT count(*) FROM {R}.recognitions WHERE tenant_id = p.t
              AND year BETWEEN p.s AND p.e AND level = 'tenant'
              AND recognized_at <= %(at)s::timestamptz
              AND (revoked_at IS NULL OR revoked_at > %(at)s::timestamptz)),
            (SELECT count(*) FROM {R}.recognitions WHERE tenant_id = p.t
              AND year BETWEEN p.s AND p.e AND level = 'province'
              AND recognized_at <= %(at)s::timestamptz
              AND (revoked_at IS NULL OR revoked_at > %(at)s::timestamptz)),
            (SELECT count(DISTINCT model_id) FROM {R}.model_years WHERE tenant_id = p.t
              AND year BETWEEN p.s AND p.e AND maintained_at <= %(at)s::timestamptz)
            FROM unnest(%(t)s::text[], %(s)s::int[], %(e)s::int[]) WITH ORDINALITY
                 AS p(t, s, e, i) ORDER BY p.i""",
        {"t": [p[0] for p in periods], "s": [p[1] for p in periods],
         "e": [p[2] for p in periods], "at": as_of_bound(as_of)}).fetchall()
    return [dict(zip(_PERIOD_ACTUALS, map(int, row), strict=True)) for row in rows]


def period_quotas(conn: Connection, tenant_ids: Sequence[str], *,
                  as_of: datetime | None = None,
                  now: datetime | None = None) -> dict[str, list[PeriodQuota]]:
    """Each tenant's multi-year targets in force at ``as_of`` and how far they are reached:
    models of the period's years recognised at each level and not revoked, and distinct
    models maintained into a year of the period."""
    when = as_of or now or datetime.now(UTC)
    periods = [p for found in period_targets_by_tenant(conn, tenant_ids, as_of=as_of).values()
               for p in found]
    result: dict[str, list[PeriodQuota]] = {t: [] for t in tenant_ids}
    actuals = _period_actuals(conn, [(p.tenant_id, p.start_year, p.end_year) for p in periods],
                              as_of)
    for period, actual in zip(periods, actuals, strict=True):
        pairs = [(actual[k], int(v)) for k, v in period.targets.items() if k in actual]
        status, at_risk = judge(
            pairs, 0, period_fraction_elapsed(period.start_year, period.end_year, when))
        result[period.tenant_id].append(PeriodQuota(
            period.tenant_id, period.start_year, period.end_year, dict(period.targets),
            actual, status, at_risk))
    return result


def period_quota(conn: Connection, tenant_ids: Sequence[str], start_year: int, end_year: int,
                 *, as_of: datetime | None = None, now: datetime | None = None
                 ) -> dict[str, PeriodQuotaRow]:
    """Each tenant's quota for the period ``start_year``–``end_year`` as it stood at
    ``as_of``: its targets for the period in force then (``SetPeriodTargets``), else the
    term's defaults for its kind (``domain.targets.TERM_DEFAULTS``), beside the period's
    recognitions and maintained models. An unknown tenant is absent."""
    when = as_of or now or datetime.now(UTC)
    tenants = list(tenants_by_id(conn, tenant_ids).values())
    own = {p.tenant_id: p.targets
           for found in period_targets_by_tenant(conn, [t.id for t in tenants],
                                                 as_of=as_of).values()
           for p in found if (p.start_year, p.end_year) == (start_year, end_year)}
    actuals = _period_actuals(conn, [(t.id, start_year, end_year) for t in tenants], as_of)
    fraction = period_fraction_elapsed(start_year, end_year, when)
    found = {}
    for tenant, actual in zip(tenants, actuals, strict=True):
        targets = effective_period_targets(tenant.kind, own.get(tenant.id))
        status, at_risk = judge([(actual[k], targets[k]) for k in _PERIOD_ACTUALS], 0,
                                fraction)
        found[tenant.id] = PeriodQuotaRow(
            tenant.id, start_year, end_year, actual["recognized_tenant_level"],
            targets["recognized_tenant_level"], actual["recognized_province_level"],
            targets["recognized_province_level"], actual["maintained_models"],
            targets["maintained_models"], tenant.id in own, status, at_risk)
    return found
