"""Plans: dated plan tasks, the units each is assigned to and their completion, and the
decisions approving each year's list (the first, then supplementary ones).

Whether a task is overdue depends on "today", so it is decided at query time.
"""

from __future__ import annotations

from typing import Any, ClassVar

from danvan.domain.plans import PlanTask
from danvan.domain.year_lists import YearList
from danvan.projections.base import Cursor, Projection, TableSharding, Write, copy_rows, pg_array
from danvan.projections.events import Batch, topic_of

SCHEDULED = topic_of(PlanTask.Scheduled)
COMPLETED = topic_of(PlanTask.Completed)
UNIT_COMPLETED = topic_of(PlanTask.UnitCompleted)
LIST_APPROVED = topic_of(YearList.Approved)
LIST_SUPPLEMENTED = topic_of(YearList.Supplemented)


class Plans(Projection):
    name = "plans"
    tables = ("plan_tasks", "plan_task_units", "year_list_decisions")
    sharding = dict.fromkeys(tables, TableSharding.TENANT)
    topics: ClassVar[frozenset[str] | None] = frozenset({
        SCHEDULED, COMPLETED, UNIT_COMPLETED, LIST_APPROVED, LIST_SUPPLEMENTED})

    def ddl(self, schema: str) -> list[str]:
        s = schema
        return [
            f"""CREATE TABLE {s}.plan_tasks (
                task_id uuid PRIMARY KEY,
                tenant_id text COLLATE "C" NOT NULL,
                year int NOT NULL,
                title text NOT NULL,
                due_date date NOT NULL,
                scheduled_at timestamptz NOT NULL,
                completed_on date,
                completed_at timestamptz,
                note text,
                position bigint NOT NULL)""",
            f"""CREATE TABLE {s}.plan_task_units (
                task_id uuid NOT NULL,
                unit_id uuid NOT NULL,
                tenant_id text COLLATE "C" NOT NULL,
                completed_on date,
                completed_at timestamptz,
                note text,
                PRIMARY KEY (task_id, unit_id))""",
            f"""CREATE TABLE {s}.year_list_decisions (
                list_id uuid NOT NULL,
                tenant_id text COLLATE "C" NOT NULL,
                year int NOT NULL,
                decision_number text NOT NULL,
                approved_at timestamptz NOT NULL,
                model_ids uuid[],
                position bigint NOT NULL,
                PRIMARY KEY (tenant_id, year, position))""",
        ]

    def indexes(self, schema: str) -> list[str]:
        return [f"CREATE INDEX ON {schema}.plan_tasks (tenant_id, year, due_date)",
                f"CREATE INDEX ON {schema}.plan_task_units (tenant_id)",
                f"CREATE INDEX ON {schema}.year_list_decisions (list_id)"]

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        tasks: list[tuple[str | None, ...]] = []
        units: list[tuple[str | None, ...]] = []
        completions: list[tuple[str, str, str | None, str]] = []
        unit_completions: list[tuple[str, str, str | None, str, str]] = []
        decisions: list[tuple[str | None, ...]] = []
        for e in self.wanted(batch):
            d = e.data
            if e.topic == SCHEDULED:
                tasks.append((e.originator_id, e.tenant_id, str(d.year), d.title,
                              d.due_date, e.at, str(e.position)))
                units += [(e.originator_id, unit_id, e.tenant_id) for unit_id in d.unit_ids]
            elif e.topic == COMPLETED:
                completions.append((d.completed_on, e.at, d.note or None, e.originator_id))
            elif e.topic == UNIT_COMPLETED:
                unit_completions.append((d.completed_on, e.at, d.note or None,
                                         e.originator_id, d.unit_id))
            else:
                model_ids = None if d.model_ids is None else pg_array(d.model_ids)
                number = d.decision_number
                year = str(d.year) if e.topic == LIST_APPROVED else None
                decisions.append((e.tenant_id, year, number, e.at, model_ids,
                                  str(e.position), e.originator_id))

        def write(cur: Cursor) -> None:
            if tasks:
                copy_rows(cur, f"{schema}.plan_tasks", ("task_id", "tenant_id", "year", "title",
                                                         "due_date", "scheduled_at", "position"),
                          tasks)
            if units:
                copy_rows(cur, f"{schema}.plan_task_units", ("task_id", "unit_id", "tenant_id"),
                          units)
            if completions:
                cur.executemany(f"UPDATE {schema}.plan_tasks SET completed_on = %s, "
                                "completed_at = %s, note = %s WHERE task_id = %s", completions)
            if unit_completions:
                cur.executemany(f"UPDATE {schema}.plan_task_units SET completed_on = %s, "
                                "completed_at = %s, note = %s "
                                "WHERE task_id = %s AND unit_id = %s", unit_completions)
                # the last unit's part completes the task
                cur.executemany(
                    f"UPDATE {schema}.plan_tasks t SET completed_on = %s, completed_at = %s "
                    f"WHERE t.task_id = %s AND t.completed_on IS NULL AND NOT EXISTS ("
                    f"SELECT 1 FROM {schema}.plan_task_units u "
                    "WHERE u.task_id = t.task_id AND u.completed_on IS NULL)",
                    [(on, at, task) for on, at, _, task, _ in unit_completions])
            for tenant_id, year, number, at, model_ids, position, list_id in decisions:
                # a supplementary decision's year is its list's (the first decision's)
                cur.execute(
                    f"INSERT INTO {schema}.year_list_decisions (list_id, tenant_id, year, "
                    "decision_number, approved_at, model_ids, position) "
                    "SELECT %s, %s, coalesce(%s::int, (SELECT year FROM "
                    f"{schema}.year_list_decisions WHERE list_id = %s LIMIT 1)), %s, %s, "
                    "%s::uuid[], %s", (list_id, tenant_id, year, list_id, number, at,
                                       model_ids, position))
        return write
