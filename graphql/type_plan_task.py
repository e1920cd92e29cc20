"""A dated task of a tenant's plan (``projections.read_registry.PlanTaskRow``)."""

from __future__ import annotations

from datetime import date

import strawberry


@strawberry.type(name="PlanTask")
class PlanTaskType:
    id: strawberry.ID
    year: int
    title: str
    due_date: date
    completed_on: date | None
    note: str | None
    overdue: bool = strawberry.field(
        description="Not completed and due before today (Vietnam date).")
