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

These writes commit with ``synchronous_commit = off``: they are bookkeeping, and the events a
job appends are committed durably by the store. A PostgreSQL crash may forget the last
fraction of a second of states; a forgotten claim or outcome makes the job run again once
its lease runs out, which its idempotence absorbs.
"""

from __future__ import annotations

import bisect
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from danvan.infra.outbox import CHANNEL

LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                                      5.0, 10.0, 30.0, 60.0)
"""Upper bounds (seconds) of the latency histogram, from commit to a job's first start."""

OUTCOMES = ("succeeded", "failed", "retried", "dead")

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


def bucket_of(seconds: float) -> int:
    """The index of the histogram bucket ``seconds`` falls in (the last: above them all)."""
    return bisect.bisect_left(LATENCY_BUCKETS, seconds)


class JobStore:
    """The ``jobs`` table through a psycopg connection factory (a pool's ``connection``)."""

    def __init__(self, connect: Connect) -> None:
        self.connect = connect

    @contextmanager
    def _bookkeeping(self) -> Iterator[Any]:
        with self.connect() as conn, conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = off")
            yield conn

    # --- the worker's side ----------------------------------------------------------------

    def claim(self, job_id: str, *, lease_seconds: float) -> ClaimedJob | None:
        """Take the job for this attempt, or None: finished, dead, or running elsewhere with
        a sign of life newer than ``lease_seconds`` (a duplicate message does nothing)."""
        with self._bookkeeping() as conn:
            row = conn.execute(
                "UPDATE public.jobs SET state = 'running', attempts = attempts + 1, "
                "started_at = coalesce(started_at, now()), heartbeat_at = now() "
                "WHERE job_id = %s AND NOT dead AND (state = 'queued' OR (state = 'running' "
                "AND heartbeat_at < now() - make_interval(secs => %s))) "
                "RETURNING job_id::text, kind, tenant_id, created_by, params, attempts, "
                "created_at, extract(epoch FROM started_at - created_at)",
                (job_id, lease_seconds)).fetchone()
            if row is None:
                return None
            job = ClaimedJob(row[0], row[1], row[2], row[3], dict(row[4] or {}), row[5], row[6])
            if job.attempt == 1:
                self._observe_latency(conn, job.kind, max(0.0, float(row[7])))
        return job

    def _observe_latency(self, conn: Any, kind: str, seconds: float) -> None:
        buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        buckets[bucket_of(seconds)] = 1
        conn.execute(
            "INSERT INTO public.job_latency AS l (kind, buckets, total, sum_seconds) "
            "VALUES (%s, %s, 1, %s) ON CONFLICT (kind) DO UPDATE SET "
            "buckets = (SELECT array_agg(a + b ORDER BY i) FROM unnest(l.buckets, "
            "EXCLUDED.buckets) WITH ORDINALITY AS u(a, b, i)), total = l.total + 1, "
            "sum_seconds = l.sum_seconds + EXCLUDED.sum_seconds", (kind, buckets, seconds))

    def heartbeat(self, job: ClaimedJob) -> bool:
        """A sign of life; False when the job is no longer this attempt's."""
        with self._bookkeeping() as conn:
            cursor = conn.execute(
                "UPDATE public.jobs SET heartbeat_at = now() WHERE job_id = %s "
                "AND state = 'running' AND attempts = %s", (job.id, job.attempt))
            return bool(cursor.rowcount)

    def progress(self, job: ClaimedJob, done: int, total: int | None = None) -> None:
        with self._bookkeeping() as conn:
            conn.execute(
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
        with self._bookkeeping() as conn:
            cursor = conn.execute(
                f"UPDATE public.jobs SET {assignments} WHERE job_id = %s "
                "AND state = 'running' AND attempts = %s", (*params, job.id, job.attempt))
            if not cursor.rowcount:
                return False
            conn.execute(
                "INSERT INTO public.job_counts AS c (kind, outcome, n) VALUES (%s, %s, 1) "
                "ON CONFLICT (kind, outcome) DO UPDATE SET n = c.n + 1", (job.kind, outcome))
        return True

    def succeed(self, job: ClaimedJob, result: Any = None) -> bool:
        return self._finish(
            job, "succeeded", "state = 'succeeded', result = %s::jsonb, finished_at = now(), "
            "progress_done = coalesce(progress_total, progress_done), last_error = NULL",
            (json.dumps(result),))

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
                                "ORDER BY finished_at DESC, job_id DESC LIMIT %s",
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
                "SELECT kind, outcome, n FROM public.job_counts ORDER BY kind, outcome")]

    def latency(self) -> list[tuple[str, list[int], int, float]]:
        with self.connect() as conn:
            return [(k, list(b), int(t), float(s)) for k, b, t, s in conn.execute(
                "SELECT kind, buckets, total, sum_seconds FROM public.job_latency "
                "ORDER BY kind")]


def requeue_stale(conn: Any, *, lease_seconds: float) -> int:
    """Send again what the broker lost or a dead worker held: running jobs without a sign
    of life for ``lease_seconds``, and queued jobs sent more than ten leases ago (longer
    than any retry's backoff) without starting. The claim keeps it to one run."""
    with conn.transaction():
        rows = conn.execute(
            "WITH stale AS (SELECT job_id FROM public.jobs j WHERE NOT dead AND ("
            " (state = 'running' AND heartbeat_at < now() - make_interval(secs => %(l)s)"
            "  AND (sent_at IS NULL OR sent_at < now() - make_interval(secs => %(l)s)))"
            " OR (state = 'queued' AND sent_at < now() - make_interval(secs => %(q)s)))"
            " AND NOT EXISTS (SELECT 1 FROM public.job_outbox o WHERE o.job_id = j.job_id)"
            " FOR UPDATE SKIP LOCKED),"
            " touched AS (UPDATE public.jobs SET sent_at = now() "
            " WHERE job_id IN (SELECT job_id FROM stale) RETURNING job_id)"
            " INSERT INTO public.job_outbox (job_id) SELECT job_id FROM touched "
            "RETURNING job_id", {"l": lease_seconds, "q": lease_seconds * 10}).fetchall()
        if rows:
            conn.execute(f"NOTIFY {CHANNEL}")
    return len(rows)
