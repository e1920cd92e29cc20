"""The domain's rules for reminders and operations: what is due, after which deadline, one
reminder per tenant, subject and day, an export asked for a tenant and a rebuild for a
province."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from danvan.domain.base import InvalidInput
from danvan.domain.commands import RequestOperation, SendReminder
from danvan.domain.operations import Operation, OperationKind
from danvan.domain.policies import province_scope
from danvan.domain.reminders import (
    Reminder,
    ReminderItem,
    ReminderSubject,
    registration_deadline_passed,
    task_due,
)
from tests.unit.builders import NOW, TENANT, ctx

DAY = date(2026, 6, 10)


@pytest.mark.parametrize(("due", "completed", "reminded"), [
    (date(2026, 6, 1), None, True),            # overdue
    (date(2026, 6, 17), None, True),           # due in seven days
    (date(2026, 6, 18), None, False),          # due in eight
    (date(2026, 6, 12), date(2026, 6, 5), False),  # done
])
def test_a_task_is_reminded_from_a_week_before_it_is_due_until_done(
        due: date, completed: date | None, reminded: bool) -> None:
    assert task_due(due, completed, DAY) is reminded


def test_units_are_reminded_only_after_the_registration_deadline() -> None:
    assert not registration_deadline_passed(date(2026, 3, 31), (3, 31))
    assert registration_deadline_passed(date(2026, 4, 1), (3, 31))


def test_a_reminder_is_one_per_tenant_subject_and_day() -> None:
    items = (ReminderItem("task-1", "Quán triệt Chỉ thị", due=DAY, overdue=False),)
    first = Reminder.send(ctx("system"), SendReminder(ReminderSubject.PLAN_TASKS, DAY, items))
    again = Reminder.send(ctx("system"), SendReminder(ReminderSubject.PLAN_TASKS, DAY, items))
    other = Reminder.send(ctx("system"), SendReminder(ReminderSubject.TARGETS_AT_RISK, DAY,
                                                      items))
    assert first.id == again.id != other.id
    assert first.items == [{"ref": "task-1", "title": "Quán triệt Chỉ thị",
                            "due": "2026-06-10", "overdue": False, "actual": None,
                            "target": None}]
    with pytest.raises(InvalidInput):
        Reminder.send(ctx("system"), SendReminder(ReminderSubject.PLAN_TASKS, DAY, ()))


def test_an_export_is_asked_for_a_tenant_and_a_rebuild_for_a_province() -> None:
    operation_id = str(uuid.uuid4())
    export = Operation.request(ctx("province_admin"),
                               RequestOperation(operation_id, OperationKind.AUDIT_EXPORT))
    assert (str(export.id), export.tenant_id, export.kind) == (operation_id, TENANT,
                                                                "audit_export")
    province = ctx("province_admin", tenant=province_scope("15"), at=NOW)
    rebuild = Operation.request(province, RequestOperation(
        str(uuid.uuid4()), OperationKind.REBUILD, projections=("audit",)))
    assert rebuild.params == {"projections": ["audit"], "stale_only": False}
    with pytest.raises(InvalidInput):
        Operation.request(province, RequestOperation(str(uuid.uuid4()),
                                                     OperationKind.AUDIT_EXPORT))
    with pytest.raises(InvalidInput):
        Operation.request(ctx("province_admin"),
                          RequestOperation(str(uuid.uuid4()), OperationKind.REBUILD))
