"""Registry questions: units, models (filtered, searched without diacritics), recognitions,
plan tasks with their overdue flag, lists approved."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from danvan.domain.clock import vietnam_date
from danvan.projections.base import Connection
from danvan.projections.paging import UUID, Page, check_first, decode_cursor, page_of

R = "danvan_read"


@dataclass(frozen=True)
class UnitRow:
    id: str
    tenant_id: str
    name: str
    kind: str
    reports_to_vertical_line: bool
    added_at: datetime
    closed_at: datetime | None
    closed_reason: str | None


@dataclass(frozen=True)
class ModelSummary:
    id: str
    tenant_id: str
    unit_id: str
    year: int
    kind: str
    name: str
    field: str | None
    state: str
    vertical_line: bool
    form: dict[str, Any]
    registered_at: datetime
    submitted_at: datetime | None
    accepted_at: datetime | None
    copy_received_at: datetime | None
    discontinued_at: datetime | None
    evaluation_total: Decimal | None
    passed: bool
    person_erased: bool
    list_years: list[int]
    recognized_levels: list[str]
    version: int
    updated_at: datetime


MODEL_FIELDS = ("m.model_id::text", "m.tenant_id", "m.unit_id::text", "m.year", "m.kind",
                "m.name", "m.field", "m.state", "m.vertical_line", "coalesce(f.form, '{}')",
                "m.registered_at", "m.submitted_at", "m.accepted_at", "m.copy_received_at",
                "m.discontinued_at", "m.evaluation_total", "m.passed", "m.person_erased",
                "m.list_years", "m.recognized_levels", "m.version", "m.updated_at")
MODELS_FROM = f"{R}.models m LEFT JOIN {R}.model_forms f ON f.model_id = m.model_id"


@dataclass(frozen=True)
class RecognitionRow:
    position: int
    model_id: str
    tenant_id: str
    year: int
    field: str | None
    level: str
    decision_number: str
    decision_date: date
    recognized_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    model_name: str


@dataclass(frozen=True)
class PlanTaskRow:
    id: str
    tenant_id: str
    year: int
    title: str
    due_date: date
    completed_on: date | None
    note: str | None
    overdue: bool


@dataclass(frozen=True)
class YearListRow:
    tenant_id: str
    year: int
    decision_number: str
    approved_at: datetime


def fold_text(text: str) -> str:
    """What a search is compared with: NFC first (``danvan_fold`` then drops the marks)."""
    return unicodedata.normalize("NFC", text).strip()


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def units(conn: Connection, tenant_id: str, *, include_closed: bool = True) -> list[UnitRow]:
    rows = conn.execute(
        f"SELECT unit_id::text, tenant_id, name, kind, reports_to_vertical_line, added_at, "
        f"closed_at, closed_reason FROM {R}.units WHERE tenant_id = %s "
        "AND (%s OR closed_at IS NULL) ORDER BY name, unit_id",
        (tenant_id, include_closed)).fetchall()
    return [UnitRow(*row) for row in rows]


def model(conn: Connection, model_id: str) -> ModelSummary | None:
    row = conn.execute(f"SELECT {', '.join(MODEL_FIELDS)} FROM {MODELS_FROM} "
                       "WHERE m.model_id = %s", (model_id,)).fetchone()
    return ModelSummary(*row) if row else None


def models(conn: Connection, tenant_id: str, *, year: int | None = None,
           state: str | None = None, field: str | None = None, unit_id: str | None = None,
           search: str | None = None, first: int = 100,
           after: str | None = None) -> Page[ModelSummary]:
    """A tenant's models, filtered; ``search`` matches any part of the name, ignoring case
    and Vietnamese diacritics ("duong" finds "Đường"). Ordered by name, then id."""
    check_first(first)
    key = decode_cursor("model", after, (str, UUID))
    params: dict[str, Any] = {
        "t": tenant_id, "y": year, "s": state, "f": field, "u": unit_id,
        "q": _like_pattern(fold_text(search)) if search else None,
        "kn": key[0] if key else None, "ki": key[1] if key else None, "lim": first + 1}
    clauses = ["m.tenant_id = %(t)s"]
    clauses += [clause for value, clause in (
        (year, "m.year = %(y)s"), (state, "m.state = %(s)s"), (field, "m.field = %(f)s"),
        (unit_id, "m.unit_id = %(u)s::uuid"),
        (search, "m.search_text LIKE public.danvan_fold(%(q)s)")) if value]
    where = " AND ".join(clauses)
    total_row = conn.execute(f"SELECT count(*) FROM {R}.models m WHERE {where}",
                             params).fetchone()
    rows = conn.execute(
        f"SELECT {', '.join(MODEL_FIELDS)} FROM {MODELS_FROM} WHERE {where} "
        f"{'AND (m.name, m.model_id) > (%(kn)s, %(ki)s::uuid)' if key else ''} "
        "ORDER BY m.name, m.model_id LIMIT %(lim)s", params).fetchall()
    items = [ModelSummary(*row) for row in rows]
    return page_of(items, first, int(total_row[0]) if total_row else 0, "model",
                   lambda m: (m.name, m.id))


def recognitions(conn: Connection, tenant_id: str, *, year: int | None = None,
                 level: str | None = None, include_revoked: bool = True
                 ) -> list[RecognitionRow]:
    """The recognition registry: decisions (number, date), and revocations, oldest first."""
    rows = conn.execute(
        f"SELECT r.position, r.model_id::text, r.tenant_id, r.year, r.field, r.level, "
        f"r.decision_number, r.decision_date, r.recognized_at, r.revoked_at, r.revoke_reason, "
        f"m.name FROM {R}.recognitions r JOIN {R}.models m USING (model_id) "
        "WHERE r.tenant_id = %(t)s AND (%(y)s::int IS NULL OR r.year = %(y)s) "
        "AND (%(l)s::text IS NULL OR r.level = %(l)s) AND (%(rv)s OR r.revoked_at IS NULL) "
        "ORDER BY r.position",
        {"t": tenant_id, "y": year, "l": level, "rv": include_revoked}).fetchall()
    return [RecognitionRow(*row) for row in rows]


def plan_tasks(conn: Connection, tenant_id: str, *, year: int | None = None,
               today: date | None = None) -> list[PlanTaskRow]:
    """Plan tasks by due date; overdue means not completed and due before ``today`` (Vietnam
    date, default the current one)."""
    day = today or vietnam_date(datetime.now(UTC))
    rows = conn.execute(
        f"SELECT task_id::text, tenant_id, year, title, due_date, completed_on, note "
        f"FROM {R}.plan_tasks WHERE tenant_id = %s AND (%s::int IS NULL OR year = %s) "
        "ORDER BY due_date, title, task_id", (tenant_id, year, year)).fetchall()
    return [PlanTaskRow(tid, tenant, y, title, due, done, note, done is None and due < day)
            for tid, tenant, y, title, due, done, note in rows]


def year_lists(conn: Connection, tenant_id: str) -> list[YearListRow]:
    rows = conn.execute(
        f"SELECT tenant_id, year, decision_number, approved_at FROM {R}.year_lists "
        "WHERE tenant_id = %s ORDER BY year", (tenant_id,)).fetchall()
    return [YearListRow(*row) for row in rows]
