"""Poison events: an event a projection knows but cannot apply is set aside, not retried.

A batch is applied at full speed with nothing extra per event. Only when it fails for a
reason that may lie in its events (a value the read model cannot hold: a data or integrity
error, a program limit; or a Python error in a fold or prepare), and not in the connection
or the code's SQL, is the batch applied again, in a fresh transaction, projection by
projection (``isolate``): the projection's events are applied in order in savepoints, and a
part that fails is halved until the failing events stand alone. Each is recorded in
``danvan_projection_quarantine`` (projection, version, position, tenant, topic, aggregate,
error, when), logged, and skipped for that projection version only; every other event, of
every tenant, is applied. Since ``prepare`` is deterministic however the log is cut, the
read models then equal those of the log without the quarantined events.

A quarantined event is replayed by a rebuild (``danvan rebuild NAME``) once a fix or an
upcaster is deployed: the new version's tables get it, and the retired version's entries
stop counting (they go with its schema). ``quarantine_report`` counts the entries of the
active versions per projection and tenant, for ``/health/ready``, ``/metrics`` and
``danvan projector status``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from danvan.projections.base import Connection, Cursor
from danvan.projections.event_types import UnknownEvent
from danvan.projections.events import Batch, Envelope

if TYPE_CHECKING:
    from danvan.projections.applying import Target

log = logging.getLogger(__name__)

MAX_ERROR = 2000
"""Characters of an error kept with a quarantined event."""
LISTED = 100
"""Quarantined events listed by ``quarantine_report`` (the counts cover them all)."""
_EVENT_SQLSTATE_CLASSES = ("22", "23", "54")
"""Data exception, integrity constraint violation, program limit exceeded."""


class ProjectionFailed(Exception):
    """Applying a batch to a projection failed in a way its events may have caused."""

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(f"{name}: {error_text(error)}")
        self.name = name
        self.error = error


def event_fault(exc: BaseException) -> bool:
    """Whether ``exc`` may be the fault of the events being applied, so that isolating them
    is worth trying. Not so: a lost connection, a timeout, a deadlock (the runner retries
    those), an SQL error in the code (every event would fail), an event no decoder knows
    (the runner stops), running out of memory."""
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        if state is None:  # raised by psycopg itself, e.g. a NUL in a text value to COPY
            return isinstance(exc, psycopg.DataError)
        return state[:2] in _EVENT_SQLSTATE_CLASSES
    return isinstance(exc, Exception) and not isinstance(
        exc, UnknownEvent | MemoryError | RecursionError)


@dataclass(frozen=True)
class Poison:
    """One event a projection version could not apply."""

    name: str
    version: int
    position: int
    topic: str
    error: str
    shard: int | None = None
    """The tenant shard that set it aside (None: an unsharded runner)."""


def error_text(exc: BaseException) -> str:
    """The error as an operator needs it, on one line: class, message, and PostgreSQL's
    context (which names the table, column and value) when there is one."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    context = getattr(getattr(exc, "diag", None), "context", None)
    if context and " ".join(context.split()) not in text:
        text += f" (CONTEXT: {' '.join(context.split())})"
    return text[:MAX_ERROR]


def isolate(conn: Connection, cur: Cursor, target: Target, part: Batch) -> list[Poison]:
    """Inside the caller's transaction: apply ``part`` to ``target`` event by event where
    need be (see the module doc), record the events that fail, return them."""
    projection = target.projection
    found: list[tuple[Envelope, BaseException]] = []

    def attempt(events: Sequence[Envelope]) -> None:
        try:
            with conn.transaction():  # a savepoint
                projection.apply(cur, target.schema, Batch(part.after, part.last, events))
        except Exception as exc:
            if not event_fault(exc):
                raise
            if len(events) == 1:
                found.append((events[0], exc))
                return
            middle = len(events) // 2
            attempt(events[:middle])  # in log order: the second half sees the first
            attempt(events[middle:])

    wanted = projection.wanted(part)
    if wanted:
        attempt(wanted)
    shard = target.shard.index if target.shard is not None else None
    poisons = [Poison(projection.name, target.version, e.position, e.topic, error_text(exc),
                      shard) for e, exc in found]
    if poisons:
        record(cur, poisons)
    return poisons


def record(cur: Cursor, poisons: Sequence[Poison]) -> None:
    """Keep ``poisons`` (tenant, stored topic and aggregate read from the log itself, so an
    event that cannot even be decoded is recorded as well) and log each."""
    for p in poisons:
        cur.execute(
            "INSERT INTO public.danvan_projection_quarantine AS q (name, version, position, "
            "tenant_id, topic, aggregate_id, aggregate_version, error, shard) "
            "SELECT %s, %s, e.notification_id, e.tenant_id, e.topic, e.originator_id, "
            "e.originator_version, %s, %s FROM public.danvan_events e "
            "WHERE e.notification_id = %s "
            "ON CONFLICT (name, version, position) DO UPDATE SET error = excluded.error, "
            "quarantined_at = now()", (p.name, p.version, p.error, p.shard, p.position))
        log.error("%s v%d: event %d (%s) quarantined, skipped for this version: %s",
                  p.name, p.version, p.position, p.topic.rpartition(":")[2], p.error)


# --- reading ----------------------------------------------------------------------------

@dataclass(frozen=True)
class QuarantinedEvent:
    name: str
    version: int
    position: int
    tenant_id: str | None
    topic: str
    aggregate_id: str
    aggregate_version: int
    error: str
    quarantined_at: datetime


_ACTIVE = ("FROM public.danvan_projection_quarantine q JOIN public.danvan_projections p "
           "ON p.name = q.name AND p.active_version = q.version")


def quarantined_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Per projection (active version), per tenant: events quarantined."""
    rows = conn.execute(f"SELECT q.name, coalesce(q.tenant_id, ''), count(*) {_ACTIVE} "
                        "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    counts: dict[str, dict[str, int]] = {}
    for name, tenant, count in rows:
        counts.setdefault(name, {})[tenant] = count
    return counts


def quarantined_events(conn: Connection, *, limit: int = LISTED) -> list[QuarantinedEvent]:
    """The active versions' quarantined events, in log order (at most ``limit``)."""
    rows = conn.execute(
        "SELECT q.name, q.version, q.position, q.tenant_id, q.topic, q.aggregate_id::text, "
        f"q.aggregate_version, q.error, q.quarantined_at {_ACTIVE} "
        "ORDER BY q.position, q.name LIMIT %s", (limit,)).fetchall()
    return [QuarantinedEvent(*row) for row in rows]


def quarantine_report(conn: Connection, *, limit: int = 20) -> dict[str, Any]:
    """``{"total", "by_projection": {name: {tenant: n}}, "events": [...]}`` (JSON-ready)."""
    counts = quarantined_counts(conn)
    events = quarantined_events(conn, limit=limit) if counts else []
    return {
        "total": sum(sum(by_tenant.values()) for by_tenant in counts.values()),
        "by_projection": counts,
        "events": [{**e.__dict__, "quarantined_at": e.quarantined_at.isoformat()}
                   for e in events],
    }
