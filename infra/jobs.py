"""Job bookkeeping in PostgreSQL (``infra/sql/070_jobs.sql``): claim, progress, one outcome.

    jobs = JobStore(pool.connection)
    job = jobs.claim(job_id, lease_seconds=60)     # None: done already, or alive elsewhere
    jobs.progress(job, done=10, total=99)          # also the worker's sign of life
    jobs.succeed(job, result={...})                # or fail / retry_later / die

Exactly one outcome per job, however many times its message arrives: a worker may only do a
job it claimed (``queued``, or ``running`` with no sign of life for ``lease_seconds``: its
worker died), and every later write names the attempt it claimed, so a worker presumed dead
that wakes up again cannot overwrite its successor's outcome. What a job does must itself be
idempotent (its events have derived ids, its seals are one per position), since a worker
may die after doing it and before recording it.

The claims and successes that a process's threads ask for at the same moment are written
together (``GroupWriter``): one statement for all the waiting successes, one for all the
waiting claims, each its own transaction, written by the first of those threads while the
others wait for it (``infra/leader_batch.py``); a batch of one when the process is not
busy. Each thread still returns only once its own write committed, so nothing changes for the
caller but the cost: a job costs a fraction of two round trips and two statements
(``danvan bench jobs``).

A worker's store writes through sessions with ``synchronous_commit = off``
(``wiring.open_db_pool(durable=False)``): these are bookkeeping, and the events a job
appends are committed durably by the store. A PostgreSQL crash may forget the last
fraction of a second of states; a forgotten claim or outcome makes the job run again once
its lease runs out, which its idempotence absorbs.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from danvan.infra.leader_batch import LeaderBatch, Request
from danvan.infra.outbox import CHANNEL

LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                                      5.0, 10.0, 30.0, 60.0)
"""Upper bounds (seconds) of the latency histogram, from commit to a job's first start."""

OUTCOMES = ("succeeded", "failed", "retried", "dead")
SHARDS = 16
"""Rows per counter (by process), summed when read."""

Connect = Callable[[], AbstractContextManager[Any]]


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    kind: str
    tenant_id: str | None
    created_by: str | None
    params: dict[str, Any]
    attempt: int
    created_at: datetime


@dataclass(frozen=True)
class JobRow:
    """A job as ``GET /jobs/{id}``, the CLI and the dead-letter list show it."""

    id: str
    kind: str
    tenant_id: str | None
    created_by: str | None
    state: str
    dead: bool
    attempts: int
    progress_done: int
    progress_total: int | None
    result: Any
    errors: list[dict[str, Any]]
    last_error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


_ROW = ("job_id::text, kind, tenant_id, created_by, state, dead, attempts, progress_done, "
        "progress_total, result, errors, last_error, created_at, started_at, finished_at")


class Tally:
    """This process's job outcomes and latencies since the last ``flush``: added to the
    shared counters every few seconds (the heartbeat thread's) rather than by each job, so
    that workers never queue on a counter's row. A process killed outright loses the few
    seconds it had not flushed; the jobs themselves lose nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._latency: dict[str, tuple[list[int], int, float]] = {}

    def count(self, kind: str, outcome: str) -> None:
        with self._lock:
            self._counts[(kind, outcome)] += 1

    def observe(self, kind: str, seconds: float) -> None:
        with self._lock:
            buckets, total, sum_seconds = self._latency.get(
                kind, ([0] * (len(LATENCY_BUCKETS) + 1), 0, 0.0))
            buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self._latency[kind] = (buckets, total + 1, sum_seconds + seconds)

    def flush(self, connect: Connect) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
            latency, self._latency = self._latency, {}
        if not counts and not latency:
            return
        try:
            with connect() as conn, conn.transaction(), conn.cursor() as cursor:
                shard = os.getpid() % SHARDS
                cursor.executemany(
                    "INSERT INTO public.job_counts AS c (kind, outcome, shard, n) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (kind, outcome, shard) "
                    "DO UPDATE SET n = c.n + EXCLUDED.n",
                    [(k, o, shard, n) for (k, o), n in counts.items()])
                cursor.executemany(
                    "INSERT INTO public.job_latency AS l (kind, shard, buckets, total, "
                    "sum_seconds) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kind, shard) "
                    "DO UPDATE SET buckets = (SELECT array_agg(a + b ORDER BY i) FROM "
                    "unnest(l.buckets, EXCLUDED.buckets) WITH ORDINALITY AS u(a, b, i)), "
                    "total = l.total + EXCLUDED.total, "
                    "sum_seconds = l.sum_seconds + EXCLUDED.sum_seconds",
                    [(k, shard, b, t, sec) for k, (b, t, sec) in latency.items()])
        except Exception:
            with self._lock:  # written next time
                self._counts.update(counts)
                for kind, (b, t, sec) in latency.items():
                    mine = self._latency.get(kind)
                    if mine is not None:
                        b = [x + y for x, y in zip(b, mine[0], strict=True)]
                        t, sec = t + mine[1], sec + mine[2]
                    self._latency[kind] = (b, t, sec)
            raise


_CLAIM = (
    "UPDATE public.jobs j SET state = 'running', attempts = j.attempts + 1, "
    "started_at = coalesce(j.started_at, now()), heartbeat_at = now() "
    "FROM unnest(%s::uuid[], %s::float8[]) AS c(id, lease) "
    "WHERE j.job_id = c.id AND NOT j.dead AND (j.state = 'queued' OR (j.state = 'running' "
    "AND j.heartbeat_at < now() - make_interval(secs => c.lease))) "
    "RETURNING j.job_id::text, j.kind, j.tenant_id, j.created_by, j.params, j.attempts, "
    "j.created_at, extract(epoch FROM j.started_at - j.created_at)::float8")
"""Claims of jobs (ids, leases): a job queued, or running without a sign of life for its
lease (its worker died), becomes this attempt's; answers the rows claimed."""

_SUCCEED = (
    "UPDATE public.jobs j SET state = 'succeeded', result = s.result, finished_at = now(), "
    "progress_done = coalesce(j.progress_total, j.progress_done), last_error = NULL "
    "FROM unnest(%s::uuid[], %s::int[], %s::jsonb[]) AS s(id, attempt, result) "
    "WHERE j.job_id = s.id AND j.state = 'running' AND j.attempts = s.attempt "
    "RETURNING j.job_id::text")
"""Successes (ids, attempts, results): recorded for the attempts that still hold their job."""

_BATCHED = (_SUCCEED, _CLAIM)
"""The order of a batch's statements: successes first, so that a claim of a job (a message
delivered twice) that succeeds in the same batch finds it finished."""


@dataclass(frozen=True, slots=True)
class _Write:
    statement: str
    key: str
    row: tuple[Any, ...]


_Writing = Request[_Write, tuple[Any, ...] | None]
"""A write in a batch, answered with the row its statement returned for its key, if any."""


class GroupWriter:
    """Writes of one kind (``_BATCHED``) that several threads ask for at once, as one
    statement: the thread leading a batch (``LeaderBatch``, unbounded) writes every request
    waiting, its own with the others', on one connection, and answers each its own row.
    Each statement is its own transaction (autocommit) and takes its rows in the order of
    their ids, so that two processes' batches never wait on each other in a circle. A batch
    refused for its data (a result that is not valid JSON for PostgreSQL) is written again
    one by one, so the refusal is only its own job's."""

    def __init__(self, connect: Connect) -> None:
        self.connect = connect
        self._writes: LeaderBatch[_Write, tuple[Any, ...] | None] = LeaderBatch(self._write)

    def write(self, statement: str, key: str, row: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """Write ``row`` (one value per array of ``statement``) with whatever else is asked
        for now; answers the row ``statement`` returned for ``key`` (a job id), if any."""
        return self._writes.submit(_Write(statement, key, row))

    def _write(self, batch: list[_Writing]) -> None:
        by_statement: dict[str, list[_Writing]] = defaultdict(list)
        for request in batch:
            by_statement[request.item.statement].append(request)
        with self.connect() as conn:
            for statement in _BATCHED:
                requests = by_statement.get(statement)
                if requests:
                    self._execute(conn, statement, sorted(requests, key=lambda r: r.item.key))

    def _execute(self, conn: Any, statement: str, requests: list[_Writing]) -> None:
        try:
            # Planned for each batch (not prepared): a plan cached while the table was small
            # joins by reading the whole table, however large it grows.
            columns = [list(c) for c in zip(*(r.item.row for r in requests), strict=True)]
            rows = conn.execute(statement, columns, prepare=False).fetchall()
        except psycopg.errors.DataError:
            if len(requests) == 1:
                raise
            for request in requests:  # only the culprit's write is refused
                try:
                    self._execute(conn, statement, [request])
                except Exception as exc:
                    request.fail(exc)
            return
        except Exception as exc:
            for request in requests:
                request.fail(exc)
            return
        unanswered: dict[str, list[_Writing]] = defaultdict(list)
        for request in requests:
            unanswered[request.item.key].append(request)
        for row in rows:
            unanswered[row[0]].pop(0).answer(tuple(row))
        for request in requests:  # a key asked twice is answered once
            if not request.answered:
                request.answer(None)


class JobStore:
    """The ``jobs`` table through a psycopg connection factory (a pool's ``connection``)."""

    def __init__(self, connect: Connect) -> None:
        self.connect = connect
        self.tally = Tally()
        self.group = GroupWriter(connect)

    def flush_metrics(self) -> None:
        """Add this process's outcomes and latencies to the shared counters."""
        self.tally.flush(self.connect)

    def _write(self, statement: str, params: Any) -> list[Any]:
        """One bookkeeping statement, its own transaction (autocommit): one round trip.
        Workers give the store sessions that do not wait for the WAL flush (see the module
        docstring); a pipelined ``SET LOCAL`` per write measured four times the client CPU
        (0.85 against 0.19 ms a job for a claim and a success)."""
        with self.connect() as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    # --- the worker's side ----------------------------------------------------------------

    def claim(self, job_id: str, *, lease_seconds: float) -> ClaimedJob | None:
        """Take the job for this attempt, or None: finished, dead, or running elsewhere with
        a sign of life newer than ``lease_seconds`` (a duplicate message does nothing). The
        first start is observed in the latency histogram."""
        try:
            key = str(uuid.UUID(job_id))
        except ValueError:
            return None
        row = self.group.write(_CLAIM, key, (key, float(lease_seconds)))
        if row is None:
            return None
        job = ClaimedJob(row[0], row[1], row[2], row[3], dict(row[4] or {}), row[5], row[6])
        if job.attempt == 1:
            self.tally.observe(job.kind, max(0.0, row[7]))
        return job

    def heartbeat(self, jobs: Sequence[ClaimedJob]) -> int:
        """A sign of life of every job in ``jobs`` still held by its attempt (one statement
        for all the jobs a process runs); answers how many were."""
        if not jobs:
            return 0
        with self.connect() as conn:
            held = sorted(jobs, key=lambda j: j.id)  # the order of the group writer's batches
            cursor = conn.execute(
                "UPDATE public.jobs j SET heartbeat_at = now() FROM unnest(%s::uuid[], "
                "%s::int[]) AS h(id, attempt) WHERE j.job_id = h.id AND j.attempts = h.attempt "
                "AND j.state = 'running'", ([j.id for j in held], [j.attempt for j in held]))
            return int(cursor.rowcount or 0)

    def progress(self, job: ClaimedJob, done: int, total: int | None = None) -> None:
        self._write(
            "UPDATE public.jobs SET progress_done = %s, "
            "progress_total = coalesce(%s, progress_total), heartbeat_at = now() "
            "WHERE job_id = %s AND state = 'running' AND attempts = %s",
            (done, total, job.id, job.attempt))

    def attach(self, job: ClaimedJob, name: str, media_type: str, content: bytes) -> None:
        """Keep a file the job produced with it (replaced if the job runs again)."""
        with self.connect() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO public.job_files (job_id, name, media_type, content) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (job_id) DO UPDATE SET "
                "name = EXCLUDED.name, media_type = EXCLUDED.media_type, "
                "content = EXCLUDED.content", (job.id, name, media_type, content))

    def _finish(self, job: ClaimedJob, outcome: str, assignments: str,
                params: Sequence[Any]) -> bool:
        rows = self._write(
            f"UPDATE public.jobs SET {assignments} WHERE job_id = %s AND state = 'running' "
            "AND attempts = %s RETURNING 1", (*params, job.id, job.attempt))
        if rows:
            self.tally.count(job.kind, outcome)
        return bool(rows)

    def succeed(self, job: ClaimedJob, result: Any = None) -> bool:
        done = self.group.write(_SUCCEED, job.id, (job.id, job.attempt, json.dumps(result)))
        if done is not None:
            self.tally.count(job.kind, "succeeded")
        return done is not None

    def fail(self, job: ClaimedJob, errors: Sequence[dict[str, Any]]) -> bool:
        """A refusal that another try would not change (bad rows of an import): no retry."""
        return self._finish(job, "failed", "state = 'failed', errors = %s::jsonb, "
                            "finished_at = now()", (json.dumps(list(errors)),))

    def retry_later(self, job: ClaimedJob, error: str) -> bool:
        """A transient failure: queued again, for the broker's delayed retry."""
        return self._finish(job, "retried", "state = 'queued', last_error = %s, "
                            "sent_at = now()", (error,))

    def die(self, job: ClaimedJob, error: str) -> bool:
        """The last retry failed: failed and dead, until someone replays it."""
        return self._finish(
            job, "dead", "state = 'failed', dead = true, last_error = %s, "
            "errors = jsonb_build_array(jsonb_build_object('row', NULL, 'field', NULL, "
            "'message', %s::text)), finished_at = now()", (error, error))

    # --- operators ------------------------------------------------------------------------

    def get(self, job_id: str) -> JobRow | None:
        try:
            uuid.UUID(job_id)
        except ValueError:
            return None
        with self.connect() as conn:
            row = conn.execute(f"SELECT {_ROW} FROM public.jobs WHERE job_id = %s",
                               (job_id,)).fetchone()
        return JobRow(*row) if row else None

    def file(self, job_id: str) -> tuple[str, str, bytes] | None:
        with self.connect() as conn:
            row = conn.execute("SELECT name, media_type, content FROM public.job_files "
                               "WHERE job_id = %s", (job_id,)).fetchone()
        return (row[0], row[1], bytes(row[2])) if row else None

    def dead(self, limit: int = 100) -> list[JobRow]:
        with self.connect() as conn:
            rows = conn.execute(f"SELECT {_ROW} FROM public.jobs WHERE dead "
                                "ORDER BY created_at DESC, job_id DESC LIMIT %s",
                                (limit,)).fetchall()
        return [JobRow(*row) for row in rows]

    def revive(self, job_id: str) -> bool:
        """Queue a dead job again (``danvan jobs retry``): its retries start afresh."""
        with self.connect() as conn, conn.transaction():
            row = conn.execute(
                "UPDATE public.jobs SET state = 'queued', dead = false, errors = '[]'::jsonb, "
                "finished_at = NULL WHERE job_id = %s AND dead RETURNING job_id",
                (job_id,)).fetchone()
            if row is None:
                return False
            conn.execute("INSERT INTO public.job_outbox (job_id) VALUES (%s)", (job_id,))
            conn.execute(f"NOTIFY {CHANNEL}")
        return True

    def purge_finished(self, days: int) -> int:
        """Forget jobs finished more than ``days`` ago, dead ones aside (counters stay)."""
        with self.connect() as conn, conn.transaction():
            cursor = conn.execute(
                "DELETE FROM public.jobs WHERE finished_at < now() - make_interval(days => %s) "
                "AND NOT dead", (days,))
            return int(cursor.rowcount or 0)

    # --- metrics --------------------------------------------------------------------------

    def counts(self) -> list[tuple[str, str, int]]:
        with self.connect() as conn:
            return [(k, o, int(n)) for k, o, n in conn.execute(
                "SELECT kind, outcome, sum(n) FROM public.job_counts GROUP BY kind, outcome "
                "ORDER BY kind, outcome")]

    def latency(self) -> list[tuple[str, list[int], int, float]]:
        with self.connect() as conn:
            return [(k, [int(n) for n in b], int(t), float(s)) for k, b, t, s in conn.execute(
                "SELECT kind, (SELECT array_agg(n ORDER BY i) FROM (SELECT i, sum(n) AS n "
                " FROM public.job_latency s, unnest(s.buckets) WITH ORDINALITY AS u(n, i) "
                " WHERE s.kind = l.kind GROUP BY i) per_bucket), sum(total), sum(sum_seconds) "
                "FROM public.job_latency l GROUP BY kind ORDER BY kind")]


def requeue_stale(conn: Any, *, lease_seconds: float) -> int:
    """Send again what the broker lost or a dead worker held: running jobs without a sign
    of life for ``lease_seconds``, and queued jobs recorded (or last retried) more than ten
    leases ago (longer than any retry's backoff) that have left the outbox without
    starting. The claim keeps it to one run."""
    with conn.transaction():
        rows = conn.execute(
            "WITH stale AS (SELECT job_id FROM public.jobs j WHERE NOT dead AND ("
            " (state = 'running' AND heartbeat_at < now() - make_interval(secs => %(l)s)"
            "  AND (sent_at IS NULL OR sent_at < now() - make_interval(secs => %(l)s)))"
            " OR (state = 'queued'"
            "  AND coalesce(sent_at, created_at) < now() - make_interval(secs => %(q)s)))"
            " AND NOT EXISTS (SELECT 1 FROM public.job_outbox o WHERE o.job_id = j.job_id)"
            " FOR UPDATE SKIP LOCKED),"
            " touched AS (UPDATE public.jobs SET sent_at = now() "
            " WHERE job_id IN (SELECT job_id FROM stale) RETURNING job_id)"
            " INSERT INTO public.job_outbox (job_id) SELECT job_id FROM touched "
            "RETURNING job_id", {"l": lease_seconds, "q": lease_seconds * 10}).fetchall()
        if rows:
            conn.execute(f"NOTIFY {CHANNEL}")
    return len(rows)
