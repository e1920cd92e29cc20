"""How far behind the log each projection is, and whether it is moving.

``projection_lag(conn)`` answers per projection (active version): the log head, the tracked
position, the lag in events and in seconds, whether the position is advancing, whether a
runner holds the projection's lock, any version being rebuilt, the events quarantined and
why a runner halted, if one did. ``lag_report`` shapes it for ``/health/ready``, ``/metrics``
and ``danvan projector status`` (``{"ok": bool, ...}``, with the quarantined events per
tenant); ``lag_probe(pool)`` is the zero-argument callable the API wiring takes
(``Services.projection_lag``). Everything is read from the database, so the answer is right
wherever the projector runs.

Lag in seconds is how stale the read models may be: zero when caught up, else the time since
the later of the last moment the projection had read everything and the first unread event.
Works with the application's role (it only reads the log and the tracking tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from danvan.infra.event_store import EVENTS_TABLE
from danvan.projections.base import Connection
from danvan.projections.quarantine import quarantine_report
from danvan.projections.runner import lock_holders

STALL_SECONDS = 30.0
"""A projection behind the head whose position has not moved for this long is stalled."""
MAX_LAG_SECONDS = 60.0
COUNT_CAP = 1_000_000


@dataclass(frozen=True)
class ProjectionLag:
    name: str
    version: int
    head: int
    position: int
    lag_events: int
    lag_seconds: float
    advancing: bool
    runner_alive: bool
    advanced_at: datetime | None
    caught_up_at: datetime | None
    rebuilding_version: int | None
    quarantined: int = 0
    """Events this version skipped because it could not apply them."""
    halted_at: datetime | None = None
    halt_reason: str | None = None
    """Why a runner stopped before the next event (one no decoder knows), until it moves."""


def projection_lag(conn: Connection, *, now: datetime | None = None,
                   stall_seconds: float = STALL_SECONDS) -> list[ProjectionLag]:
    moment = now or datetime.now(UTC)
    head_row = conn.execute(
        f"SELECT coalesce(max(notification_id), 0) FROM public.{EVENTS_TABLE}").fetchone()
    head = int(head_row[0]) if head_row else 0
    rows = conn.execute(
        "SELECT v.name, v.version, v.position, v.advanced_at, v.caught_up_at, "
        "(SELECT max(b.version) FROM public.danvan_projection_versions b "
        " WHERE b.name = v.name AND b.status = 'building'), "
        "(SELECT count(*) FROM public.danvan_projection_quarantine q "
        " WHERE q.name = v.name AND q.version = v.version), v.halted_at, v.halt_reason "
        "FROM public.danvan_projections p JOIN public.danvan_projection_versions v "
        "ON v.name = p.name AND v.version = p.active_version ORDER BY v.name").fetchall()
    holders = lock_holders(conn, [row[0] for row in rows])
    result = []
    behind: dict[int, tuple[int, datetime | None]] = {}  # projections often share a position
    for (name, version, position, advanced_at, caught_up_at, rebuilding, quarantined,
         halted_at, halt_reason) in rows:
        if position not in behind:
            behind[position] = _behind(conn, position, head)
        lag_events, first_unread = behind[position]
        if lag_events == 0:
            lag_seconds = 0.0
        else:
            known = [t for t in (caught_up_at, first_unread) if t is not None]
            since = max(known) if known else moment
            lag_seconds = max(0.0, (moment - since).total_seconds())
        advancing = lag_events == 0 or (
            advanced_at is not None and (moment - advanced_at).total_seconds() < stall_seconds)
        result.append(ProjectionLag(name, version, head, position, lag_events, lag_seconds,
                                    advancing, name in holders, advanced_at, caught_up_at,
                                    rebuilding, quarantined, halted_at, halt_reason))
    return result


def _behind(conn: Connection, position: int, head: int) -> tuple[int, datetime | None]:
    if position >= head:
        return 0, None
    row = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM public.{EVENTS_TABLE} "
        f"WHERE notification_id > %s LIMIT {COUNT_CAP}) s", (position,)).fetchone()
    first = conn.execute(
        f"SELECT (convert_from(state, 'UTF8')::jsonb #>> '{{timestamp,_data_}}')::timestamptz "
        f"FROM public.{EVENTS_TABLE} WHERE notification_id > %s "
        "ORDER BY notification_id LIMIT 1", (position,)).fetchone()
    return (int(row[0]) if row else 0), (first[0] if first else None)


def lag_report(conn: Connection, *, max_lag_seconds: float = MAX_LAG_SECONDS,
               now: datetime | None = None, listed: int = 20) -> dict[str, Any]:
    """``{"ok", "head", "projections": [...], "quarantined": {...}}``; ok when every
    projection is advancing (or caught up), none is more than ``max_lag_seconds`` behind or
    halted, and no active version has quarantined an event (the first ``listed`` of which
    are shown)."""
    lags = projection_lag(conn, now=now)
    ok = bool(lags) and all(p.advancing and p.lag_seconds <= max_lag_seconds
                            and not p.quarantined and p.halt_reason is None for p in lags)
    return {
        "ok": ok,
        "head": lags[0].head if lags else None,
        "projections": [
            {**asdict(p), **{k: _iso(getattr(p, k))
                             for k in ("advanced_at", "caught_up_at", "halted_at")}}
            for p in lags],
        "quarantined": quarantine_report(conn, limit=listed),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def lag_probe(pool: Any, *, max_lag_seconds: float = MAX_LAG_SECONDS
              ) -> Callable[[], dict[str, Any]]:
    """A ``Services.projection_lag`` callable over a psycopg_pool ``ConnectionPool``."""
    def probe() -> dict[str, Any]:
        with pool.connection() as conn:
            return lag_report(conn, max_lag_seconds=max_lag_seconds)
    return probe
