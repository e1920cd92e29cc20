"""An import on a real ``danvan worker`` process and Redis, whose worker process is killed
while the import's save waits for the events table: nothing of it is appended, the job runs
again on the worker that replaces it, and every row is appended exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser, redis_url
from tests.e2e.test_imports_http import events, start, units_file
from tests.e2e.test_jobs_worker import lock_events, start_worker, waiting_for_the_lock
from tests.e2e.worker_support import Worker, clear_namespace
from tests.e2e.world import API, YEN_BAI, World, ok
from tests.integration.jobs_support import finished, job_store, wait_for


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def test_a_worker_killed_while_an_import_is_saving_leaves_nothing_then_all_once(
        client: httpx.Client, world: World, settings: Settings, tmp_path: Path,
        workers: list[Worker]) -> None:
    worker = start_worker(workers, settings, redis_url(), tmp_path)
    admin = world.as_("tenant_admin")
    before = events(settings)
    seen: set[int] = set()
    watching = threading.Event()

    def watch() -> None:  # the table as readers see it, all along: never part of the import
        while not watching.wait(0.05):
            seen.add(events(settings) - before)

    watcher = threading.Thread(target=watch, daemon=True)
    lock = lock_events(settings)
    try:
        watcher.start()
        job_id = start(client, admin, world.tenants[YEN_BAI].id, "units", units_file(500))
        store = job_store(settings)
        wait_for(lambda: store.get(job_id).state == "running"  # type: ignore[union-attr]
                 and waiting_for_the_lock(settings), 60, "the import to be saving")
        assert worker.kill_worker_processes()
        lock.rollback()
        row = finished(settings, job_id, 90)
        assert (row.state, row.attempts) == ("succeeded", 2), worker.output()
        body = ok(client.get(f"{API}/jobs/{job_id}", headers=admin))
        assert body["result"]["created"] == 500
        assert events(settings) == before + 500
        watching.set()
        watcher.join(5)
        assert seen <= {0, 500}, sorted(seen)
    finally:
        watching.set()
        lock.close()
        clear_namespace(redis_url(), worker.namespace)
