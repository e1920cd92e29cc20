"""The transactional outbox: a job is written in the transaction that asks for it, and a
relay hands it to the broker after that transaction committed.

    store.save(operation, jobs=[JobRequest("audit_export", id=..., tenant_id=...)])
    enqueue(conn, [JobRequest("reminders", dedup_key="reminders:2026-12-05")])   # no events
    Relay(conninfo, send).run(stop)          # a thread of `danvan worker` (or `danvan serve`)

Why: a job sent to Redis by the request itself would be lost when Redis is down and sent for
a request whose transaction then failed. Here the job and its outbox row commit with the
request's events or not at all (``record_jobs`` is the store recorder's hook, so the group
commit path keeps it atomic too, each save in its own savepoint), and the relay sends each
outbox row at least once, deleting it in the transaction that sent it: a send that fails
leaves the row for the next try, a crash after sending but before the delete sends it
again, which the workers' claim turns into nothing (``infra/jobs.py``).

Latency: the inserting transaction does ``NOTIFY danvan_jobs``; the relay LISTENs and sends
within a few milliseconds of the commit, and polls every ``poll_seconds`` besides (a
notification is lost while the relay is disconnected).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

CHANNEL = "danvan_jobs"
RELAY_BATCH = 200
"""Outbox rows sent per relay transaction (one pipelined round trip to Redis)."""


@dataclass(frozen=True)
class JobRequest:
    """A job to be done once its request commits. ``dedup_key``: at most one job per key
    (a second request with the same key records nothing)."""

    kind: str
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    tenant_id: str | None = None
    created_by: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    dedup_key: str | None = None


_INSERT = (
    "WITH new AS ("
    " INSERT INTO public.jobs (job_id, kind, tenant_id, created_by, params, dedup_key)"
    " SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::jsonb[],"
    " %s::text[]) ON CONFLICT DO NOTHING RETURNING job_id),"
    " queued AS (INSERT INTO public.job_outbox (job_id) SELECT job_id FROM new"
    " RETURNING job_id)"
    f" SELECT job_id, pg_notify('{CHANNEL}', '') FROM queued")
"""Jobs and their outbox rows, and the relay woken when the transaction commits (one
notification however many rows: PostgreSQL folds a transaction's equal notifications),
in one statement; answers the ids recorded."""


def _columns(jobs: Sequence[JobRequest]) -> tuple[list[Any], ...]:
    return ([j.id for j in jobs], [j.kind for j in jobs], [j.tenant_id for j in jobs],
            [j.created_by for j in jobs], [json.dumps(dict(j.params)) for j in jobs],
            [j.dedup_key for j in jobs])


def record_jobs(cursor: Any, jobs: Sequence[JobRequest] | None) -> None:
    """The recorder's hook: write ``jobs`` and their outbox rows in the cursor's transaction
    (the one appending the events), and wake the relay when it commits."""
    if not jobs:
        return
    cursor.execute(_INSERT, _columns(jobs))


def enqueue(conn: psycopg.Connection[Any], jobs: Sequence[JobRequest]) -> list[uuid.UUID]:
    """Record ``jobs`` in a transaction of their own (no events: a schedule's tick, a replay),
    or in the one ``conn`` has open; answers the ids of those recorded (not those whose
    ``dedup_key`` was taken). On a connection in autocommit, one statement, one round trip."""
    if not jobs:
        return []
    if conn.autocommit:  # the statement is its own transaction, or part of the open one
        return [row[0] for row in conn.execute(_INSERT, _columns(jobs)).fetchall()]
    with conn.transaction():
        return [row[0] for row in conn.execute(_INSERT, _columns(jobs)).fetchall()]


def pending(conn: psycopg.Connection[Any]) -> int:
    """Outbox rows not yet handed to the broker (``danvan_outbox_pending``)."""
    row = conn.execute("SELECT count(*) FROM public.job_outbox").fetchone()
    return int(row[0]) if row else 0


Send = Callable[[Sequence[tuple[str, str]]], None]
"""``send([(kind, job_id), ...])``: hand jobs to the broker, in order (raises when the broker
is down; some may have been sent, and will be sent again)."""


class Relay:
    """Moves outbox rows to the broker: on each notification, and every ``poll_seconds``.

    Several relays may run at once (``FOR UPDATE SKIP LOCKED``); ``tick`` runs after each
    pass (the worker's reaper of stale jobs).
    """

    def __init__(self, conninfo: str, send: Send, *, poll_seconds: float = 1.0,
                 batch: int = RELAY_BATCH, tick: Callable[[psycopg.Connection[Any]], None]
                 | None = None, name: str = "danvan-relay") -> None:
        self.conninfo = conninfo
        self.send = send
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.tick = tick
        self.name = name
        self.sent = 0
        self._trouble_since: float | None = None

    def drain(self, conn: psycopg.Connection[Any]) -> int:
        """Send outbox rows until none is left; answers how many were sent. A send that
        fails rolls its batch back (``BrokerUnavailable``): those rows wait for the next.
        The transaction takes no lock on the jobs themselves, so a worker may claim a job
        while the rest of its batch is being sent. Two round trips to PostgreSQL a batch:
        BEGIN with the DELETE, then COMMIT (the relay's session does not wait for the WAL
        flush: ``run``)."""
        total = 0
        take = sql.SQL(
            "BEGIN; "
            "WITH taken AS (DELETE FROM public.job_outbox WHERE outbox_id IN ("
            " SELECT outbox_id FROM public.job_outbox ORDER BY outbox_id LIMIT {}"
            " FOR UPDATE SKIP LOCKED) RETURNING outbox_id, job_id) "
            "SELECT t.outbox_id, j.kind, j.job_id::text FROM taken t "
            "JOIN public.jobs j USING (job_id) ORDER BY t.outbox_id").format(
                sql.Literal(self.batch))
        while True:
            try:
                cursor = conn.execute(take)  # no parameters: both statements, one round trip
                rows = cursor.fetchall() if cursor.nextset() else []
                if rows:
                    try:
                        self.send([(kind, job_id) for _, kind, job_id in rows])
                    except Exception as exc:
                        raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
            except BaseException:
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            total += len(rows)
            self.sent += len(rows)
            if len(rows) < self.batch:
                return total

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set: (re)connect, then drain on each notification or poll."""
        while not stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    # A lost commit (a crash of PostgreSQL) sends a batch again, or forgets a
                    # resend of the reaper's (found again on its next pass): the claim
                    # absorbs the one, the other costs a lease.
                    conn.execute("SET synchronous_commit = off")
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._loop(conn, stop)
            except psycopg.Error as exc:  # the database is away: connect again soon
                self._trouble(f"database: {type(exc).__name__}: {str(exc)[:200]}")
                stop.wait(min(5.0, self.poll_seconds * 2))

    def _loop(self, conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.drain(conn)
            except BrokerUnavailable as exc:
                self._trouble(f"broker: {exc}")
                stop.wait(self.poll_seconds)
                continue
            if self._trouble_since is not None:
                log.warning("job relay: sending again after %.1f s",
                            time.monotonic() - self._trouble_since)
                self._trouble_since = None
            if self.tick is not None:
                self.tick(conn)
            self._wait(conn, stop)

    def _wait(self, conn: psycopg.Connection[Any], stop: threading.Event) -> None:
        """Until a notification arrives, ``poll_seconds`` pass or ``stop`` is set."""
        deadline = time.monotonic() + self.poll_seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if list(conn.notifies(timeout=min(remaining, 0.25), stop_after=1)):
                list(conn.notifies(timeout=0))  # the rest of a burst: one drain for all
                return

    def _trouble(self, what: str) -> None:
        if self._trouble_since is None:
            self._trouble_since = time.monotonic()
            log.warning("job relay: %s (jobs wait in the outbox)", what)


class BrokerUnavailable(RuntimeError):
    """The broker refused a message: the relay keeps the outbox rows and tries again."""
