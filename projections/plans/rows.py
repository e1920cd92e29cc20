"""Rows of the plans read model (``reading.row``: the fields are the SELECT list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from danvan.projections.reading import R, column, row


@row
class PlanTaskRow:
    id: str = column("task_id::text")
    tenant_id: str
    year: int
    title: str
    due_date: date
    completed_on: date | None
    note: str | None
    overdue: bool = column("completed_on IS NULL AND due_date < %(today)s")
    """Not completed and due before the day asked about: that depends on the day, so it is
    decided when read (the query passes ``today``)."""
    unit_count: int = column(
        f"(SELECT count(*) FROM {R}.plan_task_units u WHERE u.task_id = t.task_id)")
    """Units the task is assigned to (0: the tenant's own task)."""


@row
class PlanTaskUnitRow:
    """One assigned unit's part of a task (``plan_task_units`` beside the task's due date)."""

    task_id: str = column("u.task_id::text")
    unit_id: str = column("u.unit_id::text")
    tenant_id: str = column("u.tenant_id")
    completed_on: date | None = column("u.completed_on")
    note: str | None = column("u.note")
    overdue: bool = column("u.completed_on IS NULL AND t.due_date < %(today)s")


@row
class ListDecisionRow:
    """A decision approving a year's list (the first, or a supplementary one) and the models
    it covers: those it names, or, for one naming none (recorded before decisions named
    them), the year's models accepted by then."""

    tenant_id: str = column("d.tenant_id")
    year: int = column("d.year")
    decision_number: str = column("d.decision_number")
    at: datetime = column("d.approved_at")
    model_ids: list[str] = column(
        f"coalesce(d.model_ids::text[], ARRAY(SELECT m.model_id::text FROM {R}.models m "
        "WHERE m.tenant_id = d.tenant_id AND m.year = d.year "
        "AND m.accepted_at <= d.approved_at ORDER BY m.model_id))")
    supplementary: bool = column(
        f"d.position > (SELECT min(f.position) FROM {R}.year_list_decisions f "
        "WHERE f.list_id = d.list_id)")


@dataclass(frozen=True)
class YearListRow:
    """A tenant's list of a year: the decisions approving it, in the order made."""

    tenant_id: str
    year: int
    decisions: list[ListDecisionRow]

    @property
    def decision_number(self) -> str:
        """The first decision's number (the list's approval)."""
        return self.decisions[0].decision_number

    @property
    def approved_at(self) -> datetime:
        """When the list was first approved."""
        return self.decisions[0].at
