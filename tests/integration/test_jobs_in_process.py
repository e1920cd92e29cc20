"""Jobs without Redis (``danvan serve``'s in-process mode), and the outbox riding in the
events' transaction: a job exists exactly when its request committed, runs once, retries
with backoff, dies after its last retry, and runs again when replayed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError

from danvan.backend.jobs.process import InProcessJobs
from danvan.backend.services import reminders
from danvan.domain.commands import RequestOperation
from danvan.domain.operations import Operation, OperationKind
from danvan.infra.database import connect_app
from danvan.infra.event_store import open_event_store
from danvan.infra.outbox import JobRequest, enqueue
from danvan.infra.settings import Settings
from tests.integration.jobs_support import (
    AT,
    Webhook,
    ctx,
    finished,
    job_settings,
    job_store,
    project,
    reminder_world,
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return job_settings(database_url, tmp_path)


@pytest.fixture
def jobs(settings: Settings) -> Iterator[InProcessJobs]:
    running = InProcessJobs(settings, schedule=False).start()
    yield running
    running.stop()


def export_request(tenant_id: str, operation_id: uuid.UUID | None = None
                   ) -> tuple[Operation, JobRequest]:
    operation = Operation.request(ctx(tenant_id, "province_admin", datetime.now(UTC)),
                                  RequestOperation(str(operation_id or uuid.uuid4()),
                                                   OperationKind.AUDIT_EXPORT))
    return operation, JobRequest("audit_export", tenant_id=tenant_id)


def jobs_in_table(settings: Settings) -> list[tuple[str, str]]:
    with connect_app(settings) as conn:
        return [(str(r[0]), r[1]) for r in conn.execute(
            "SELECT job_id, kind FROM jobs ORDER BY created_at")]


def test_the_embedded_mode_runs_a_job_with_no_redis(settings: Settings,
                                                    jobs: InProcessJobs) -> None:
    assert settings.redis_url is None
    ping = JobRequest("ping")
    with connect_app(settings) as conn:
        enqueue(conn, [ping])
    row = finished(settings, str(ping.id))
    assert (row.state, row.attempts, row.result) == ("succeeded", 1, {"pong": True})


@pytest.mark.parametrize("group_commit", [True, False], ids=["group-commit", "one-by-one"])
def test_a_saves_jobs_commit_with_its_events_and_a_refused_save_records_none(
        settings: Settings, tmp_path: Path, group_commit: bool) -> None:
    store = open_event_store(job_settings(settings.database_url or "", tmp_path,
                                          db_group_commit=group_commit))
    try:
        operation, job = export_request("tenant-a")
        store.save(operation, jobs=[job])
        assert jobs_in_table(settings) == [(str(job.id), "audit_export")]
        again, again_job = export_request("tenant-a", operation.id)  # a duplicate
        with pytest.raises(IntegrityError):
            store.save(again, jobs=[again_job])
        assert jobs_in_table(settings) == [(str(job.id), "audit_export")]
    finally:
        store.close()


def test_an_export_job_runs_once_and_keeps_its_file(settings: Settings,
                                                    jobs: InProcessJobs) -> None:
    store = open_event_store(settings)
    try:
        world = reminder_world(store)
        operation, job = export_request(world.tenant_id)
        store.save(operation, jobs=[job])
    finally:
        store.close()
    row = finished(settings, str(job.id))
    assert (row.state, row.attempts) == ("succeeded", 1)
    found = job_store(settings).file(str(job.id))
    assert found is not None
    name, media_type, content = found
    assert media_type == "application/x-ndjson"
    assert name == f"audit-{world.tenant_id}.jsonl"
    assert content.decode().count('"type":"event"') == row.result["events"] > 0


def test_a_failing_job_is_retried_then_dead_and_runs_again_when_replayed(
        database_url: str, tmp_path: Path) -> None:
    with Webhook().running() as hook:
        hook.status = 503
        settings = job_settings(database_url, tmp_path, reminder_webhook_url=hook.url)
        store = open_event_store(settings)
        running = InProcessJobs(settings, schedule=False).start()
        try:
            world = reminder_world(store)
            project(settings)
            with connect_app(settings) as conn:
                from danvan.projections.queries import scoped

                with scoped(conn, tenant_ids=[world.tenant_id], province_codes=["15"]):
                    due = reminders.due_reminders(conn, world.tenant_id, AT,
                                                  deadline=settings.registration_deadline)
            sent = reminders.send_reminders(
                store, reminders.reminder_context(world.tenant_id, AT, "job-test"), due[:1],
                ["webhook"])
            assert len(sent) == 1
            jobs = job_store(settings)
            delivery = next(j for j in jobs_in_table(settings) if j[1] == "deliver_reminder")
            dead = finished(settings, delivery[0])
            assert (dead.state, dead.dead, dead.attempts) == ("failed", True, 2)
            assert "503" in (dead.last_error or "")
            assert [row.id for row in jobs.dead()] == [delivery[0]]
            assert len(hook.received) == 2  # the first try and its one retry

            hook.status = 200
            assert jobs.revive(delivery[0])
            done = finished(settings, delivery[0])
            assert (done.state, done.dead, done.attempts) == ("succeeded", False, 3)
            assert jobs.dead() == []
            headers, body = hook.received[-1]
            assert headers["X-Danvan-Delivery"] == str(sent[0].id)
            assert body["subject_code"] == "plan_tasks"
            assert "Kính gửi: Thường trực Phường Yên Bái" in body["text"]
        finally:
            running.stop()
            store.close()

