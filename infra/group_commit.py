"""Group commit: concurrent saves of one process share one lock, one insert transaction and
one commit.

Every writer must hold the events table's EXCLUSIVE lock until it commits (insertion order is
commit order, see ``infra/event_store.py``), so writers queue behind each other and each pays
a whole commit (a WAL flush) while the others wait. Here the saves are batched leader/follower
(``infra/leader_batch.py``): the first thread to arrive takes the lock once, inserts every
queued save in its own savepoint and commits them all; the saves that arrive meanwhile wait
for the next batch, led by the first of them.

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
  what a savepoint said of a save does not stand if its transaction did not commit (a save is
  answered only once its batch committed), and a retry that meets the save's own events (its
  batch did commit, only the answer was lost) is answered with their ids
  (``infra/commit_outcome.py``);
- a caller interrupted while it waits (Ctrl-C) withdraws its save if no batch holds it yet,
  and an interrupted leader's batch-mates get an ``OperationalError`` they retry, not its
  interrupt (``infra/leader_batch.py``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier

from danvan.infra.commit_outcome import CommitOutcomeCheck
from danvan.infra.leader_batch import LeaderBatch, Request

MAX_BATCH = 64
"""Saves per transaction at most: bounds the time the lock is held and one batch's latency."""


@dataclass(eq=False, slots=True)
class _Save:
    events: Sequence[StoredEvent]
    kwargs: dict[str, Any]
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


_Saving = Request[_Save, Sequence[int] | None]
"""A save in a batch, answered with its notification ids."""


class GroupCommit(CommitOutcomeCheck):
    """Mix in before an application recorder: each attempt of its ``insert_events`` joins
    concurrent callers' in one batch (``event_store.GroupCommitRecorder``)."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self._saves: LeaderBatch[_Save, Sequence[int] | None] = LeaderBatch(
            self._commit, max_batch=MAX_BATCH, interrupted=OperationalError)
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
        return self._saves.waiting

    def _insert_attempt(self, stored_events: Sequence[StoredEvent],
                        **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        if self.datastore.enable_db_functions:  # one statement per save: nothing to share
            return super()._insert_attempt(stored_events, **kwargs)
        return self._saves.submit(_Save(stored_events, kwargs))

    def _commit(self, batch: list[_Saving]) -> None:
        """Commit the batch and answer each save; raises, answering none, if the transaction
        did not commit (or its outcome is unknown)."""
        try:
            self._commit_together(batch)
        except (InterfaceError, OperationalError):
            raise  # the connection or the server: the whole batch fails, to be retried
        except Exception:
            # Some save was refused (a stale version, an idempotency key held elsewhere):
            # that transaction was rolled back; again, each save in a savepoint of its own.
            self._commit_each(batch)
        self.batches += 1

    def _commit_together(self, batch: list[_Saving]) -> None:
        """The common case: every save's rows in one INSERT, pipelined, one round trip
        (plus one for each idempotency key). Rolled back on any failure."""
        saves = [request.item for request in batch]
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic,
                                               e.state)
                for save in saves for e in save.events]
        failure: Exception | None = None
        ids: dict[tuple[str, int], int] = {}
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction() as transaction, \
                    conn.cursor() as curs:
                try:
                    self._lock_table(curs)
                    self._notify_channel(curs)
                    for save in saves:
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
        answers = [[ids[(str(e.originator_id), e.originator_version)] for e in save.events]
                   for save in saves]
        for request, answer in zip(batch, answers, strict=True):
            request.answer(answer)

    def _commit_each(self, batch: list[_Saving]) -> None:
        outcomes: list[Sequence[int] | Exception | None] = []
        with self.datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor() as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            for request in batch:
                save = request.item
                try:
                    with conn.transaction():  # a savepoint: this save alone on failure
                        outcomes.append(save.context.run(self._insert_one, curs, save))
                except (psycopg.OperationalError, psycopg.InterfaceError):
                    raise  # the connection or the transaction is gone: the whole batch
                except Exception as exc:
                    outcomes.append(as_persistence_error(exc))
        for request, outcome in zip(batch, outcomes, strict=True):  # committed: they stand
            if isinstance(outcome, Exception):
                request.fail(outcome)
            else:
                request.answer(outcome)

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
