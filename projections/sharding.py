"""Projector shards by tenant hash: ``danvan projector --shard K/N`` applies the events of the
tenants whose stable hash mod N is K (a province scope, ``province:NN``, is a tenant too).

Each shard reads the whole log and keeps its own position per (projection version, shard)
in ``danvan_projection_shards``, under its own advisory lock per (projection, shard); so N
runners, one per shard, together write the read models one runner writes, and a standby
with the same ``K/N`` takes over when one dies.

**The layout belongs to the version.** ``danvan_projection_versions.shards`` says in how
many shards a version is kept (1: unsharded, its position in the version row). A runner
whose ``--shard`` does not match the active version's layout refuses it, by name, before
it applies anything and in every batch transaction; so a sharded and an unsharded runner
never apply one projection together. The layout is set by ``danvan rebuild --shards N``
(the new version starts with every shard at its switch position), or in place by
``danvan projector reshard --shards N`` when every shard is at one position (always so
for an unsharded version: each shard then starts where the one runner stopped).

**Which tables may be sharded** is declared per table (``Projection.sharding``):

* ``TENANT``: a row belongs to one tenant and only that tenant's events write it.
* ``ADDITIVE``: rows shared by tenants (a province's or the country's roll-ups), written
  only by commutative upserts (``c = c + excluded.c``, rows deleted only when they reach
  zero), in key order (so two shards' transactions lock shared rows in one order and
  never deadlock), with deltas worked out from the batch and ``TENANT`` rows alone (never
  from the shared row's current value, which another shard may be changing). Any order of
  the shards' batches then gives the same rows.
* ``ONE_WRITER``: rows that need every tenant's events in one place (a value recomputed
  from other rows, a chain across tenants). A projection with such a table is refused
  tenant shards (shard it by projection, ``--only``, instead).

A table that declares nothing counts as ``ONE_WRITER``: forgetting the declaration refuses
sharding, it never corrupts a roll-up.

The version row's ``position`` of a sharded version is the lowest of its shards' positions
(kept by each shard's batch transaction, under the version row's lock): what every shard
has reached, so a reader waiting for a position (``Danvan-Min-Position``) waits for the
slowest shard, and a rebuild's switch, the lag and ``danvan projector status`` read it as
they always did; ``read_models_stamp`` lists every shard's position, so any shard's batch
moves the stamp the caches key on.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from danvan.projections.base import Connection, Cursor, Projection, TableSharding
from danvan.projections.events import Batch, Undecodable

_SPEC = re.compile(r"^\s*([0-9]{1,4})\s*/\s*([0-9]{1,4})\s*$")
MAX_SHARDS = 1024
__all__ = ["Shard", "ShardingError", "TableSharding", "reshard", "route", "tenant_shard"]


class ShardingError(RuntimeError):
    """A runner's ``--shard`` does not fit a projection (its layout, or its tables)."""


def tenant_shard(tenant_id: str, count: int) -> int:
    """The shard of ``tenant_id`` among ``count``: CRC-32 of its UTF-8 bytes, mod ``count``
    (stable across processes and releases, unlike Python's ``hash``)."""
    return zlib.crc32(tenant_id.encode()) % count


@dataclass(frozen=True, order=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if not (1 <= self.count <= MAX_SHARDS and 0 <= self.index < self.count):
            raise ValueError(f"a shard is K/N with 0 <= K < N <= {MAX_SHARDS}, "
                             f"not {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        found = _SPEC.match(text)
        if not found:
            raise ValueError(f"a shard is K/N (e.g. 0/3), not {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, tenant_id: str) -> bool:
        return tenant_shard(tenant_id, self.count) == self.index

    def route(self, batch: Batch) -> Batch:
        """The events of ``batch`` this shard applies, over the same range. An event whose
        state cannot be decoded has no tenant to route by: shard 0 takes it (and quarantines
        it for the projections that want it, as one runner would)."""
        mine = [e for e in batch.events
                if (self.index == 0 if isinstance(e, Undecodable) else self.owns(e.tenant_id))]
        return Batch(batch.after, batch.last, mine)


def route(batch: Batch, shard: Shard | None) -> Batch:
    return batch if shard is None else shard.route(batch)


def lock_name(projection: str, shard: Shard | None) -> str:
    """The advisory lock's name of a projection (or of one of its shards)."""
    return projection if shard is None else f"{projection}#{shard.label}"


def layout_count(shard: Shard | None) -> int:
    return 1 if shard is None else shard.count


def unshardable_tables(projection: Projection) -> list[str]:
    """Tables of ``projection`` that need one writer (or declare nothing)."""
    declared = projection.sharding
    return [t for t in projection.tables
            if declared.get(t, TableSharding.ONE_WRITER) is TableSharding.ONE_WRITER]


def check_shardable(projections: Sequence[Projection]) -> None:
    for p in projections:
        tables = unshardable_tables(p)
        if tables:
            raise ShardingError(
                f"{p.name} cannot be sharded by tenant: its tables {', '.join(tables)} need "
                "one writer (declared ONE_WRITER, or not declared); shard it by projection "
                "(--only) instead")


def mismatch(name: str, version: int, kept_in: int, shard: Shard | None) -> ShardingError:
    if kept_in == 1:
        return ShardingError(
            f"{name} v{version} is kept unsharded, so --shard {shard.label if shard else ''} "
            "cannot apply it; set its layout first (with its projectors stopped): "
            f"`danvan projector reshard --shards {layout_count(shard)} {name}` or "
            f"`danvan rebuild --shards {layout_count(shard)} {name}`")
    wanted = f"--shard K/{kept_in}" if shard is None else f"--shard K/{kept_in}, not " \
        f"{shard.label}"
    return ShardingError(
        f"{name} v{version} is kept in {kept_in} tenant shards: run its projectors with "
        f"{wanted} (or change the layout with `danvan projector reshard` or a rebuild)")


# --- positions ---------------------------------------------------------------------------

def advance_shard(cur: Cursor, name: str, version: int, shard: Shard, position: int,
                  last: int, count: int, caught_up: bool) -> bool:
    """Compare-and-set the shard's position from ``position`` to ``last``, then bring the
    version row's position to the lowest of its shards' (under the version row's lock, taken
    by a statement of its own: the next one's snapshot then sees every shard committed
    before us, so the last shard to commit writes the true minimum)."""
    cur.execute(
        "UPDATE public.danvan_projection_shards SET position = %s, "
        "events_applied = events_applied + %s, advanced_at = now(), "
        "caught_up_at = CASE WHEN %s THEN now() ELSE caught_up_at END, "
        "halted_at = NULL, halt_reason = NULL "
        "WHERE name = %s AND version = %s AND shard = %s AND shards = %s AND position = %s",
        (last, count, caught_up, name, version, shard.index, shard.count, position))
    if cur.rowcount != 1:
        return False
    # NO KEY UPDATE: still one shard at a time, but not waiting for another shard's batch
    # that quarantined an event (its row's key-share lock on this one): that wait, with the
    # shards locking their versions in order, was a deadlock.
    cur.execute("SELECT 1 FROM public.danvan_projection_versions WHERE name = %s "
                "AND version = %s FOR NO KEY UPDATE", (name, version))
    cur.execute(
        "UPDATE public.danvan_projection_versions v SET position = s.low, "
        "events_applied = v.events_applied + %s, advanced_at = now(), "
        "caught_up_at = CASE WHEN %s THEN now() ELSE v.caught_up_at END "
        "FROM (SELECT min(position) AS low FROM public.danvan_projection_shards "
        "      WHERE name = %s AND version = %s) s WHERE v.name = %s AND v.version = %s",
        (count, caught_up, name, version, name, version))
    return True


def position_range(conn: Connection, name: str, version: int) -> tuple[int, int]:
    """The lowest and highest position of a version's shards (its own, unsharded)."""
    row = conn.execute(
        "SELECT coalesce(min(s.position), v.position), coalesce(max(s.position), v.position) "
        "FROM public.danvan_projection_versions v LEFT JOIN public.danvan_projection_shards s "
        "ON s.name = v.name AND s.version = v.version "
        "WHERE v.name = %s AND v.version = %s GROUP BY v.position", (name, version)).fetchone()
    if row is None:
        raise LookupError(f"no version {version} of projection {name}")
    return int(row[0]), int(row[1])


def set_layout(conn: Connection, name: str, version: int, count: int, position: int) -> None:
    """Inside the caller's transaction (pointer row locked): keep ``version`` in ``count``
    shards, every one at ``position`` (1: unsharded, at ``position``)."""
    conn.execute("DELETE FROM public.danvan_projection_shards WHERE name = %s AND version = %s",
                 (name, version))
    if count > 1:
        conn.execute(
            "INSERT INTO public.danvan_projection_shards (name, version, shard, shards, "
            "position) SELECT %s, %s, k, %s, %s FROM generate_series(0, %s - 1) AS k",
            (name, version, count, position, count))
    conn.execute("UPDATE public.danvan_projection_versions SET shards = %s, position = %s "
                 "WHERE name = %s AND version = %s", (count, position, name, version))


def reshard(conn: Connection, projections: Sequence[Projection], count: int) -> dict[str, int]:
    """Keep the active versions of ``projections`` in ``count`` tenant shards (1: unsharded),
    in place, in one transaction. Refused while any runner holds one of them, or when a
    version's shards are not all at one position (they would apply some events twice or
    not at all: rebuild with ``--shards`` instead). Returns each projection's position."""
    from danvan.projections.runner import lock_holders

    if count > 1:
        check_shardable(projections)
    names = sorted(p.name for p in projections)
    done: dict[str, int] = {}
    with conn.transaction():
        rows = conn.execute(
            "SELECT p.name, v.version, v.shards FROM public.danvan_projections p "
            "JOIN public.danvan_projection_versions v ON v.name = p.name "
            "AND v.version = p.active_version WHERE p.name = ANY(%s) ORDER BY p.name "
            "FOR UPDATE OF p", (names,)).fetchall()
        missing = set(names) - {r[0] for r in rows}
        if missing:
            raise LookupError(f"no read-model version for {', '.join(sorted(missing))}")
        for name, version, kept_in in rows:
            locks = [lock_name(name, None)]
            if kept_in > 1:
                locks += [lock_name(name, Shard(k, kept_in)) for k in range(kept_in)]
            held = lock_holders(conn, locks)
            if held:
                pids = ", ".join(str(pid) for pid in sorted(set(held.values())))
                raise ShardingError(f"{name} is being applied (backend pid {pids}): stop its "
                                    "projectors before changing its layout")
            low, high = position_range(conn, name, version)
            if low != high:
                raise ShardingError(
                    f"the shards of {name} v{version} are at different positions ({low:,} to "
                    f"{high:,}): rebuild it with --shards {count} instead")
            set_layout(conn, name, version, count, low)
            done[name] = low
    return done
