"""A reminder recorded for a tenant (``Reminder.Sent``): its day, subject, what it named."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from danvan.domain.reminders import ReminderSubject
from danvan.graphql.rows import served_from, view
from danvan.projections.reminders.rows import ReminderItemRow, ReminderRow

strawberry.enum(ReminderSubject, name="ReminderSubject", description=(
    "plan tasks due within 7 days or overdue; units without their registrations after the "
    "deadline; the year's targets at risk."))


@served_from(ReminderItemRow)
@strawberry.type(name="ReminderItem", description=(
    "What a reminder named: a plan task (due date, overdue), a unit (models submitted of the "
    "minimum) or a target (actual of target)."))
class ReminderItemType:
    ref: str = strawberry.field(description="The task's or unit's id, or the target's name.")
    title: str
    due: date | None
    overdue: bool
    actual: int | None
    target: int | None


def resolve_items(root: strawberry.Parent[ReminderRow]) -> list[ReminderItemType]:
    return [view(ReminderItemType, ReminderItemRow.of(item)) for item in root.items]


@served_from(ReminderRow)
@strawberry.type(name="Reminder", description="Nhắc việc: one subject of a tenant's day.")
class ReminderType:
    id: strawberry.ID
    day: date
    subject: ReminderSubject
    sent_at: datetime
    items: list[ReminderItemType] = strawberry.field(resolver=resolve_items)
