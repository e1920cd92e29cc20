"""The daily reminders on a fixed clock: exactly the expected ``Reminder.Sent`` events, one
per tenant, subject and day, none twice on a second run the same day; each delivered by mail
(a real SMTP peer started here) in Vietnamese and by webhook, once."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from danvan.backend.jobs.process import InProcessJobs
from danvan.backend.jobs.schedule import daily_reminders
from danvan.infra.database import connect_app
from danvan.infra.event_store import open_event_store
from danvan.infra.outbox import JobRequest, enqueue
from danvan.infra.services import free_port
from danvan.infra.settings import Settings
from tests.integration.jobs_support import (
    AT,
    EXPECTED,
    Webhook,
    finished,
    job_settings,
    project,
    reminder_events,
    reminder_world,
    wait_for,
)


def jobs_of(settings: Settings, kind: str) -> list[str]:
    with connect_app(settings) as conn:
        return [str(r[0]) for r in conn.execute(
            "SELECT job_id FROM jobs WHERE kind = %s ORDER BY created_at", (kind,))]


def run_day(settings: Settings, at: Any) -> list[str]:
    """The schedule's job for the day of ``at``, and the tenant jobs it records, done."""
    request = daily_reminders(at)
    with connect_app(settings) as conn:
        added = enqueue(conn, [request])
    if added:
        assert finished(settings, str(request.id)).state == "succeeded"
    tenant_jobs = jobs_of(settings, "tenant_reminders")
    for job_id in tenant_jobs:
        assert finished(settings, job_id).state == "succeeded"
    return [str(a) for a in added]


@pytest.fixture
def world_settings(database_url: str, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    settings = job_settings(database_url, tmp_path)
    store = open_event_store(settings)
    try:
        world = reminder_world(store)
        reminder_world(store, code="02923", name="Xã Gia Phú")
    finally:
        store.close()
    project(settings)
    yield settings, world.tenant_id


def test_reminders_on_a_fixed_clock_record_the_expected_events_and_none_twice_a_day(
        world_settings: tuple[Settings, str]) -> None:
    settings, tenant_id = world_settings
    running = InProcessJobs(settings, schedule=False).start()
    try:
        assert run_day(settings, AT)
        day = AT.date().isoformat()
        expected = [(subject, day, titles) for subject, titles in EXPECTED.items()]
        assert reminder_events(settings, tenant_id) == expected
        assert len(jobs_of(settings, "tenant_reminders")) == 2  # one per tenant

        # the same day again: the schedule's key refuses a second day's job...
        assert run_day(settings, AT + timedelta(hours=5)) == []
        # ...and a tenant job run again by hand records nothing: the store refuses it
        again = JobRequest("tenant_reminders", tenant_id=tenant_id,
                           params={"at": (AT + timedelta(hours=5)).isoformat()})
        with connect_app(settings) as conn:
            enqueue(conn, [again])
        row = finished(settings, str(again.id))
        assert (row.state, row.result["sent"], row.result["already"]) == ("succeeded", [], 3)
        assert reminder_events(settings, tenant_id) == expected

        # the next day is another day
        assert run_day(settings, AT + timedelta(days=1))
        next_day = (AT + timedelta(days=1)).date().isoformat()
        assert reminder_events(settings, tenant_id)[3:] == [
            (subject, next_day, titles) for subject, titles in EXPECTED.items()]
    finally:
        running.stop()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(  # type: ignore[arg-type]
            envelope.content, policy=email.policy.default))
        return "250 OK"


def test_each_reminder_is_delivered_once_by_mail_in_vietnamese_and_by_webhook(
        world_settings: tuple[Settings, str], database_url: str, tmp_path: Path) -> None:
    _, tenant_id = world_settings
    mailbox = Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with Webhook().running() as hook:
            settings = job_settings(database_url, tmp_path,
                                    reminder_smtp_url=f"smtp://127.0.0.1:{port}",
                                    reminder_mail_from="nhacviec@danvan.laocai.gov.vn",
                                    reminder_mail_to=("bxdd.yenbai@laocai.gov.vn",),
                                    reminder_webhook_url=hook.url)
            running = InProcessJobs(settings, schedule=False).start()
            try:
                run_day(settings, AT)
                deliveries = jobs_of(settings, "deliver_reminder")
                assert len(deliveries) == 2 * 6  # two tenants, three reminders, two channels
                for job_id in deliveries:
                    assert finished(settings, job_id).state == "succeeded"
                run_day(settings, AT + timedelta(hours=2))
                assert len(jobs_of(settings, "deliver_reminder")) == 12
            finally:
                running.stop()
            wait_for(lambda: len(mailbox.messages) == 6, 10, "six mails")
            assert len(hook.received) == 6
    finally:
        smtp.stop()
    yen_bai = [m for m in mailbox.messages if "Phường Yên Bái" in str(m["Subject"])]
    assert sorted(str(m["Subject"]) for m in yen_bai) == sorted(
        f"[Dân vận khéo] Nhắc việc ngày 10/06/2026 — Phường Yên Bái: {heading}"
        for heading in (
            "Nhiệm vụ trong kế hoạch đến hạn trong 7 ngày tới hoặc đã quá hạn",
            "Đơn vị chưa đăng ký đủ mô hình \"Dân vận khéo\" sau thời hạn đăng ký",
            "Chỉ tiêu năm 2026 có nguy cơ không hoàn thành"))
    tasks = next(m for m in yen_bai if "Nhiệm vụ" in str(m["Subject"]))
    body = tasks.get_content()
    assert "Kính gửi: Thường trực Phường Yên Bái," in body
    assert "1. Quán triệt Chỉ thị 10-CT/TU — hạn 01/06/2026 (đã quá hạn)" in body
    assert "2. Ban hành kế hoạch của đơn vị — hạn 14/06/2026" in body
    assert tasks["To"] == "bxdd.yenbai@laocai.gov.vn"
    headers = {h["X-Danvan-Delivery"] for h, _ in hook.received}
    assert len(headers) == 6  # one delivery per reminder, none repeated
    assert {b["tenant_id"] for _, b in hook.received} >= {tenant_id}
