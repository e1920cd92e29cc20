"""A dated task of a tenant's plan."""

from __future__ import annotations

from datetime import date

import strawberry

from danvan.graphql.rows import served_from
from danvan.projections.plans.rows import PlanTaskRow


@served_from(PlanTaskRow)
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
