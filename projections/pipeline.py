"""Catching up with two cores: the next batches are prepared (fetched, decoded, folded, turned
into rows) on a thread of their own while the current one is written.

The producer gets the log's rows read a batch ahead (``fetch_ahead``), reads the read models
through its own connection and keeps, in a memo, what it has prepared
(the model rows), so preparing batch N+1 never waits for batch N's commit. The consumer
(the runner) writes each prepared batch in its own transaction after checking that every
projection is still at the version and position the batch was prepared for; if not (a
rebuild switched a projection, a batch failed), the pipeline and its memo are thrown away and
the runner carries on from what is committed. Exactly-once is still the consumer's
transaction: prepared writes plus positions, with the positions compared-and-set.

The projections written apart (``Projection.written_apart``) are written by a second writer
(``side_writer``), on a connection of its own, in a transaction of their own (their positions
with them) beside the consumer's: both finish a batch before the next one starts. A crash
between the two commits leaves those projections a batch ahead of the others, which their
own positions say, as for runners sharded by projection.

A batch that a projection fails to prepare or write because of its events is applied again
by the consumer, alone, with its poison events isolated and quarantined (``quarantine``);
then a fresh pipeline goes on from there.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import psycopg

from danvan.projections import province_changes
from danvan.projections.applying import Applied, Fault, Target, advance, apply_locked
from danvan.projections.base import Connection, Projection, Write
from danvan.projections.events import Batch, batch_of_rows
from danvan.projections.fetch_ahead import FetchAhead
from danvan.projections.gil_turns import short_gil_turns
from danvan.projections.producer import Producer
from danvan.projections.quarantine import ProjectionFailed, event_fault
from danvan.projections.sharding import route
from danvan.projections.side_writer import SideWriter

log = logging.getLogger(__name__)


class PipelineMismatch(RuntimeError):
    """The projections are not where the prepared batch expects them."""


@dataclass(frozen=True)
class Prepared:
    """A batch ready to write. It keeps no decoded event (``batch`` is the range alone):
    the writes carry rows already turned into text."""

    batch: Batch
    count: int
    """Events read from the log (a tenant shard applies only its tenants' among them)."""
    targets: tuple[Target, ...]
    counts: tuple[int, ...]
    """Events of the batch each target had not applied yet."""
    writes: tuple[Write | None, ...]
    touched: province_changes.Touched
    """The provinces' side of the dropped events (``province_changes.record``)."""

    def only(self, keep: Callable[[Target], bool]) -> Prepared:
        """The same batch for the targets ``keep`` chooses."""
        chosen = [i for i, t in enumerate(self.targets) if keep(t)]
        return replace(self, targets=tuple(self.targets[i] for i in chosen),
                       counts=tuple(self.counts[i] for i in chosen),
                       writes=tuple(self.writes[i] for i in chosen))


def target_key(target: Target) -> tuple[str, int, str, int]:
    return (target.projection.name, target.version, target.schema, target.position)


_END = object()


class Pipeline(Producer):
    def __init__(self, conninfo: str, targets: Sequence[Target], limit: int, *,
                 depth: int = 1, name: str = "danvan-prepare") -> None:
        super().__init__(name, depth=depth)
        self.conninfo = conninfo
        self.targets = tuple(targets)
        self.limit = limit
        self.memo: dict[str, Any] = {}

    def produce(self) -> None:
        targets = list(self.targets)
        with psycopg.connect(self.conninfo, autocommit=True,
                             application_name=self.name) as conn, \
                _fetching(self.conninfo, min(t.position for t in targets),
                          self.limit) as log:
            while not self.stopping:
                after, rows = log.next()
                # (each range starts at the previous one's last position, as do the
                # targets still behind it)
                assert after == min(t.position for t in targets)
                batch = batch_of_rows(after, rows)
                del rows
                count = len(batch)
                if not count:
                    break
                batch = route(batch, targets[0].shard)
                batch.sort_out(s for t in targets for s in t.projection.topic_sets())
                writes: list[Write | None] = []
                counts: list[int] = []
                with conn.cursor() as cur:
                    for t in targets:
                        part = batch.since(t.position)
                        counts.append(len(part))
                        writes.append(_prepare(t, cur, part, self.memo)
                                      if part.events else None)
                prepared = Prepared(Batch(batch.after, batch.last, ()), count,
                                    tuple(targets), tuple(counts), tuple(writes),
                                    province_changes.touched(batch))
                del batch  # the decoded events: only the prepared rows go on
                if not self.put(prepared):
                    return
                if count < self.limit:
                    break
                targets = [replace(t, position=max(t.position, prepared.batch.last))
                           for t in targets]
        self.put(_END)

    def next(self) -> Prepared | None:
        """The next prepared batch, or None when the producer has reached the log head."""
        item = self.take()
        if item is _END:
            return None
        assert isinstance(item, Prepared)
        return item

    def stop(self) -> None:
        super().stop()
        self.memo.clear()


@contextlib.contextmanager
def _fetching(conninfo: str, after: int, limit: int) -> Iterator[FetchAhead]:
    fetch = FetchAhead(conninfo, after, limit).start()
    try:
        yield fetch
    finally:
        fetch.stop()


def _prepare(target: Target, cur: Any, part: Batch, memo: dict[str, Any]) -> Write:
    try:
        return target.projection.prepare(cur, target.schema, part, memo)
    except Exception as exc:
        if event_fault(exc):
            raise ProjectionFailed(target.projection.name, exc) from exc
        raise


def _write(target: Target, write: Write, cur: Any) -> None:
    try:
        write(cur)
    except Exception as exc:
        if event_fault(exc):
            raise ProjectionFailed(target.projection.name, exc) from exc
        raise


LockTargets = Callable[[Connection, Sequence[Projection]], list[Target]]
"""Locks the given projections' targets until the transaction ends and returns them."""


def run_pipelined(conn: Connection, conninfo: str, lock_targets: LockTargets,
                  projections: Sequence[Projection], limit: int, *,
                  fault: Fault | None = None,
                  on_batch: Callable[[Applied], None] | None = None) -> int:
    """Apply prepared batches to ``projections`` until the log head; each in one transaction
    (two, with a side writer) that first locks the targets (``lock_targets``) and checks
    they are where the batch expects. Returns the events read; stops early, quietly, if the
    targets moved."""
    def lock_all(c: Connection) -> list[Target]:
        return lock_targets(c, projections)

    total = 0
    with short_gil_turns():
        while True:
            try:
                return total + _run_pipeline(conn, conninfo, lock_targets, projections,
                                             limit, fault, on_batch)
            except _Poisoned as poisoned:
                total += poisoned.done
                log.warning("%s; applying that batch alone, isolating its poison events",
                            poisoned.failed)
            outcome, locked = apply_locked(conn, lock_all, limit, fault=fault,
                                           isolating=True)
            count = outcome.read
            total += count
            if count and on_batch is not None:
                on_batch(Applied(outcome.batch, tuple(locked), time.time(), count,
                                 outcome.quarantined))
            if count < limit:
                return total


class _Poisoned(Exception):
    def __init__(self, done: int, failed: ProjectionFailed) -> None:
        self.done = done
        self.failed = failed


def _apart(target: Target) -> bool:
    return target.projection.written_apart


def _side_writer(conninfo: str, targets: Sequence[Target]) -> SideWriter | None:
    """A second writer when some targets are written apart and some are not."""
    apart = sum(map(_apart, targets))
    return SideWriter(conninfo) if 0 < apart < len(targets) else None


def _run_pipeline(conn: Connection, conninfo: str, lock_targets: LockTargets,
                  projections: Sequence[Projection], limit: int, fault: Fault | None,
                  on_batch: Callable[[Applied], None] | None) -> int:
    with conn.transaction():
        targets = lock_targets(conn, projections)
    side = _side_writer(conninfo, targets)
    pipeline = Pipeline(conninfo, targets, limit).start()
    total = 0
    try:
        while (prepared := pipeline.next()) is not None:
            mine = prepared
            if side is not None:
                side.submit(partial(_write_prepared, lock_targets=lock_targets,
                                    prepared=prepared.only(_apart), limit=limit))
                mine = prepared.only(lambda t: not _apart(t))
            try:
                locked = _write_prepared(conn, lock_targets, mine, limit, fault=fault,
                                         provinces=True)
            finally:  # (the side's batch waited for even when ours failed)
                written_apart = side.result() if side is not None else []
            locked += written_apart
            total += prepared.count
            if on_batch is not None:
                order = {t.projection.name: i for i, t in enumerate(prepared.targets)}
                locked.sort(key=lambda t: order[t.projection.name])
                on_batch(Applied(prepared.batch, tuple(locked), time.time(), prepared.count))
    except PipelineMismatch:
        pass
    except ProjectionFailed as failed:
        raise _Poisoned(total, failed) from failed
    finally:
        pipeline.stop()
        if side is not None:
            side.close()
    return total


def _write_prepared(conn: Connection, lock_targets: LockTargets, prepared: Prepared,
                    limit: int, *, fault: Fault | None = None,
                    provinces: bool = False) -> list[Target]:
    """One transaction: lock the prepared batch's targets, check they are where it expects,
    write it and advance them (and count the provinces it touched, when ``provinces``)."""
    with conn.transaction():
        locked = lock_targets(conn, [t.projection for t in prepared.targets])
        if [target_key(t) for t in locked] != [target_key(t) for t in prepared.targets]:
            raise PipelineMismatch("projections moved under the pipeline")
        with conn.cursor() as cur:
            for target, write in zip(locked, prepared.writes, strict=True):
                if write is not None:
                    _write(target, write, cur)
            if fault is not None:
                fault(prepared.batch)
            advance(cur, locked, prepared.batch.last, prepared.counts,
                    caught_up=prepared.count < limit)
            if provinces:
                province_changes.record(cur, prepared.touched)
    return locked
