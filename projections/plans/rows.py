"""Rows of the plans read model (``reading.row``: the fields are the SELECT list)."""

from __future__ import annotations

from datetime import date, datetime

from danvan.projections.reading import column, row


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


@row
class YearListRow:
    tenant_id: str
    year: int
    decision_number: str
    approved_at: datetime
