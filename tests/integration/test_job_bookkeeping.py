"""Job bookkeeping when a worker process's threads claim and finish jobs at the same moment
(their writes go together, ``infra/jobs.GroupWriter``): each thread gets its own answer, a job
whose message arrived twice is claimed once, and a result PostgreSQL refuses fails only the
job that produced it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest

from danvan.backend.wiring import open_db_pool
from danvan.infra.database import connect_app
from danvan.infra.jobs import ClaimedJob, JobStore
from danvan.infra.outbox import JobRequest, enqueue
from danvan.infra.settings import Settings
from tests.integration.jobs_support import job_settings

T = TypeVar("T")
THREADS = 12


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return job_settings(database_url, tmp_path)


@pytest.fixture
def store(settings: Settings) -> Iterator[JobStore]:
    pool = open_db_pool(settings, max_size=4, name="test-jobs", durable=False)
    pool.wait()
    yield JobStore(pool.connection)
    pool.close()


def recorded(settings: Settings, count: int) -> list[str]:
    with connect_app(settings) as conn:
        return [str(i) for i in enqueue(conn, [JobRequest("ping") for _ in range(count)])]


def at_once(calls: list[Callable[[], T]]) -> list[T | BaseException]:
    """Each call on a thread of its own, all let go together; the answers in order."""
    answers: list[T | BaseException] = [RuntimeError("not run")] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        try:
            answers[i] = calls[i]()
        except Exception as exc:
            answers[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def states(settings: Settings, ids: list[str]) -> dict[str, tuple[str, int]]:
    with connect_app(settings) as conn:
        return {str(i): (s, a) for i, s, a in conn.execute(
            "SELECT job_id, state, attempts FROM jobs WHERE job_id = ANY(%s::uuid[])", (ids,))}


def test_jobs_claimed_at_once_by_many_threads_each_run_once_even_when_asked_twice(
        settings: Settings, store: JobStore) -> None:
    ids = recorded(settings, 3 * THREADS)
    twice = ids + ids  # every message delivered twice, by different threads

    def claims(chunk: list[str]) -> Callable[[], list[ClaimedJob | None]]:
        return lambda: [store.claim(i, lease_seconds=60) for i in chunk]

    answers = at_once([claims(twice[k::THREADS]) for k in range(THREADS)])
    claimed = [job for answer in answers for job in answer if job is not None]  # type: ignore[union-attr]
    assert sorted(job.id for job in claimed) == sorted(ids)
    assert all(job.attempt == 1 and job.kind == "ping" for job in claimed)

    finished = at_once([lambda job=job: store.succeed(job, {"n": job.id})  # type: ignore[misc]
                        for job in claimed])
    assert finished == [True] * len(claimed)
    assert states(settings, ids) == {i: ("succeeded", 1) for i in ids}
    assert store.claim(ids[0], lease_seconds=60) is None  # done: a late message does nothing
    assert store.claim("not-a-job-id", lease_seconds=60) is None


def test_a_result_postgresql_refuses_fails_only_the_job_that_produced_it(
        settings: Settings, store: JobStore) -> None:
    ids = recorded(settings, THREADS)
    claimed = [store.claim(i, lease_seconds=60) for i in ids]
    assert all(job is not None for job in claimed)
    refused = {"text": "\x00"}  # valid JSON, but no jsonb holds a NUL character
    answers = at_once([lambda job=job, k=k: store.succeed(  # type: ignore[misc]
        job, refused if k == 0 else {"ok": k}) for k, job in enumerate(claimed)])
    assert isinstance(answers[0], psycopg.errors.DataError)
    assert answers[1:] == [True] * (THREADS - 1)
    after = states(settings, ids)
    assert after[ids[0]] == ("running", 1)  # left to its retry, as any failed write
    assert all(after[i] == ("succeeded", 1) for i in ids[1:])
