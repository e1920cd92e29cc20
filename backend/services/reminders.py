"""The day's reminders of a tenant (API.md "Reminders"): what is due, read through the read
models' own functions, recorded as one ``Reminder.Sent`` per subject, with a delivery job
per configured channel in the same transaction.

    commands = due_reminders(conn, tenant_id, at, deadline=settings.registration_deadline)
    sent = send_reminders(store, reminder_context(tenant_id, at, job_id), commands, ["smtp"])

A second run the same day records nothing and delivers nothing: each reminder's id derives
from its tenant, subject and day, so the store refuses it, and its delivery jobs, which ride
in the refused transaction, are never recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from danvan.domain.base import Actor, Context
from danvan.domain.clock import vietnam_date, year_fraction_elapsed
from danvan.domain.commands import SendReminder
from danvan.domain.policies import SpecialRole
from danvan.domain.reminders import (
    WINDOW_DAYS,
    Reminder,
    ReminderItem,
    ReminderSubject,
    registration_deadline_passed,
    task_due,
)
from danvan.infra.delivery import Notice
from danvan.infra.outbox import JobRequest
from danvan.projections.base import Connection
from danvan.projections.directory.read import tenants_by_id
from danvan.projections.models.quota_status import behind
from danvan.projections.models.read import quotas, unit_compliance
from danvan.projections.plans.read import plan_tasks_by_tenant

REMINDER_ACTOR = Actor(user_id="system:reminders", role=SpecialRole.SYSTEM)
TARGETS = ("new_models", "recognized_tenant_level", "recognized_province_level")


def reminder_context(tenant_id: str, at: datetime, job_id: str) -> Context:
    return Context(tenant_id=tenant_id, actor=REMINDER_ACTOR, at=at, correlation_id=job_id,
                   causation_id=job_id)


def due_reminders(conn: Connection, tenant_id: str, at: datetime, *,
                  deadline: tuple[int, int]) -> list[SendReminder]:
    """What ``tenant_id`` is to be reminded of on the Vietnam day of ``at``: plan tasks due
    within a week or overdue; units without their registrations once the year's deadline
    has passed; the year's targets that are behind, when the quota is at risk."""
    day = vietnam_date(at)
    found = []
    tasks = [ReminderItem(ref=t.id, title=t.title, due=t.due_date, overdue=t.overdue)
             for t in plan_tasks_by_tenant(conn, [tenant_id], today=day)[tenant_id]
             if task_due(t.due_date, t.completed_on, day)]
    if tasks:
        found.append(SendReminder(ReminderSubject.PLAN_TASKS, day, tuple(tasks)))
    if registration_deadline_passed(day, deadline):
        units = [ReminderItem(ref=u.unit_id, title=u.name, actual=u.submitted_models,
                              target=u.per_unit_minimum)
                 for u in unit_compliance(conn, [tenant_id], day.year)[tenant_id]
                 if not u.compliant]
        if units:
            found.append(SendReminder(ReminderSubject.UNITS_WITHOUT_REGISTRATION, day,
                                      tuple(units)))
    found_quotas = quotas(conn, list(tenants_by_id(conn, [tenant_id]).values()), day.year, now=at)
    quota = found_quotas[0] if found_quotas else None
    if quota is not None and quota.at_risk:
        fraction = year_fraction_elapsed(day.year, at)
        targets = [ReminderItem(ref=name, title=name, actual=actual, target=target)
                   for name in TARGETS
                   for actual, target in [(getattr(quota, name),
                                           getattr(quota, f"{name}_target"))]
                   if behind([(actual, target)], fraction)]
        if targets:
            found.append(SendReminder(ReminderSubject.TARGETS_AT_RISK, day, tuple(targets)))
    return found


def send_reminders(store: Application, ctx: Context, commands: Sequence[SendReminder],
                   channels: Sequence[str]) -> list[Reminder]:
    """Record each reminder not yet recorded today, each with a delivery job per channel;
    answers those recorded now."""
    sent = []
    for command in commands:
        reminder = Reminder.send(ctx, command)
        deliveries = [JobRequest("deliver_reminder", tenant_id=ctx.tenant_id,
                                 params={"reminder_id": str(reminder.id), "channel": channel})
                      for channel in channels]
        try:
            store.save(reminder, jobs=deliveries)
        except IntegrityError:
            continue  # already sent today: the store refused it, and its deliveries
        sent.append(reminder)
    return sent


# --- the words: Vietnamese, as the movement's documents say them ---------------------------

HEADINGS = {
    ReminderSubject.PLAN_TASKS:
        f"Nhiệm vụ trong kế hoạch đến hạn trong {WINDOW_DAYS} ngày tới hoặc đã quá hạn",
    ReminderSubject.UNITS_WITHOUT_REGISTRATION:
        "Đơn vị chưa đăng ký đủ mô hình \"Dân vận khéo\" sau thời hạn đăng ký",
    ReminderSubject.TARGETS_AT_RISK: "Chỉ tiêu năm {year} có nguy cơ không hoàn thành",
}
TARGET_WORDS = {
    "new_models": "Mô hình mới được chấp nhận",
    "recognized_tenant_level": "Mô hình được công nhận cấp xã",
    "recognized_province_level": "Mô hình được công nhận cấp tỉnh",
}


def _vn(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _line(subject: ReminderSubject, item: dict[str, object]) -> str:
    if subject == ReminderSubject.PLAN_TASKS:
        due = date.fromisoformat(str(item["due"]))
        late = " (đã quá hạn)" if item.get("overdue") else ""
        return f"{item['title']} — hạn {_vn(due)}{late}"
    if subject == ReminderSubject.UNITS_WITHOUT_REGISTRATION:
        return f"{item['title']}: đã đăng ký {item['actual']}/{item['target']} mô hình"
    words = TARGET_WORDS.get(str(item["title"]), str(item["title"]))
    return f"{words}: đạt {item['actual']}/{item['target']}"


def notice(reminder: Reminder, tenant_name: str) -> Notice:
    """The reminder as a mail or webhook says it (Vietnamese)."""
    subject = ReminderSubject(reminder.subject)
    day = date.fromisoformat(reminder.day)
    heading = HEADINGS[subject].format(year=day.year)
    lines = [f"Kính gửi: Thường trực {tenant_name},", "",
             "Hệ thống theo dõi phong trào thi đua \"Dân vận khéo\" trân trọng nhắc:", "",
             f"{heading}:"]
    lines += [f"  {n}. {_line(subject, item)}" for n, item in enumerate(reminder.items, 1)]
    lines += ["", "Đề nghị các đồng chí quan tâm chỉ đạo, đôn đốc thực hiện.", "",
              f"(Thư nhắc việc gửi tự động ngày {_vn(day)}; xin không trả lời thư này.)"]
    return Notice(id=str(reminder.id),
                  subject=f"[Dân vận khéo] Nhắc việc ngày {_vn(day)} — {tenant_name}: "
                          f"{heading}",
                  text="\n".join(lines),
                  payload={"tenant_id": reminder.tenant_id, "tenant_name": tenant_name,
                           "subject_code": subject.value, "day": reminder.day,
                           "items": reminder.items})
