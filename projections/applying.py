"""One batch, exactly once: read the next events, apply them to every projection, advance each
projection's position, all in one transaction.

The projection pointer rows are locked first (``FOR UPDATE``): a rebuild's switch takes the
same lock, so a batch is applied either wholly to the old version or wholly to the new one.
Each position is advanced with a compare-and-set on the position read at the start, so even a
runner that wrongly believed itself alone could not apply a batch twice.

A batch that fails in a way its events may have caused is rolled back and applied again with
its poison events isolated and quarantined per projection (``quarantine``); the fast path
pays nothing for it.

A tenant shard (``sharding``) reads the same batches, applies only its tenants' events and
advances its own position; it locks the pointer rows ``FOR SHARE``, so the shards of one
projection apply side by side while a switch (``FOR UPDATE``) still waits for them all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from danvan.projections import province_changes
from danvan.projections.base import Connection, Cursor, Projection
from danvan.projections.events import Batch, fetch_batch
from danvan.projections.quarantine import Poison, ProjectionFailed, event_fault, isolate
from danvan.projections.sharding import (
    Shard,
    advance_shard,
    layout_count,
    mismatch,
    route,
)

log = logging.getLogger(__name__)

Fault = Callable[[Batch], None]
"""Called inside the transaction after the batch is applied, before positions advance
(tests raise from it to simulate a crash at that point)."""


class PositionConflict(RuntimeError):
    """A projection's position moved under us: another runner is applying too."""


@dataclass(frozen=True)
class Target:
    """Where one projection's batch goes: the version's schema and its tracked position (the
    shard's, for a tenant shard)."""

    projection: Projection
    version: int
    schema: str
    position: int
    shard: Shard | None = None


@dataclass(frozen=True)
class Applied:
    batch: Batch
    """The range applied (``after``, ``last``); its events may have been let go."""
    targets: tuple[Target, ...]
    committed_at: float
    """``time.time()`` right after the commit."""
    count: int
    """Events read (applied, or quarantined for some projection)."""
    quarantined: tuple[Poison, ...] = ()


def lock_active_targets(conn: Connection, projections: Sequence[Projection],
                        shard: Shard | None = None) -> list[Target]:
    """The active version of each projection, its pointer row locked until the transaction
    ends (shared by the tenant shards, so they apply side by side; exclusive for one runner,
    so that concurrent batches wait rather than conflict). Two statements on purpose: the
    lock waits out a switch, then the second read (a new snapshot) sees the version the
    switch made active. A version kept in another layout than ``shard``'s raises
    ``ShardingError``."""
    by_name = {p.name: p for p in projections}
    names = sorted(by_name)
    if not names:
        return []
    # (a parameter per name and a VALUES list below, not arrays: a generic plan then knows
    # as many rows as a custom one, so these prepared statements are not planned every batch)
    locked = conn.execute(
        "SELECT name, active_version FROM public.danvan_projections "
        f"WHERE name IN ({', '.join(['%s'] * len(names))}) "
        f"ORDER BY name FOR {'UPDATE' if shard is None else 'SHARE'}", names).fetchall()
    if len(locked) != len(names):
        missing = sorted(set(names) - {row[0] for row in locked})
        raise LookupError(f"no read-model version for {', '.join(missing)}: "
                          "run ensure_read_models (danvan migrate) first")
    rows = conn.execute(
        "SELECT v.name, v.version, v.schema_name, coalesce(s.position, v.position), v.shards, "
        "s.shard IS NOT NULL FROM public.danvan_projection_versions v "
        "LEFT JOIN public.danvan_projection_shards s ON s.name = v.name "
        "AND s.version = v.version AND s.shard = %s AND s.shards = %s "
        "WHERE (v.name, v.version) IN (VALUES "
        f"{', '.join(['(%s, %s::int)'] * len(locked))})",
        (shard.index if shard else -1, layout_count(shard),
         *(value for row in locked for value in row))).fetchall()
    targets = []
    for name, version, schema, position, kept_in, found in sorted(rows):
        if kept_in != layout_count(shard) or (shard is not None and not found):
            raise mismatch(name, version, kept_in, shard)
        targets.append(Target(by_name[name], version, schema, position, shard))
    return targets


def lock_version_target(conn: Connection, projection: Projection, version: int) -> Target:
    """A version being rebuilt: its own row, locked for this transaction."""
    row = conn.execute(
        "SELECT schema_name, position FROM public.danvan_projection_versions "
        "WHERE name = %s AND version = %s FOR UPDATE", (projection.name, version)).fetchone()
    if row is None:
        raise LookupError(f"no version {version} of projection {projection.name}")
    return Target(projection, version, row[0], row[1])


@dataclass(frozen=True)
class Outcome:
    batch: Batch
    """The range read, with the events applied (a tenant shard's only)."""
    quarantined: tuple[Poison, ...] = ()
    read: int = 0
    """Events read from the log (a batch shorter than the limit reached the head)."""


def apply_to(conn: Connection, targets: Sequence[Target], limit: int, *,
             upto: int | None = None, fault: Fault | None = None,
             isolating: bool = False, announce: str | None = None) -> Outcome:
    """Inside the caller's transaction: fetch up to ``limit`` events after the lowest position
    (not beyond ``upto``), apply them to each target from its own position, advance them.

    A projection failing in a way its events may have caused raises ``ProjectionFailed``
    (the caller rolls back and calls again ``isolating``: then the failing events are
    quarantined and the rest applied)."""
    after = min(t.position for t in targets)
    batch = fetch_batch(conn, after, limit)
    if upto is not None and batch.last > upto:
        kept = [e for e in batch.events if e.position <= upto]
        batch = Batch(after, upto, kept)
    read = len(batch)
    if not read:
        return Outcome(batch)
    batch = route(batch, targets[0].shard)
    batch.sort_out(s for t in targets for s in t.projection.topic_sets())
    quarantined: list[Poison] = []
    counts = []
    with conn.cursor() as cur:
        for target in targets:
            part = batch.since(target.position)
            counts.append(len(part))
            if not part.events:
                continue
            if isolating:
                poisons = isolate(conn, cur, target, part)
                counts[-1] -= len(poisons)
                quarantined += poisons
                continue
            try:
                target.projection.apply(cur, target.schema, part)
            except Exception as exc:
                if event_fault(exc):
                    raise ProjectionFailed(target.projection.name, exc) from exc
                raise
        if fault is not None:
            fault(batch)
        advance(cur, targets, batch.last, counts, caught_up=read < limit)
        province_changes.record(cur, batch)
        if announce is not None:  # delivered at commit
            cur.execute("SELECT pg_notify(%s, %s)", (announce, str(batch.last)))
    return Outcome(batch, tuple(quarantined), read)


def apply_locked(conn: Connection, lock_targets: Callable[[Connection], list[Target]],
                 limit: int, *, upto: int | None = None, fault: Fault | None = None,
                 isolating: bool = False, announce: str | None = None
                 ) -> tuple[Outcome, list[Target]]:
    """One transaction (a savepoint inside the caller's): lock the targets and apply the next
    batch; if a projection fails on its events, roll back and apply it again isolating them
    (``isolating`` skips the first try, when the batch is already known to fail)."""
    if not isolating:
        try:
            with conn.transaction():
                targets = lock_targets(conn)
                return apply_to(conn, targets, limit, upto=upto, fault=fault,
                                announce=announce), targets
        except ProjectionFailed as failed:
            log.warning("%s; isolating the batch's poison events", failed)
    with conn.transaction():
        targets = lock_targets(conn)
        return apply_to(conn, targets, limit, upto=upto, fault=fault, isolating=True,
                        announce=announce), targets


def advance(cur: Cursor, targets: Sequence[Target], last: int, counts: Sequence[int], *,
            caught_up: bool) -> None:
    """Move each target's position to ``last`` (compare-and-set), counting its events. The
    versions (not kept in shards) in one statement: a live batch of a few events pays for
    one round trip, not one per projection."""
    moved: list[tuple[Target, int]] = []
    for target, count in zip(targets, counts, strict=True):
        if target.position >= last:
            continue
        if target.shard is not None:
            if not advance_shard(cur, target.projection.name, target.version, target.shard,
                                 target.position, last, count, caught_up):
                raise PositionConflict(
                    f"{target.projection.name} v{target.version} shard {target.shard.label} "
                    f"is no longer at {target.position}: another runner applied it")
            continue
        moved.append((target, count))
    if not moved:
        return
    # In name order (as ``lock_active_targets`` locks them), so two runners cannot deadlock.
    moved.sort(key=lambda m: (m[0].projection.name, m[0].version))
    # A VALUES list, not arrays: its rows are as many in the generic plan as in a custom one,
    # so the prepared statement keeps its generic plan instead of planning every batch.
    cur.execute(
        "UPDATE public.danvan_projection_versions v SET position = %s, "
        "events_applied = v.events_applied + m.count, advanced_at = now(), "
        "caught_up_at = CASE WHEN %s THEN now() ELSE v.caught_up_at END, "
        "halted_at = NULL, halt_reason = NULL FROM (VALUES "
        + ", ".join(["(%s, %s::int, %s::bigint, %s::bigint)"] * len(moved))
        + ") AS m(name, version, position, count) "
        "WHERE v.name = m.name AND v.version = m.version AND v.position = m.position "
        "RETURNING v.name, v.version",
        (last, caught_up, *(value for target, count in moved for value in (
            target.projection.name, target.version, target.position, count))))
    done = set(cur.fetchall())
    for target, _ in moved:
        if (target.projection.name, target.version) not in done:
            raise PositionConflict(
                f"{target.projection.name} v{target.version} is no longer at "
                f"{target.position}: another runner applied it")


def apply_next(conn: Connection, projections: Sequence[Projection], limit: int, *,
               fault: Fault | None = None, shard: Shard | None = None,
               announce: str | None = None) -> Applied:
    """One transaction: the next batch applied to the active version of every projection
    (the events of ``shard``'s tenants only, when given); with ``announce``, a NOTIFY on that
    channel with the batch's last position, delivered at commit."""
    outcome, targets = apply_locked(conn, lambda c: lock_active_targets(c, projections, shard),
                                    limit, fault=fault, announce=announce)
    return Applied(outcome.batch, tuple(targets), time.time(), outcome.read,
                   outcome.quarantined)
