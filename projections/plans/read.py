"""The plans' questions, batched by tenant: plan tasks (overdue or not on a given day), the
units each task is assigned to, and the decisions approving the years' lists. Each function
takes the connection first (scope it with ``queries.scoped``); every tenant (or task) asked
maps to a list, empty when there is nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from danvan.domain.clock import vietnam_date
from danvan.projections.base import Connection
from danvan.projections.plans.rows import (
    ListDecisionRow,
    PlanTaskRow,
    PlanTaskUnitRow,
    YearListRow,
)
from danvan.projections.reading import R, as_of_bound, rows_of, select_list


def _today(today: date | None) -> date:
    return today or vietnam_date(datetime.now(UTC))


def plan_tasks_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                         year: int | None = None, today: date | None = None,
                         overdue: bool | None = None) -> dict[str, list[PlanTaskRow]]:
    """Each tenant's plan tasks by due date; overdue when not completed and due before
    ``today`` (Vietnam date, default the current one); ``overdue`` (if given) keeps those
    that are (True) or are not (False)."""
    found: dict[str, list[PlanTaskRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(
        f"SELECT {select_list(PlanTaskRow)} FROM {R}.plan_tasks t "
        "WHERE tenant_id = ANY(%(t)s) AND (%(y)s::int IS NULL OR year = %(y)s) "
        "AND (%(o)s::boolean IS NULL OR "
        "(completed_on IS NULL AND due_date < %(today)s) = %(o)s) "
        "ORDER BY tenant_id, due_date, title, task_id",
        {"t": list(tenant_ids), "y": year, "o": overdue, "today": _today(today)}).fetchall()
    for task in rows_of(PlanTaskRow, rows):
        found[task.tenant_id].append(task)
    return found


def plan_tasks_by_province(conn: Connection, province_codes: Sequence[str], *,
                           year: int | None = None, today: date | None = None,
                           overdue: bool | None = None) -> dict[str, list[PlanTaskRow]]:
    """The plan tasks of every tenant of each province, by due date (then tenant and title),
    filtered as ``plan_tasks_by_tenant`` filters them. One statement."""
    found: dict[str, list[PlanTaskRow]] = {c: [] for c in province_codes}
    rows = conn.execute(
        f"SELECT p.province_code, {select_list(PlanTaskRow)} FROM {R}.plan_tasks t "
        f"JOIN {R}.tenants p USING (tenant_id) WHERE p.province_code = ANY(%(p)s) "
        "AND (%(y)s::int IS NULL OR year = %(y)s) "
        "AND (%(o)s::boolean IS NULL OR "
        "(completed_on IS NULL AND due_date < %(today)s) = %(o)s) "
        "ORDER BY p.province_code, due_date, tenant_id, title, task_id",
        {"p": list(province_codes), "y": year, "o": overdue, "today": _today(today)}
    ).fetchall()
    for code, *values in rows:
        found[code].append(PlanTaskRow(*values))
    return found


def task_units(conn: Connection, task_ids: Sequence[str], *, today: date | None = None
               ) -> dict[str, list[PlanTaskUnitRow]]:
    """Each task's assigned units and their parts, overdue each on its own (not completed
    by that unit and due before ``today``); by unit id."""
    found: dict[str, list[PlanTaskUnitRow]] = {t: [] for t in task_ids}
    rows = conn.execute(
        f"SELECT {select_list(PlanTaskUnitRow)} FROM {R}.plan_task_units u "
        f"JOIN {R}.plan_tasks t USING (task_id) WHERE u.task_id = ANY(%(t)s::uuid[]) "
        "ORDER BY u.task_id, u.unit_id",
        {"t": list(task_ids), "today": _today(today)}).fetchall()
    for part in rows_of(PlanTaskUnitRow, rows):
        found[part.task_id].append(part)
    return found


def list_decisions_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                             as_of: datetime | None = None
                             ) -> dict[str, list[ListDecisionRow]]:
    """Each tenant's decisions approving its years' lists, by year then in the order they
    were made, those made by ``as_of`` (default: all)."""
    found: dict[str, list[ListDecisionRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(
        f"SELECT {select_list(ListDecisionRow)} FROM {R}.year_list_decisions d "
        "WHERE d.tenant_id = ANY(%(t)s) AND d.approved_at <= %(at)s::timestamptz "
        "ORDER BY d.tenant_id, d.year, d.position",
        {"t": list(tenant_ids), "at": as_of_bound(as_of)}).fetchall()
    for decision in rows_of(ListDecisionRow, rows):
        found[decision.tenant_id].append(decision)
    return found


def year_lists_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                         as_of: datetime | None = None) -> dict[str, list[YearListRow]]:
    """Each tenant's approved lists by year, each with its decisions made by ``as_of``."""
    found: dict[str, list[YearListRow]] = {t: [] for t in tenant_ids}
    for tenant_id, decisions in list_decisions_by_tenant(conn, tenant_ids,
                                                         as_of=as_of).items():
        for decision in decisions:
            lists = found[tenant_id]
            if not lists or lists[-1].year != decision.year:
                lists.append(YearListRow(tenant_id, decision.year, []))
            lists[-1].decisions.append(decision)
    return found
