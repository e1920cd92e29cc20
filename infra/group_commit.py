"""Group commit: concurrent saves of one process share one lock, one insert transaction and
one commit.

Every writer must hold the events table's EXCLUSIVE lock until it commits (insertion order is
commit order, see ``infra/event_store.py``), so writers queue behind each other and each pays
a whole commit (a WAL flush) while the others wait. Here the first thread to arrive leads: it
takes the lock once, inserts every queued save in its own savepoint and commits them all; the
saves that arrive meanwhile wait for the next batch, led by the first of them.

The batch goes as one pipelined INSERT of every save's rows; if any save is refused, that
transaction is rolled back and the batch runs again with each save in a savepoint of its own.

What each save sees is unchanged:
- it is atomic on its own: a conflicting version (``IntegrityError``) rolls back to its
  savepoint and fails that save only;
- it returns only after its commit, with its notification ids;
- hooks run in the saving thread's context (``contextvars``), e.g. the idempotency key row
  that rides in the save's transaction (``backend/http/idempotency.py``);
- an error of the whole transaction (lost connection, lock timeout) fails every save of the
  batch, which each save's ``insert_events`` then retries on its own, as without batching;
  what a savepoint said of a save does not stand if its transaction did not commit, and a
  retry that meets the save's own events (its batch did commit, only the answer was lost) is
  answered with their ids (``infra/commit_outcome.py``);
- a caller interrupted while it waits (Ctrl-C) withdraws its save if no batch holds it yet,
  and an interrupted leader's batch-mates get an error they retry, not its interrupt.
"""

from __future__ import annotations

import contextvars
import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier

from danvan.infra.commit_outcome import CommitOutcomeCheck

MAX_BATCH = 64
"""Saves per transaction at most: bounds the time the lock is held and one batch's latency."""


@dataclass(eq=False)
class _Save:
    events: Sequence[StoredEvent]
    kwargs: dict[str, Any]
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    ready: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    """Set when this save's thread must lead the next batch instead of waiting for it."""
    ids: Sequence[int] | None = None
    error: BaseException | None = None
    done: bool = False


class GroupCommit(CommitOutcomeCheck):
    """Mix in before an application recorder: each attempt of its ``insert_events`` joins
    concurrent callers' in one batch (``event_store.GroupCommitRecorder``)."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self._queue: list[_Save] = []
        self._guard = threading.Lock()
        self._leading = False
        self.batches = 0
        """Transactions committed so far (saves ÷ batches is the mean batch size)."""
        schema = Identifier(self.datastore.schema)
        # The library's INSERT, returning each row's key so ids go to their own save.
        self._insert_batch_statement = SQL(
            "INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state "
            "FROM unnest(%s::{schema}.{stored_event_type}[]) "
            "RETURNING originator_id, originator_version, notification_id").format(
            schema=schema, table=Identifier(self.events_table_name),
            stored_event_type=Identifier(self.stored_event_type_name))

    @property
    def waiting(self) -> int:
        """Saves queued for the next batch."""
        with self._guard:
            return len(self._queue)

    def _insert_attempt(self, stored_events: Sequence[StoredEvent],
                        **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        if self.datastore.enable_db_functions:  # one statement per save: nothing to share
            return super()._insert_attempt(stored_events, **kwargs)
        save = _Save(stored_events, kwargs)
        with self._guard:
            self._queue.append(save)
            if not self._leading:
                self._leading = save.leads = True
        try:
            while not save.leads and not save.done:
                save.ready.wait()
                save.ready.clear()
        except BaseException:
            self._abandon(save)
            raise
        if not save.done:
            self._lead(save)
        if save.error is not None:
            raise save.error
        return save.ids

    def _abandon(self, save: _Save) -> None:
        """The waiting thread was interrupted: take its save back if no batch holds it yet
        (passing on the lead if it had been handed it); else let its batch finish first."""
        with self._guard:
            if save in self._queue:
                self._queue.remove(save)
                if save.leads:
                    self._hand_on()
                return
        while not save.done:  # in a batch that is committing: its outcome stands
            save.ready.wait(0.1)

    def _hand_on(self) -> None:
        """Under ``_guard``: the first queued save leads next, or nobody leads."""
        if self._queue:
            self._queue[0].leads = True
            self._queue[0].ready.set()
        else:
            self._leading = False

    def _lead(self, mine: _Save) -> None:
        """Commit one batch (``mine`` is first in it), then hand the lead on."""
        batch: list[_Save] = []
        try:
            with self._guard:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            self._commit(batch)
        except BaseException as exc:
            # The transaction did not commit (or its outcome is unknown): no save of the batch
            # stands, whatever a savepoint said. The other threads get an error they retry;
            # an interrupt (KeyboardInterrupt, SystemExit) is this thread's alone.
            failure = exc if isinstance(exc, Exception) else OperationalError(
                f"the batch's leading thread was interrupted ({type(exc).__name__})")
            for save in batch:
                save.ids = None
                save.error = _own_copy(failure)
            mine.error = exc
        finally:
            with self._guard:
                if mine in self._queue:  # interrupted before taking its batch
                    self._queue.remove(mine)
                self._hand_on()
            mine.done = True
            for save in batch:
                save.done = True
                save.ready.set()

    def _commit(self, batch: list[_Save]) -> None:
        try:
            self._commit_together(batch)
        except (InterfaceError, OperationalError):
            raise  # the connection or the server: the whole batch fails, to be retried
        except Exception:
            # Some save was refused (a stale version, an idempotency key held elsewhere):
            # that transaction was rolled back; again, each save in a savepoint of its own.
            self._commit_each(batch)
        self.batches += 1

    def _commit_together(self, batch: list[_Save]) -> None:
        """The common case: every save's rows in one INSERT, pipelined, one round trip
        (plus one for each idempotency key). Rolled back on any failure."""
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic,
                                               e.state)
                for save in batch for e in save.events]
        failure: Exception | None = None
        ids: dict[tuple[str, int], int] = {}
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction() as transaction, \
                    conn.cursor() as curs:
                try:
                    self._lock_table(curs)
                    self._notify_channel(curs)
                    for save in batch:
                        save.context.run(self._insert_events, curs, save.events, **save.kwargs)
                    curs.execute(self._insert_batch_statement, (rows,), prepare=True)
                    pipeline.sync()  # a refused row raises here, not at commit
                    ids = {(str(r["originator_id"]), r["originator_version"]):
                           r["notification_id"] for r in curs.fetchall()}
                    if len(ids) != len(rows):
                        raise persistence.ProgrammingError(
                            f"got {len(ids)} ids for {len(rows)} events")
                except Exception as exc:  # re-raised once the pipeline has closed
                    failure = exc
                    raise psycopg.Rollback(transaction) from None
            if failure is not None:
                raise failure
        for save in batch:
            save.ids = [ids[(str(e.originator_id), e.originator_version)] for e in save.events]

    def _commit_each(self, batch: list[_Save]) -> None:
        with self.datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor() as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            for save in batch:
                save.ids = None
                try:
                    with conn.transaction():  # a savepoint: this save alone on failure
                        save.ids = save.context.run(self._insert_one, curs, save)
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    raise  # the connection or the transaction is gone: the whole batch
                except Exception as exc:
                    save.error = as_persistence_error(exc)

    def _insert_one(self, curs: Any, save: _Save) -> Sequence[int] | None:
        self._insert_events(curs, save.events, **save.kwargs)
        PostgresAggregateRecorder._insert_stored_events(self, curs, save.events, **save.kwargs)
        return self._fetch_ids_after_insert_events(curs, save.events, **save.kwargs)

_TRANSLATIONS: tuple[tuple[type[psycopg.Error], type[persistence.PersistenceError]], ...] = (
    (psycopg.DataError, persistence.DataError),
    (psycopg.IntegrityError, persistence.IntegrityError),
    (psycopg.InternalError, persistence.InternalError),
    (psycopg.ProgrammingError, persistence.ProgrammingError),
    (psycopg.NotSupportedError, persistence.NotSupportedError),
    (psycopg.DatabaseError, persistence.DatabaseError),
    (psycopg.Error, persistence.PersistenceError),
)


def _own_copy(exc: Exception) -> Exception:
    """A copy of ``exc`` for one thread to raise (threads raising one object overwrite each
    other's traceback), caused by the original."""
    try:
        mine = copy.copy(exc)
    except Exception:
        return exc
    mine.__cause__ = exc
    return mine


def as_persistence_error(exc: Exception) -> Exception:
    """A psycopg error as the library's own exception (as its ``get_connection`` raises it);
    any other exception as it is."""
    for psycopg_type, library_type in _TRANSLATIONS:
        if isinstance(exc, psycopg_type):
            translated = library_type(str(exc))
            translated.__cause__ = exc
            return translated
    return exc
