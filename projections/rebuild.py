"""Blue/green rebuild of projections while the current tables keep serving.

1. Create the next version of each (``rm_<name>_v<N+1>``, empty, status ``building``) without
   its secondary indexes, or resume a building version of the same shape that an interrupted
   rebuild left.
2. Catch them up together in one pass over the log, from their positions, in batches prepared
   ahead on another thread; each batch and the positions in one transaction (restartable at
   any point, like the live runner). Readers still see the old versions.
3. Build the secondary indexes (one sort each rather than an insert per row), catch up again.
4. Switch, in one transaction: lock the projections' pointer rows (the live runner's next
   batch waits), bring each new version exactly to its old version's position if it is
   behind (the furthest shard's, for a version kept in tenant shards), repoint the
   ``danvan_read`` views and the pointers, and keep the new version in the old one's shard
   layout, or in ``shards`` (every shard starting at the switch position). Readers see old
   or new, never a mix; the live runner continues on the new versions from their positions.
5. Drop the old versions' schemas (unless ``keep_old``).

Projections only write their own tables, so replaying the log repeats no side effect.

This is also how a quarantined event is replayed once a fix or an upcaster is deployed: the
new version applies it (or quarantines it again, under its own version, if it still fails),
and the old version's quarantine entries go with the old version.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg

from danvan.projections.applying import (
    Applied,
    Fault,
    Target,
    apply_locked,
    lock_version_target,
)
from danvan.projections.base import Connection, Projection
from danvan.projections.events import log_head
from danvan.projections.pipeline import LockTargets, run_pipelined
from danvan.projections.runner import lock_key, try_lock, unlock
from danvan.projections.schema import (
    ENSURE_LOCK,
    Version,
    activate,
    add_indexes,
    analyze,
    create_version,
    ddl_hash,
    drop_version,
    ensure_read_models,
    stale,
    versions,
)
from danvan.projections.sharding import check_shardable, position_range, set_layout

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called with (what, position reached, log head) as the rebuild goes."""


class RebuildBusy(RuntimeError):
    """Another rebuild of the same projection is running."""


@dataclass(frozen=True)
class Rebuilt:
    name: str
    old_version: int | None
    new_version: int
    position: int
    events: int


def _building_version(conn: Connection, projection: Projection, app_role: str,
                      resume: bool) -> Version:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (ENSURE_LOCK,))
        building = [v for v in versions(conn, projection.name) if v.status == "building"]
        for v in building:
            if resume and v.ddl_hash == ddl_hash(projection) and v is building[-1]:
                log.info("resuming %s v%d from position %d", v.name, v.version, v.position)
                return v
            drop_version(conn, v)
        return create_version(conn, projection, app_role, defer_indexes=True)


def rebuild(conn: Connection, projections: Sequence[Projection], *,
            app_role: str, conninfo: str | None = None, batch_size: int = 20_000,
            keep_old: bool = False, resume: bool = True, progress: Progress | None = None,
            fault: Fault | None = None, shards: int | None = None) -> list[Rebuilt]:
    """Rebuild ``projections`` into new versions in one pass over the log and switch readers
    to them (see the module doc). ``conn`` is an autocommit owner connection; ``conninfo``
    (the same database) lets batches be prepared ahead on a second connection. ``shards``:
    the tenant shards to keep the new versions in (default: the old versions' layout)."""
    chosen = list(projections)
    if shards is not None and shards > 1:
        check_shardable(chosen)
    locks = [f"rebuild:{p.name}" for p in chosen]
    taken: list[str] = []
    try:
        for name in locks:
            if not try_lock(conn, name):
                raise RebuildBusy(f"a rebuild of {name.split(':', 1)[1]} is already running "
                                  f"(advisory lock {lock_key(name)})")
            taken.append(name)
        built = [_building_version(conn, p, app_role, resume) for p in chosen]
        by_name = {p.name: p for p in chosen}
        version_of = {v.name: v.version for v in built}

        def lock_targets(c: Connection, some: Sequence[Projection] = chosen) -> list[Target]:
            return [lock_version_target(c, p, version_of[p.name]) for p in some]

        def report(applied: Applied) -> None:
            if progress is not None:
                progress("rebuild", applied.batch.last, head)

        head = log_head(conn)
        events = _catch_up(conn, conninfo, lock_targets, chosen, batch_size, fault, report)
        if progress is not None:
            progress("indexes", head, head)
        for version in built:
            with conn.transaction():
                add_indexes(conn, by_name[version.name], version.schema)
                analyze(conn, by_name[version.name], version.schema)
        events += _catch_up(conn, conninfo, lock_targets, chosen, batch_size, fault, report)
        with conn.transaction():
            olds = _switch(conn, chosen, built, app_role, batch_size, fault, shards)
            reached = {t.projection.name: t.position for t in lock_targets(conn)}
        if not keep_old:
            for old in olds.values():
                with conn.transaction():
                    drop_version(conn, old)
        return [Rebuilt(v.name, olds[v.name].version if v.name in olds else None, v.version,
                        reached[v.name], events) for v in built]
    finally:
        if not conn.closed and not conn.broken:
            for name in taken:
                unlock(conn, name)


def _catch_up(conn: Connection, conninfo: str | None, lock_targets: LockTargets,
              projections: Sequence[Projection], batch_size: int, fault: Fault | None,
              report: Callable[[Applied], None]) -> int:
    total = 0
    if conninfo is not None:
        total += run_pipelined(conn, conninfo, lock_targets, projections, batch_size,
                               fault=fault, on_batch=report)
    while True:  # the rest (or all, without a second connection), batch by batch
        outcome, _ = apply_locked(conn, lambda c: lock_targets(c, projections), batch_size,
                                  fault=fault)
        batch = outcome.batch
        total += outcome.read
        if outcome.read:
            report(Applied(batch, (), 0.0, outcome.read, outcome.quarantined))
        if outcome.read < batch_size:
            return total


def _switch(conn: Connection, projections: Sequence[Projection], built: Sequence[Version],
            app_role: str, batch_size: int, fault: Fault | None,
            shards: int | None = None) -> dict[str, Version]:
    """Inside a transaction: make each new version active at (at least) its old version's
    position. Returns the old versions."""
    names = sorted(p.name for p in projections)
    rows = conn.execute("SELECT name, active_version FROM public.danvan_projections "
                        "WHERE name = ANY(%s) ORDER BY name FOR UPDATE", (names,)).fetchall()
    active = dict(rows)
    olds: dict[str, Version] = {}
    for projection, new in zip(projections, built, strict=True):
        if projection.name in active:
            old = next(v for v in versions(conn, projection.name)
                       if v.version == active[projection.name])
            olds[projection.name] = old
            _, reached = position_range(conn, old.name, old.version)
            while True:  # the old position cannot move while we hold the pointer row
                target = lock_version_target(conn, projection, new.version)
                if target.position >= reached:
                    break
                apply_locked(conn, _version_locker(projection, new.version), batch_size,
                             upto=reached, fault=fault)
        activate(conn, projection, new, app_role)
        count = shards or (olds[projection.name].shards if projection.name in olds else 1)
        if count > 1:
            target = lock_version_target(conn, projection, new.version)
            set_layout(conn, projection.name, new.version, count, target.position)
        log.info("%s: readers switched to v%d", projection.name, new.version)
    return olds


def _version_locker(projection: Projection, version: int
                    ) -> Callable[[Connection], list[Target]]:
    return lambda conn: [lock_version_target(conn, projection, version)]


def rebuild_all(conninfo: str, projections: list[Projection], *, app_role: str,
                batch_size: int = 20_000, keep_old: bool = False,
                progress: Progress | None = None, shards: int | None = None
                ) -> list[Rebuilt]:
    """Rebuild ``projections`` together (one pass over the log) and switch readers (to
    versions kept in ``shards`` tenant shards, when given)."""
    with psycopg.connect(conninfo, autocommit=True, application_name="danvan-rebuild") as conn:
        conn.execute("SET synchronous_commit = off")
        return rebuild(conn, projections, app_role=app_role, conninfo=conninfo,
                       batch_size=batch_size, keep_old=keep_old, progress=progress,
                       shards=shards)


def rebuild_stale(conninfo: str, projections: Sequence[Projection], *, app_role: str,
                  batch_size: int = 20_000, wait: float = 1.0) -> list[Rebuilt]:
    """What a projector does before it follows the log after an upgrade: rebuild, blue/green,
    those of ``projections`` whose tables were built from other DDL than the code's, so that
    new code never writes into old tables. A rebuild of them by another process is waited
    for, then looked at again."""
    while True:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            ensure_read_models(conn, app_role)
            names = set(stale(conn, projections))
        todo = [p for p in projections if p.name in names]
        if not todo:
            return []
        log.warning("read models built from older code: rebuilding %s",
                    ", ".join(p.name for p in todo))
        try:
            return rebuild_all(conninfo, todo, app_role=app_role, batch_size=batch_size)
        except RebuildBusy:
            time.sleep(wait)
