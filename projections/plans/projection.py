"""Plans: dated plan tasks and their completion, and the approval of each year's list.

Whether a task is overdue depends on "today", so it is decided at query time.
"""

from __future__ import annotations

from typing import Any, ClassVar

from danvan.domain.plans import PlanTask
from danvan.domain.year_lists import YearList
from danvan.projections.base import Cursor, Projection, Write, copy_rows
from danvan.projections.events import Batch, topic_of

SCHEDULED = topic_of(PlanTask.Scheduled)
COMPLETED = topic_of(PlanTask.Completed)
LIST_APPROVED = topic_of(YearList.Approved)


class Plans(Projection):
    name = "plans"
    tables = ("plan_tasks", "year_lists")
    topics: ClassVar[frozenset[str] | None] = frozenset({SCHEDULED, COMPLETED, LIST_APPROVED})

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
            f"""CREATE TABLE {s}.year_lists (
                tenant_id text COLLATE "C" NOT NULL,
                year int NOT NULL,
                decision_number text NOT NULL,
                approved_at timestamptz NOT NULL,
                position bigint NOT NULL,
                PRIMARY KEY (tenant_id, year))""",
        ]

    def indexes(self, schema: str) -> list[str]:
        return [f"CREATE INDEX ON {schema}.plan_tasks (tenant_id, year, due_date)"]

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        tasks: list[tuple[str | None, ...]] = []
        completions: list[tuple[str, str, str | None, str]] = []
        lists: list[tuple[str | None, ...]] = []
        for e in self.wanted(batch):
            d = e.data
            if e.topic == SCHEDULED:
                tasks.append((e.originator_id, e.tenant_id, str(d.year), d.title,
                              d.due_date, e.at, str(e.position)))
            elif e.topic == COMPLETED:
                completions.append((d.completed_on, e.at, d.note or None,
                                    e.originator_id))
            else:
                lists.append((e.tenant_id, str(d.year), d.decision_number, e.at,
                              str(e.position)))

        def write(cur: Cursor) -> None:
            if tasks:
                copy_rows(cur, f"{schema}.plan_tasks", ("task_id", "tenant_id", "year", "title",
                                                         "due_date", "scheduled_at", "position"),
                          tasks)
            if completions:
                cur.executemany(f"UPDATE {schema}.plan_tasks SET completed_on = %s, "
                                "completed_at = %s, note = %s WHERE task_id = %s", completions)
            if lists:
                copy_rows(cur, f"{schema}.year_lists", ("tenant_id", "year", "decision_number",
                                                         "approved_at", "position"), lists)
        return write
