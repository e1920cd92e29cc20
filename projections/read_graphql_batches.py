"""Batched reads for the GraphQL layer's DataLoaders: one SQL statement for many tenants or
models, so a list of tenants with their units (or models, tasks, recognitions) costs one query
per level, never one per row.

Each function takes the connection first (scope it with ``queries.scoped``) and answers a
dict keyed by what was asked; keys with nothing found map to an empty list (or are absent
for single objects).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from danvan.domain.clock import vietnam_date
from danvan.projections.base import Connection
from danvan.projections.paging import UUID, Page, check_first, decode_cursor, page_of
from danvan.projections.read_quota import TenantRef
from danvan.projections.read_registry import (
    MODEL_FIELDS,
    MODELS_FROM,
    ModelSummary,
    PlanTaskRow,
    RecognitionRow,
    UnitRow,
    fold_text,
)

R = "danvan_read"


def tenants_by_id(conn: Connection, tenant_ids: Sequence[str]) -> dict[str, TenantRef]:
    rows = conn.execute(
        f"SELECT tenant_id, code, name, kind, province_code FROM {R}.tenants "
        "WHERE tenant_id = ANY(%s)", (list(tenant_ids),)).fetchall()
    return {row[0]: TenantRef(*row) for row in rows}


def units_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                    include_closed: bool = True) -> dict[str, list[UnitRow]]:
    found: dict[str, list[UnitRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(
        f"SELECT unit_id::text, tenant_id, name, kind, reports_to_vertical_line, added_at, "
        f"closed_at, closed_reason FROM {R}.units WHERE tenant_id = ANY(%s) "
        "AND (%s OR closed_at IS NULL) ORDER BY tenant_id, name, unit_id",
        (list(tenant_ids), include_closed)).fetchall()
    for row in rows:
        found[row[1]].append(UnitRow(*row))
    return found


def units_by_id(conn: Connection, unit_ids: Sequence[str]) -> dict[str, UnitRow]:
    rows = conn.execute(
        f"SELECT unit_id::text, tenant_id, name, kind, reports_to_vertical_line, added_at, "
        f"closed_at, closed_reason FROM {R}.units WHERE unit_id = ANY(%s::uuid[])",
        (list(unit_ids),)).fetchall()
    return {row[0]: UnitRow(*row) for row in rows}


def models_by_id(conn: Connection, model_ids: Sequence[str]) -> dict[str, ModelSummary]:
    rows = conn.execute(f"SELECT {', '.join(MODEL_FIELDS)} FROM {MODELS_FROM} "
                        "WHERE m.model_id = ANY(%s::uuid[])", (list(model_ids),)).fetchall()
    return {row[0]: ModelSummary(*row) for row in rows}


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def model_pages(conn: Connection, tenant_ids: Sequence[str], *, year: int | None = None,
                state: str | None = None, field: str | None = None,
                unit_ids: Sequence[str] | None = None, search: str | None = None,
                first: int = 100, after: str | None = None
                ) -> dict[str, Page[ModelSummary]]:
    """One page of models per tenant, all with the same filters (``queries.models``, for many
    tenants at once): ordered by name then id, ``search`` ignoring case and diacritics,
    ``unit_ids`` (if given) restricting to those units. Two statements in all."""
    check_first(first)
    key = decode_cursor("model", after, (str, UUID))
    params: dict[str, Any] = {
        "t": list(tenant_ids), "y": year, "s": state, "f": field,
        "u": list(unit_ids) if unit_ids is not None else None,
        "q": _like_pattern(fold_text(search)) if search else None,
        "kn": key[0] if key else None, "ki": key[1] if key else None, "lim": first + 1}
    clauses = [clause for wanted, clause in (
        (year is not None, "m.year = %(y)s"), (state is not None, "m.state = %(s)s"),
        (field is not None, "m.field = %(f)s"),
        (unit_ids is not None, "m.unit_id = ANY(%(u)s::uuid[])"),
        (bool(search), "m.search_text LIKE public.danvan_fold(%(q)s)")) if wanted]
    where = " AND ".join(["m.tenant_id = q.tenant_id", *clauses])
    totals = dict(conn.execute(
        f"SELECT m.tenant_id, count(*) FROM {R}.models m "
        f"JOIN unnest(%(t)s::text[]) AS q(tenant_id) ON {where} GROUP BY m.tenant_id",
        params).fetchall())
    keyset = "AND (m.name, m.model_id) > (%(kn)s, %(ki)s::uuid)" if key else ""
    rows = conn.execute(
        f"SELECT x.* FROM unnest(%(t)s::text[]) AS q(tenant_id) CROSS JOIN LATERAL ("
        f"SELECT {', '.join(MODEL_FIELDS)} FROM {MODELS_FROM} WHERE {where} {keyset} "
        "ORDER BY m.name, m.model_id LIMIT %(lim)s) x", params).fetchall()
    grouped: dict[str, list[ModelSummary]] = {t: [] for t in tenant_ids}
    for row in rows:
        grouped[row[1]].append(ModelSummary(*row))
    return {t: page_of(items, first, int(totals.get(t, 0)), "model", lambda m: (m.name, m.id))
            for t, items in grouped.items()}


def recognitions_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                           year: int | None = None, level: str | None = None,
                           include_revoked: bool = True,
                           unit_ids: Sequence[str] | None = None
                           ) -> dict[str, list[RecognitionRow]]:
    """The recognition registry of each tenant, oldest first (``queries.recognitions``);
    ``unit_ids`` keeps only those units' models."""
    found: dict[str, list[RecognitionRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(
        f"SELECT r.position, r.model_id::text, r.tenant_id, r.year, r.field, r.level, "
        f"r.decision_number, r.decision_date, r.recognized_at, r.revoked_at, r.revoke_reason, "
        f"m.name FROM {R}.recognitions r JOIN {R}.models m USING (model_id) "
        "WHERE r.tenant_id = ANY(%(t)s) AND (%(y)s::int IS NULL OR r.year = %(y)s) "
        "AND (%(l)s::text IS NULL OR r.level = %(l)s) AND (%(rv)s OR r.revoked_at IS NULL) "
        "AND (%(u)s::uuid[] IS NULL OR m.unit_id = ANY(%(u)s::uuid[])) "
        "ORDER BY r.position",
        {"t": list(tenant_ids), "y": year, "l": level, "rv": include_revoked,
         "u": list(unit_ids) if unit_ids is not None else None}).fetchall()
    for row in rows:
        found[row[2]].append(RecognitionRow(*row))
    return found


def plan_tasks_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                         year: int | None = None, today: date | None = None
                         ) -> dict[str, list[PlanTaskRow]]:
    """Each tenant's plan tasks by due date, overdue when not completed and due before
    ``today`` (Vietnam date, default the current one); ``queries.plan_tasks`` for many."""
    day = today or vietnam_date(datetime.now(UTC))
    found: dict[str, list[PlanTaskRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(
        f"SELECT task_id::text, tenant_id, year, title, due_date, completed_on, note "
        f"FROM {R}.plan_tasks WHERE tenant_id = ANY(%s) AND (%s::int IS NULL OR year = %s) "
        "ORDER BY tenant_id, due_date, title, task_id",
        (list(tenant_ids), year, year)).fetchall()
    for tid, tenant, y, title, due, done, note in rows:
        found[tenant].append(PlanTaskRow(tid, tenant, y, title, due, done, note,
                                         done is None and due < day))
    return found


def sealed_persons(conn: Connection, model_ids: Sequence[str]
                   ) -> dict[str, tuple[str, str]]:
    """``(key_id, sealed token)`` of each individual exemplar among ``model_ids``, as its
    registration event recorded them (the audit log's payload holds only the sealed token)."""
    rows = conn.execute(
        f"SELECT aggregate_id::text, payload ->> 'person_key_id', payload ->> 'person_token' "
        f"FROM {R}.audit_log WHERE aggregate_id = ANY(%s::uuid[]) AND version = 1",
        (list(model_ids),)).fetchall()
    return {mid: (key, token) for mid, key, token in rows if key and token}


def read_models_stamp(conn: Connection) -> tuple[int, ...]:
    """Changes whenever a read model moves on (a batch applied, a rebuild switched in)."""
    rows = conn.execute(
        "SELECT v.version, v.position FROM public.danvan_projections p "
        "JOIN public.danvan_projection_versions v ON v.name = p.name "
        "AND v.version = p.active_version ORDER BY p.name").fetchall()
    return tuple(n for row in rows for n in row)
