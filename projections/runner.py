"""The projection runner: catches up with the log in batches, then follows it live.

    runner = Runner(owner_params(settings).conninfo(), all_projections(), app_role=...)
    runner.run(stop_event)            # until stop_event is set (``danvan projector``)
    runner.catch_up()                 # until the log head, then return (tests, benchmarks)

One connection does everything: it holds a session advisory lock per projection (so one
runner applies a projection at a time; another waits and takes over when the holder's
connection goes away), LISTENs on ``danvan_events`` and runs the batch transactions. Losing
the connection therefore loses the locks and any open batch together; the runner reconnects
with backoff and, once it holds the locks again, resumes from the tracked positions.

Live: after a batch shorter than ``batch_size`` the runner waits for a NOTIFY (sent by every
insert) or ``poll_interval`` seconds, whichever comes first; after a NOTIFY it reads the next
batch, starting it no sooner than ``coalesce`` seconds after the previous one started, so
that a stream of small commits is applied in a bounded number of batches a second.

A tenant shard (``shard=Shard(K, N)``, ``danvan projector --shard K/N``) does the same for
the events of its tenants, under a lock and a position per (projection, shard); a runner
whose shard does not match the layout a projection's active version is kept in stops with
``ShardingError`` (``sharding``).

Failures are told apart (DESIGN §3). A lost connection: reconnect and resume. An event a
projection knows but cannot apply: quarantined for that projection, the rest applied
(``quarantine``). An event no decoder knows (``UnknownEvent``: the code is behind the log):
nothing of its batch is applied, the projections' versions record why they halted (shown by
``danvan projector status`` and ``/health/ready``) and ``run`` raises, naming the topic and
position; retrying could not help until an alias or newer code is deployed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import psycopg

from danvan.infra.event_store import EVENTS_TABLE
from danvan.projections.applying import (
    Applied,
    Fault,
    PositionConflict,
    apply_next,
    lock_active_targets,
)
from danvan.projections.base import Connection, Projection
from danvan.projections.event_types import UnknownEvent
from danvan.projections.events import log_head
from danvan.projections.pipeline import run_pipelined
from danvan.projections.schema import ensure_read_models
from danvan.projections.sharding import Shard, ShardingError, check_shardable, lock_name

log = logging.getLogger(__name__)

LOCK_CLASS = 0x64616E76  # "danv": first key of the two-key advisory locks of projections
CHANNEL = EVENTS_TABLE
APPLIED_CHANNEL = "danvan_applied"
"""After each committed batch the runner NOTIFYs this channel with the batch's last
position: the API's live subscriptions (``graphql/live.py``) read the changed rows then."""
DEFAULT_BATCH_SIZE = 5000
CATCH_UP_BATCH_SIZE = 20_000
"""Batches prepared ahead while far behind: bigger, to spread each transaction's fixed cost."""
DEFAULT_COALESCE = 0.02
"""Live, a batch starts at least this many seconds after the previous one started (the
commits meanwhile join it): the fixed costs of a batch are paid at most 50 times a second
under a stream of commits, for at most 20 ms more lag."""


def lock_key(name: str) -> int:
    """Second advisory lock key for a projection (or a rebuild ``name:version``)."""
    return zlib.crc32(name.encode()) - (1 << 31)


def try_lock(conn: Connection, name: str) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                       (LOCK_CLASS, lock_key(name))).fetchone()
    return bool(row and row[0])


def unlock(conn: Connection, name: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, lock_key(name)))


def lock_holders(conn: Connection, names: Sequence[str]) -> dict[str, int]:
    """Backend pid holding each projection's lock (absent when none does)."""
    keys = {lock_key(n): n for n in names}
    rows = conn.execute(
        "SELECT objid::int, pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid::bigint = %s AND objsubid = 2 AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())",
        (LOCK_CLASS & 0xFFFFFFFF,)).fetchall()
    held = {}
    for objid, pid in rows:
        name = keys.get(objid) or keys.get(objid - (1 << 32))
        if name is not None:
            held[name] = pid
    return held


@dataclass
class RunnerStats:
    batches: int = 0
    events: int = 0
    reconnects: int = 0
    position: int = 0
    started_at: float = field(default_factory=time.time)
    last_batch_at: float | None = None
    holding: bool = False
    quarantined: int = 0


class Runner:
    def __init__(self, conninfo: str, projections: Sequence[Projection], *, app_role: str,
                 batch_size: int = DEFAULT_BATCH_SIZE, poll_interval: float = 1.0,
                 lock_retry: float = 0.5, max_backoff: float = 5.0,
                 fault: Fault | None = None,
                 on_batch: Callable[[Applied], None] | None = None,
                 name: str = "danvan-projector", pipelined: bool = True,
                 catch_up_batch_size: int | None = None, shard: Shard | None = None,
                 coalesce: float = DEFAULT_COALESCE) -> None:
        if not projections:
            raise ValueError("a runner needs at least one projection")
        if shard is not None:
            check_shardable(projections)
        self.conninfo = conninfo
        self.projections = list(projections)
        self.names = sorted(p.name for p in self.projections)
        self.shard = shard
        self.lock_names = [lock_name(n, shard) for n in self.names]
        self.app_role = app_role
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.lock_retry = lock_retry
        self.max_backoff = max_backoff
        self.fault = fault
        self.on_batch = on_batch
        self.name = name
        self.pipelined = pipelined
        self.catch_up_batch_size = catch_up_batch_size or max(batch_size, CATCH_UP_BATCH_SIZE)
        self.coalesce = coalesce
        self.stats = RunnerStats()
        self._conn: Connection | None = None
        self._holding = False

    # --- connection and locks -------------------------------------------------------------

    def connect(self) -> Connection:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        self.close()
        conn = psycopg.connect(self.conninfo, autocommit=True, application_name=self.name)
        # Safe for exactly-once: a commit lost in a server crash loses the rows and the
        # position together, and the batch is simply applied again.
        conn.execute("SET synchronous_commit = off")
        self._conn = conn
        return conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        self._holding = self.stats.holding = False
        if conn is not None and not conn.closed:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def acquire(self, stop: threading.Event | None = None, *, wait: bool = True) -> bool:
        """Take every projection's lock (all or none, so two runners never deadlock).
        With ``wait``, retry until they are free or ``stop`` is set. Raises ``ShardingError``
        (holding nothing) when a projection is kept in another layout than this runner's."""
        while True:
            conn = self.connect()
            taken: list[str] = []
            for name in self.lock_names:
                if not try_lock(conn, name):
                    break
                taken.append(name)
            if len(taken) == len(self.lock_names):
                self._holding = self.stats.holding = True
                ensure_read_models(conn, self.app_role, self.projections)
                try:
                    with conn.transaction():
                        lock_active_targets(conn, self.projections, self.shard)
                except ShardingError:
                    self.close()
                    raise
                conn.execute(f"LISTEN {CHANNEL}")
                log.info("%s: applying %s%s", self.name, ", ".join(self.names),
                         f" (tenant shard {self.shard.label})" if self.shard else "")
                return True
            for name in taken:
                unlock(conn, name)
            if not wait or (stop is not None and stop.is_set()):
                return False
            log.debug("%s: standing by, another runner holds the projections", self.name)
            if stop is not None:
                stop.wait(self.lock_retry)
            else:
                time.sleep(self.lock_retry)

    def release(self) -> None:
        if self._conn is not None and self._holding:
            for name in self.lock_names:
                unlock(self._conn, name)
        self._holding = self.stats.holding = False

    # --- work -----------------------------------------------------------------------------

    def step(self) -> Applied:
        """Apply the next batch (needs the locks)."""
        if not self._holding:
            raise RuntimeError("step() without holding the projections' locks")
        assert self._conn is not None
        try:
            applied = apply_next(self._conn, self.projections, self.batch_size,
                                 fault=self.fault, shard=self.shard, announce=APPLIED_CHANNEL)
        except UnknownEvent as exc:
            self._halt(exc)
            raise
        self._record(applied, announced=True)
        return applied

    def _halt(self, exc: UnknownEvent) -> None:
        """Record on the active versions still before the event why they stop there."""
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return
        try:
            if self.shard is not None:
                conn.execute(
                    "UPDATE public.danvan_projection_shards s SET halted_at = now(), "
                    "halt_reason = %s FROM public.danvan_projections p WHERE p.name = s.name "
                    "AND p.active_version = s.version AND s.name = ANY(%s) AND s.shard = %s "
                    "AND s.shards = %s AND s.position < %s",
                    (str(exc), self.names, self.shard.index, self.shard.count, exc.position))
                return
            conn.execute(
                "UPDATE public.danvan_projection_versions v SET halted_at = now(), "
                "halt_reason = %s FROM public.danvan_projections p WHERE p.name = v.name "
                "AND p.active_version = v.version AND v.name = ANY(%s) AND v.position < %s",
                (str(exc), self.names, exc.position))
        except psycopg.Error as error:  # the reason is logged anyway
            log.warning("%s: could not record the halt: %s", self.name, error)

    def _record(self, applied: Applied, *, announced: bool = False) -> None:
        if applied.count:
            self.stats.batches += 1
            self.stats.events += applied.count
            self.stats.quarantined += len(applied.quarantined)
            self.stats.position = applied.batch.last
            self.stats.last_batch_at = applied.committed_at
            if not announced:
                self._announce(applied)
            if self.on_batch is not None:
                self.on_batch(applied)

    def _announce(self, applied: Applied) -> None:
        """Tell live readers the read models moved (a hint: losing one only delays them to
        the next batch)."""
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return
        try:
            conn.execute("SELECT pg_notify(%s, %s)", (APPLIED_CHANNEL, str(applied.batch.last)))
        except psycopg.Error as exc:
            log.debug("%s: could not announce the batch: %s", self.name, exc)

    def _lag(self) -> int:
        assert self._conn is not None
        return log_head(self._conn) - self.stats.position

    def _behind(self) -> bool:
        return self._lag() > 0

    def run_pipelined(self) -> int:
        """Catch up with batches prepared ahead on another thread (see ``pipeline``); stop at
        the log head, or as soon as the projections are not where the batches expect."""
        assert self._conn is not None and self._holding
        try:
            return run_pipelined(self._conn, self.conninfo,
                                 lambda conn, chosen: lock_active_targets(conn, chosen,
                                                                          self.shard),
                                 self.projections, self.catch_up_batch_size,
                                 fault=self.fault, on_batch=self._record)
        except UnknownEvent as exc:
            self._halt(exc)
            raise

    def catch_up(self, *, wait_for_lock: bool = True) -> int:
        """Apply batches until the log head as it stands; return the events applied."""
        if not self._holding and not self.acquire(wait=wait_for_lock):
            return 0
        assert self._conn is not None
        self.stats.position = min(_positions(self._conn, self.names, self.shard).values(),
                                  default=0)
        total = 0
        if self.pipelined and self._lag() > self.catch_up_batch_size:
            total += self.run_pipelined()
        while True:
            applied = self.step()
            total += applied.count
            if applied.count < self.batch_size:
                return total

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set; survive lost connections and takeovers.
        Raises ``UnknownEvent`` (after letting the projections go) when the log holds an
        event this code cannot read."""
        backoff = 0.2
        while not stop.is_set():
            try:
                if not self._holding and not self.acquire(stop):
                    continue
                self._follow(stop)
                backoff = 0.2
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self.stats.reconnects += 1
                log.warning("%s: connection lost (%s); reconnecting in %.1fs", self.name,
                            str(exc).strip().splitlines()[0] if str(exc) else exc, backoff)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except PositionConflict as exc:
                log.error("%s: %s; giving the projections up", self.name, exc)
                self.close()
                stop.wait(self.lock_retry)
            except (UnknownEvent, ShardingError) as exc:
                log.error("%s: stopped: %s", self.name, exc)
                self.close()  # the locks go with the session: a standby may try its luck
                raise
            except Exception:
                # A batch that cannot be applied and is not its events' fault (an SQL error
                # in the code, a timeout): nothing of it is committed. Keep trying, slowly;
                # lag and /health/ready show it meanwhile.
                log.exception("%s: a batch failed; retrying in %.1fs", self.name, backoff)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff * 6)
        self.release()
        self.close()

    def _follow(self, stop: threading.Event) -> None:
        conn = self._conn
        assert conn is not None
        self.stats.position = min(_positions(conn, self.names, self.shard).values(), default=0)
        lag = self._lag()
        started = 0.0
        while not stop.is_set():
            if self.pipelined and lag > self.catch_up_batch_size:
                self.run_pipelined()
                lag = self._lag()
                continue
            if lag > 0:
                started = time.monotonic()
                if self.step().count >= self.batch_size:
                    lag = self._lag()
                    continue  # more to read at once
            # Caught up: wait for a NOTIFY (every insert sends one) or the poll interval.
            lag = self._lag() if not self._wait(conn, stop, started) else 1
            # (notified: something was committed since the last batch read the log; the
            # next batch finds it without asking for the log head first)

    def _wait(self, conn: Connection, stop: threading.Event, started: float) -> bool:
        """Wait for a NOTIFY (True) or the poll interval (False). After a NOTIFY, let the
        commits of the next ``coalesce`` seconds after the last batch's start join it: under
        a steady stream of small commits the batches' fixed costs (transaction, positions,
        provinces, announcement) are then paid a bounded number of times a second, and a
        commit waits at most that much longer."""
        deadline = time.monotonic() + self.poll_interval
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if any(True for _ in conn.notifies(timeout=min(remaining, 0.25), stop_after=1)):
                pause = started + self.coalesce - time.monotonic()
                if pause > 0:
                    stop.wait(pause)
                # the notifications of the commits the batch will read
                for _ in conn.notifies(timeout=0):
                    pass
                return True
        return False


def _positions(conn: Connection, names: Sequence[str], shard: Shard | None = None
               ) -> dict[str, int]:
    """The active versions' positions (a shard's own, for a tenant shard)."""
    rows = conn.execute(
        "SELECT v.name, coalesce(s.position, v.position) FROM public.danvan_projections p "
        "JOIN public.danvan_projection_versions v ON v.name = p.name "
        "AND v.version = p.active_version LEFT JOIN public.danvan_projection_shards s "
        "ON s.name = v.name AND s.version = v.version AND s.shard = %s AND s.shards = %s "
        "WHERE p.name = ANY(%s)",
        (shard.index if shard else -1, shard.count if shard else 1, list(names))).fetchall()
    return {name: position for name, position in rows}
