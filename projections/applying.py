"""One batch, exactly once: read the next events, apply them to every projection, advance each
projection's position, all in one transaction.

The projection pointer rows are locked first (``FOR UPDATE``): a rebuild's switch takes the
same lock, so a batch is applied either wholly to the old version or wholly to the new one.
Each position is advanced with a compare-and-set on the position read at the start, so even a
runner that wrongly believed itself alone could not apply a batch twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from danvan.projections.base import Connection, Cursor, Projection
from danvan.projections.events import Batch, fetch_batch

Fault = Callable[[Batch], None]
"""Called inside the transaction after the batch is applied, before positions advance
(tests raise from it to simulate a crash at that point)."""


class PositionConflict(RuntimeError):
    """A projection's position moved under us: another runner is applying too."""


@dataclass(frozen=True)
class Target:
    """Where one projection's batch goes: the version's schema and its tracked position."""

    projection: Projection
    version: int
    schema: str
    position: int


@dataclass(frozen=True)
class Applied:
    batch: Batch
    """The range applied (``after``, ``last``); its events may have been let go."""
    targets: tuple[Target, ...]
    committed_at: float
    """``time.time()`` right after the commit."""
    count: int
    """Events applied."""


def lock_active_targets(conn: Connection, projections: Sequence[Projection]) -> list[Target]:
    """The active version of each projection, its pointer row locked until the transaction
    ends. Two statements on purpose: the lock waits out a switch, then the second read (a new
    snapshot) sees the version the switch made active."""
    by_name = {p.name: p for p in projections}
    names = sorted(by_name)
    locked = conn.execute(
        "SELECT name, active_version FROM public.danvan_projections WHERE name = ANY(%s) "
        "ORDER BY name FOR UPDATE", (names,)).fetchall()
    if len(locked) != len(names):
        missing = sorted(set(names) - {row[0] for row in locked})
        raise LookupError(f"no read-model version for {', '.join(missing)}: "
                          "run ensure_read_models (danvan migrate) first")
    rows = conn.execute(
        "SELECT name, version, schema_name, position FROM public.danvan_projection_versions "
        "WHERE (name, version) IN (SELECT * FROM unnest(%s::text[], %s::int[]))",
        ([r[0] for r in locked], [r[1] for r in locked])).fetchall()
    return [Target(by_name[name], version, schema, position)
            for name, version, schema, position in sorted(rows)]


def lock_version_target(conn: Connection, projection: Projection, version: int) -> Target:
    """A version being rebuilt: its own row, locked for this transaction."""
    row = conn.execute(
        "SELECT schema_name, position FROM public.danvan_projection_versions "
        "WHERE name = %s AND version = %s FOR UPDATE", (projection.name, version)).fetchone()
    if row is None:
        raise LookupError(f"no version {version} of projection {projection.name}")
    return Target(projection, version, row[0], row[1])


def apply_to(conn: Connection, targets: Sequence[Target], limit: int, *,
             upto: int | None = None, fault: Fault | None = None) -> Batch:
    """Inside the caller's transaction: fetch up to ``limit`` events after the lowest position
    (not beyond ``upto``), apply them to each target from its own position, advance them."""
    after = min(t.position for t in targets)
    batch = fetch_batch(conn, after, limit)
    if upto is not None and batch.last > upto:
        kept = [e for e in batch.events if e.position <= upto]
        batch = Batch(after, upto, kept)
    if not batch.events:
        return batch
    with conn.cursor() as cur:
        for target in targets:
            part = batch.since(target.position)
            if part.events:
                target.projection.apply(cur, target.schema, part)
        if fault is not None:
            fault(batch)
        advance(cur, targets, batch.last, [len(batch.since(t.position)) for t in targets],
                caught_up=len(batch) < limit)
    return batch


def advance(cur: Cursor, targets: Sequence[Target], last: int, counts: Sequence[int], *,
            caught_up: bool) -> None:
    """Move each target's position to ``last`` (compare-and-set), counting its events."""
    for target, count in zip(targets, counts, strict=True):
        if target.position >= last:
            continue
        cur.execute(
            "UPDATE public.danvan_projection_versions SET position = %s, "
            "events_applied = events_applied + %s, advanced_at = now(), "
            "caught_up_at = CASE WHEN %s THEN now() ELSE caught_up_at END "
            "WHERE name = %s AND version = %s AND position = %s",
            (last, count, caught_up, target.projection.name, target.version,
             target.position))
        if cur.rowcount != 1:
            raise PositionConflict(
                f"{target.projection.name} v{target.version} is no longer at "
                f"{target.position}: another runner applied it")


def apply_next(conn: Connection, projections: Sequence[Projection], limit: int, *,
               fault: Fault | None = None) -> Applied:
    """One transaction: the next batch applied to the active version of every projection."""
    with conn.transaction():
        targets = lock_active_targets(conn, projections)
        batch = apply_to(conn, targets, limit, fault=fault)
    return Applied(batch, tuple(targets), time.time(), len(batch))
