"""Daily reminders: what a tenant is told each morning, one ``Reminder.Sent`` per tenant,
subject and day (API.md "Reminders").

Subjects: plan tasks due within ``WINDOW_DAYS`` days or overdue; units still without their
registrations once the registration deadline has passed; targets at risk. The id of a
reminder derives from its tenant, subject and day, so a second run the same day is refused by
the store itself (``save_new``), never by a read first.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, InvalidInput, TenantAggregate, derive_id

if TYPE_CHECKING:
    from danvan.domain.commands import SendReminder

WINDOW_DAYS = 7
"""A plan task is reminded from this many days before it is due, and every day it is late."""

DEFAULT_REGISTRATION_DEADLINE = (3, 31)
"""(month, day): units are reminded of missing registrations after it (the movement's plans
ask units to register in the first quarter); ``DANVAN_REGISTRATION_DEADLINE`` changes it."""


class ReminderSubject(StrEnum):
    PLAN_TASKS = "plan_tasks"
    UNITS_WITHOUT_REGISTRATION = "units_without_registration"
    TARGETS_AT_RISK = "targets_at_risk"


@dataclass(frozen=True)
class ReminderItem:
    """One thing a reminder names: a task (``due``, ``overdue``), a unit (``actual`` models
    submitted of ``target``), or a target (``actual`` of ``target``)."""

    ref: str
    title: str
    due: date | None = None
    overdue: bool = False
    actual: int | None = None
    target: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["due"] = self.due.isoformat() if self.due else None
        return data


def task_due(due: date, completed_on: date | None, day: date) -> bool:
    """Not completed, and due within ``WINDOW_DAYS`` days of ``day`` or earlier."""
    return completed_on is None and due <= day + timedelta(days=WINDOW_DAYS)


def registration_deadline_passed(day: date, deadline: tuple[int, int]) -> bool:
    month, day_of_month = deadline
    return day > date(day.year, month, day_of_month)


class Reminder(TenantAggregate):
    subject: str
    day: str
    items: list[dict[str, Any]]

    @staticmethod
    def id_for(tenant_id: str, subject: ReminderSubject, day: date) -> uuid.UUID:
        return derive_id("reminder", tenant_id, subject.value, day.isoformat())

    class Sent(TenantAggregate.Created):
        subject: str
        day: str
        items: list[dict[str, Any]]

    @classmethod
    def send(cls, ctx: Context, command: SendReminder) -> Reminder:
        if not command.items:
            raise InvalidInput({"items": "a reminder names at least one item"})
        return cls._create(cls.Sent, id=cls.id_for(ctx.tenant_id, command.subject, command.day),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           subject=command.subject.value, day=command.day.isoformat(),
                           items=[item.as_dict() for item in command.items])

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], subject: str, day: str,
                 items: list[dict[str, Any]]) -> None:
        self.tenant_id = tenant_id
        self.subject = subject
        self.day = day
        self.items = items
