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
  batch, which the library's retry then retries one by one, as without batching.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.utils import retry

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


class GroupCommit(PostgresApplicationRecorder):
    """Mix in before an application recorder: its ``insert_events`` batches concurrent
    callers (``event_store.GroupCommitRecorder``)."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self._queue: list[_Save] = []
        self._guard = threading.Lock()
        self._leading = False
        self.batches = 0
        """Transactions committed so far (saves ÷ batches is the mean batch size)."""

    @property
    def waiting(self) -> int:
        """Saves queued for the next batch."""
        with self._guard:
            return len(self._queue)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        if self.datastore.enable_db_functions:  # one statement per save: nothing to share
            return super().insert_events(stored_events, **kwargs)
        save = _Save(stored_events, kwargs)
        with self._guard:
            self._queue.append(save)
            if not self._leading:
                self._leading = save.leads = True
        while not save.leads and not save.done:
            save.ready.wait()
            save.ready.clear()
        if not save.done:
            self._lead()
        if save.error is not None:
            raise save.error
        return save.ids

    def _lead(self) -> None:
        """Commit one batch (this thread's save is in it), then hand the lead on."""
        with self._guard:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            self._commit(batch)
        except BaseException as exc:
            for save in batch:
                if save.error is None:
                    save.error = exc
                    save.ids = None
        finally:
            with self._guard:
                if self._queue:
                    self._queue[0].leads = True
                    self._queue[0].ready.set()
                else:
                    self._leading = False
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
            # nothing was committed; again, each save in a savepoint of its own.
            self._commit_each(batch)
        self.batches += 1

    def _commit_together(self, batch: list[_Save]) -> None:
        """The common case: every save's rows in one INSERT, pipelined, one round trip."""
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic,
                                               e.state)
                for save in batch for e in save.events]
        failure: Exception | None = None
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction(), conn.cursor() as curs:
                self._lock_table(curs)
                self._notify_channel(curs)
                for save in batch:
                    save.context.run(self._insert_events, curs, save.events, **save.kwargs)
                try:
                    curs.execute(self.insert_events_statement, (rows,), prepare=True)
                    pipeline.sync()  # a refused row raises here, not at commit
                    ids = [row["notification_id"] for row in curs.fetchall()]
                except Exception as exc:  # re-raised once the pipeline has closed
                    failure = exc
            if failure is not None:
                raise failure
        if len(ids) != len(rows):
            raise persistence.ProgrammingError(f"got {len(ids)} ids for {len(rows)} events")
        start = 0
        for save in batch:
            save.ids = ids[start:start + len(save.events)]
            start += len(save.events)

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


def as_persistence_error(exc: Exception) -> Exception:
    """A psycopg error as the library's own exception (as its ``get_connection`` raises it);
    any other exception as it is."""
    for psycopg_type, library_type in _TRANSLATIONS:
        if isinstance(exc, psycopg_type):
            translated = library_type(str(exc))
            translated.__cause__ = exc
            return translated
    return exc
