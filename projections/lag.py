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

A version kept in tenant shards (``sharding``) is answered per shard too (``shards``: each
shard's position, lag, runner, quarantined events and halt), and as a whole by its slowest
shard: the lowest position, the largest lag, advancing only if every shard is, a runner
alive only if every shard has one. A shard's lag counts every event of the log after its
position (each shard reads them all, its tenants' or not): an upper bound for its tenants.
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
from danvan.projections.sharding import Shard, lock_name

STALL_SECONDS = 30.0
"""A projection behind the head whose position has not moved for this long is stalled."""
MAX_LAG_SECONDS = 60.0
COUNT_CAP = 1_000_000


@dataclass(frozen=True)
class ShardLag:
    shard: str
    """``K/N``."""
    position: int
    lag_events: int
    lag_seconds: float
    advancing: bool
    runner_alive: bool
    advanced_at: datetime | None
    caught_up_at: datetime | None
    quarantined: int = 0
    halted_at: datetime | None = None
    halt_reason: str | None = None


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
    shards: tuple[ShardLag, ...] = ()
    """Per tenant shard, when the version is kept in shards (the fields above are then its
    slowest shard's)."""


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
        " WHERE q.name = v.name AND q.version = v.version), v.halted_at, v.halt_reason, "
        "v.shards FROM public.danvan_projections p JOIN public.danvan_projection_versions v "
        "ON v.name = p.name AND v.version = p.active_version ORDER BY v.name").fetchall()
    shard_rows = conn.execute(
        "SELECT s.name, s.shard, s.shards, s.position, s.advanced_at, s.caught_up_at, "
        "(SELECT count(*) FROM public.danvan_projection_quarantine q WHERE q.name = s.name "
        " AND q.version = s.version AND q.shard = s.shard), s.halted_at, s.halt_reason "
        "FROM public.danvan_projections p JOIN public.danvan_projection_shards s "
        "ON s.name = p.name AND s.version = p.active_version ORDER BY s.name, s.shard"
    ).fetchall()
    locks = [row[0] for row in rows]
    locks += [lock_name(r[0], Shard(r[1], r[2])) for r in shard_rows]
    holders = lock_holders(conn, locks)
    behind: dict[int, tuple[int, datetime | None]] = {}  # projections often share a position

    def lag_of(position: int, advanced_at: datetime | None, caught_up_at: datetime | None
               ) -> tuple[int, float, bool]:
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
        return lag_events, lag_seconds, advancing

    by_projection: dict[str, list[ShardLag]] = {}
    for (name, index, count, position, advanced_at, caught_up_at, quarantined, halted_at,
         halt_reason) in shard_rows:
        shard = Shard(index, count)
        lag_events, lag_seconds, advancing = lag_of(position, advanced_at, caught_up_at)
        by_projection.setdefault(name, []).append(ShardLag(
            shard.label, position, lag_events, lag_seconds, advancing,
            lock_name(name, shard) in holders, advanced_at, caught_up_at, quarantined,
            halted_at, halt_reason))
    result = []
    for (name, version, position, advanced_at, caught_up_at, rebuilding, quarantined,
         halted_at, halt_reason, kept_in) in rows:
        shards = tuple(by_projection.get(name, ())) if kept_in > 1 else ()
        if shards:
            result.append(_slowest(name, version, head, rebuilding, quarantined, shards))
            continue
        lag_events, lag_seconds, advancing = lag_of(position, advanced_at, caught_up_at)
        result.append(ProjectionLag(name, version, head, position, lag_events, lag_seconds,
                                    advancing, name in holders, advanced_at, caught_up_at,
                                    rebuilding, quarantined, halted_at, halt_reason))
    return result


def _slowest(name: str, version: int, head: int, rebuilding: int | None, quarantined: int,
             shards: tuple[ShardLag, ...]) -> ProjectionLag:
    """A sharded version as a whole: as far as its slowest shard."""
    slowest = min(shards, key=lambda s: (s.position, -s.lag_seconds))
    halted = next((s for s in shards if s.halt_reason is not None), None)
    return ProjectionLag(
        name, version, head, slowest.position, max(s.lag_events for s in shards),
        max(s.lag_seconds for s in shards), all(s.advancing for s in shards),
        all(s.runner_alive for s in shards), slowest.advanced_at, slowest.caught_up_at,
        rebuilding, quarantined, halted.halted_at if halted else None,
        halted.halt_reason if halted else None, shards)


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
            {**_json(asdict(p)), "shards": [_json(asdict(s)) for s in p.shards]}
            for p in lags],
        "quarantined": quarantine_report(conn, limit=listed),
    }


def _json(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}


def lag_probe(pool: Any, *, max_lag_seconds: float = MAX_LAG_SECONDS
              ) -> Callable[[], dict[str, Any]]:
    """A ``Services.projection_lag`` callable over a psycopg_pool ``ConnectionPool``."""
    def probe() -> dict[str, Any]:
        with pool.connection() as conn:
            return lag_report(conn, max_lag_seconds=max_lag_seconds)
    return probe
