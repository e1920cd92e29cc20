"""The plans' questions, batched by tenant: plan tasks (overdue or not on a given day) and the
years' lists approved. Each function takes the connection first (scope it with
``queries.scoped``); every tenant asked maps to a list, empty when there is nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from danvan.domain.clock import vietnam_date
from danvan.projections.base import Connection
from danvan.projections.plans.rows import PlanTaskRow, YearListRow
from danvan.projections.reading import R, rows_of, select_list


def plan_tasks_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                         year: int | None = None, today: date | None = None
                         ) -> dict[str, list[PlanTaskRow]]:
    """Each tenant's plan tasks by due date; overdue when not completed and due before
    ``today`` (Vietnam date, default the current one)."""
    found: dict[str, list[PlanTaskRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(
        f"SELECT {select_list(PlanTaskRow)} FROM {R}.plan_tasks "
        "WHERE tenant_id = ANY(%(t)s) AND (%(y)s::int IS NULL OR year = %(y)s) "
        "ORDER BY tenant_id, due_date, title, task_id",
        {"t": list(tenant_ids), "y": year,
         "today": today or vietnam_date(datetime.now(UTC))}).fetchall()
    for task in rows_of(PlanTaskRow, rows):
        found[task.tenant_id].append(task)
    return found


def year_lists_by_tenant(conn: Connection, tenant_ids: Sequence[str]
                         ) -> dict[str, list[YearListRow]]:
    """Each tenant's approved lists, by year."""
    found: dict[str, list[YearListRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(f"SELECT {select_list(YearListRow)} FROM {R}.year_lists "
                        "WHERE tenant_id = ANY(%s) ORDER BY tenant_id, year",
                        (list(tenant_ids),)).fetchall()
    for approved in rows_of(YearListRow, rows):
        found[approved.tenant_id].append(approved)
    return found
