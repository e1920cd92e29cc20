"""Rows of the reminders read model (``reading.row``: the fields are the SELECT list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from danvan.projections.reading import column, row


@row
class ReminderRow:
    """A reminder as recorded: its tenant, subject and day, and the items it named (each
    ``{ref, title, due, overdue, actual, target}``, see ``domain.reminders.ReminderItem``)."""

    id: str = column("reminder_id::text")
    tenant_id: str
    subject: str
    day: date
    items: list[dict[str, Any]]
    sent_at: datetime
    position: int


@dataclass(frozen=True)
class ReminderItemRow:
    """One item of a reminder, as recorded (``domain.reminders.ReminderItem.as_dict``)."""

    ref: str
    title: str
    due: date | None = None
    overdue: bool = False
    actual: int | None = None
    target: int | None = None

    @classmethod
    def of(cls, item: dict[str, Any]) -> ReminderItemRow:
        due = item.get("due")
        return cls(str(item.get("ref", "")), str(item.get("title", "")),
                   date.fromisoformat(due) if due else None, bool(item.get("overdue")),
                   item.get("actual"), item.get("target"))
