"""Jobs on a real ``danvan worker`` process and real Redis: a command's job runs exactly once;
with the broker's Redis stopped while commands are accepted, every job still runs exactly
once when it comes back and none runs for a refused command; a worker process killed mid-job
has its job done again, its effect once; SIGTERM lets a running job finish."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from danvan.infra.database import connect_app, connect_owner
from danvan.infra.event_store import EventStore
from danvan.infra.outbox import JobRequest, enqueue
from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser, redis_url
from tests.e2e.worker_support import (
    PrivateRedis,
    Worker,
    clear_namespace,
    worker_env,
)
from tests.e2e.world import API, GIA_PHU, YEN_BAI, World, ok
from tests.integration.jobs_support import (
    AT,
    EXPECTED,
    finished,
    job_store,
    project,
    reminder_events,
    reminder_world,
    wait_for,
)


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def start_worker(workers: list[Worker], settings: Settings, url: str, tmp_path: Path,
                 **extra: str) -> Worker:
    worker = Worker(worker_env(settings, url, **extra), tmp_path / f"worker{len(workers)}.log")
    workers.append(worker.start())
    return worker


def export(client: httpx.Client, world: World, code: str = YEN_BAI) -> str:
    tenant = world.tenants[code].id
    response = client.post(f"{API}/tenants/{tenant}/audit-exports", headers=world.province,
                           json={})
    body = ok(response, 202)
    assert response.headers["location"] == f"{API}/jobs/{body['job_id']}"
    return str(body["job_id"])


def job_counts(settings: Settings) -> dict[str, Any]:
    with connect_app(settings) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE state = 'succeeded'), "
            "coalesce(sum(attempts), 0), (SELECT count(*) FROM job_files), "
            "(SELECT count(*) FROM job_outbox) FROM jobs WHERE kind = 'audit_export'"
        ).fetchone()
        assert row is not None
        events = conn.execute("SELECT count(*) FROM danvan_events "
                              "WHERE topic LIKE '%Operation.Requested'").fetchone()
        assert events is not None
    jobs, succeeded, attempts, files, pending = row
    return {"jobs": jobs, "succeeded": succeeded, "attempts": attempts, "files": files,
            "outbox": pending, "requests": events[0]}


def test_a_commands_job_runs_exactly_once_on_a_worker(
        client: httpx.Client, world: World, settings: Settings, tmp_path: Path,
        workers: list[Worker]) -> None:
    worker = start_worker(workers, settings, redis_url(), tmp_path)
    try:
        job_id = export(client, world)
        row = finished(settings, job_id, 60)
        assert (row.state, row.attempts) == ("succeeded", 1), worker.output()
        body = ok(client.get(f"{API}/jobs/{job_id}", headers=world.province))
        assert body["state"] == "succeeded" and body["errors"] == []
        assert body["progress"]["done"] == body["progress"]["total"] == body["result"]["events"]
        exported = client.get(f"{API}/jobs/{job_id}/file", headers=world.province)
        assert exported.status_code == 200
        lines = exported.text.splitlines()
        assert sum('"type":"event"' in line for line in lines) == body["result"]["events"]
        assert job_counts(settings) == {"jobs": 1, "succeeded": 1, "attempts": 1, "files": 1,
                                        "outbox": 0, "requests": 1}
    finally:
        clear_namespace(redis_url(), worker.namespace)


def test_jobs_accepted_while_redis_is_down_run_exactly_once_when_it_is_back(
        client: httpx.Client, world: World, settings: Settings, tmp_path: Path,
        workers: list[Worker]) -> None:
    broker = PrivateRedis(tmp_path / "redis").start()
    try:
        start_worker(workers, settings, broker.url, tmp_path)
        before = [export(client, world) for _ in range(5)]
        for job_id in before:
            assert finished(settings, job_id, 60).state == "succeeded"

        broker.stop()
        during = [export(client, world, code) for _ in range(10)
                  for code in (YEN_BAI, GIA_PHU)]
        refused = [
            client.post(f"{API}/tenants/{world.tenants[YEN_BAI].id}/audit-exports",
                        headers=world.as_("reviewer", YEN_BAI), json={}),
            client.post(f"{API}/tenants/{world.tenants[YEN_BAI].id}/audit-exports",
                        headers=world.as_("tenant_admin", YEN_BAI), json={}),
            client.post(f"{API}/tenants/{world.tenants[GIA_PHU].id}/audit-exports",
                        headers=world.province, json={"format": "csv"}),
            client.post(f"{API}/provinces/15/rebuilds", headers=world.analyst, json={}),
            client.post(f"{API}/provinces/15/rebuilds", headers=world.province,
                        json={"projections": ["no_such_read_model"]}),
        ]
        assert [r.status_code for r in refused] == [403, 403, 422, 403, 422]
        store = job_store(settings)
        wait_for(lambda: job_counts(settings)["outbox"] == len(during), 10, "the outbox")
        assert {store.get(j).state for j in during} == {"queued"}  # type: ignore[union-attr]

        broker.start()
        for job_id in during:
            assert finished(settings, job_id, 90).state == "succeeded"
        counts = job_counts(settings)
        accepted = len(before) + len(during)
        print(f"\nRedis outage: jobs accepted {accepted} ({len(during)} while Redis was down),"
              f" refused requests {len(refused)}, jobs recorded {counts['jobs']}, run "
              f"{counts['succeeded']}, duplicated {counts['attempts'] - counts['succeeded']},"
              f" lost {accepted - counts['succeeded']}")
        assert counts == {"jobs": accepted, "succeeded": accepted, "attempts": accepted,
                          "files": accepted, "outbox": 0, "requests": accepted}
    finally:
        broker.stop()


def lock_events(settings: Settings) -> psycopg.Connection[Any]:
    """A transaction holding the events table's lock: every save waits behind it."""
    conn = connect_owner(settings, autocommit=False)
    conn.execute("LOCK TABLE danvan_events IN EXCLUSIVE MODE")
    return conn


def waiting_for_the_lock(settings: Settings) -> bool:
    with connect_owner(settings) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted "
                           "AND relation = 'danvan_events'::regclass").fetchone()
    return bool(row and row[0])


def reminders_job(settings: Settings, tenant_id: str) -> str:
    job = JobRequest("tenant_reminders", tenant_id=tenant_id, params={"at": AT.isoformat()})
    with connect_app(settings) as conn:
        enqueue(conn, [job])
    return str(job.id)


@pytest.fixture
def reminded(settings: Settings, event_store: EventStore) -> str:
    tenant_id = reminder_world(event_store).tenant_id
    project(settings)
    return tenant_id


def expected_events() -> list[tuple[str, str, list[str]]]:
    return [(subject, AT.date().isoformat(), titles) for subject, titles in EXPECTED.items()]


def test_a_worker_killed_mid_job_has_its_job_done_again_with_its_effect_once(
        settings: Settings, reminded: str, tmp_path: Path, workers: list[Worker]) -> None:
    worker = start_worker(workers, settings, redis_url(), tmp_path)
    lock = lock_events(settings)
    try:
        job_id = reminders_job(settings, reminded)
        store = job_store(settings)
        wait_for(lambda: store.get(job_id).state == "running"  # type: ignore[union-attr]
                 and waiting_for_the_lock(settings), 60, "the job to be saving")
        assert worker.kill_worker_processes()
        assert store.get(job_id).state == "running"  # type: ignore[union-attr]
        lock.rollback()
        row = finished(settings, job_id, 60)
        assert (row.state, row.attempts) == ("succeeded", 2), worker.output()
        assert reminder_events(settings, reminded) == expected_events()
        assert "starting another" in worker.output()
    finally:
        lock.close()
        clear_namespace(redis_url(), worker.namespace)


def test_sigterm_lets_a_running_job_finish_before_the_worker_exits(
        settings: Settings, reminded: str, tmp_path: Path, workers: list[Worker]) -> None:
    worker = start_worker(workers, settings, redis_url(), tmp_path)
    lock = lock_events(settings)
    try:
        job_id = reminders_job(settings, reminded)
        store = job_store(settings)
        wait_for(lambda: store.get(job_id).state == "running"  # type: ignore[union-attr]
                 and waiting_for_the_lock(settings), 60, "the job to be saving")
        threading.Timer(1.0, lock.rollback).start()
        assert worker.terminate() == 0, worker.output()
        row = store.get(job_id)
        assert row is not None and (row.state, row.attempts) == ("succeeded", 1)
        assert reminder_events(settings, reminded) == expected_events()
    finally:
        lock.close()
        clear_namespace(redis_url(), worker.namespace)
