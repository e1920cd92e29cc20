"""A save whose COMMIT answer was lost is answered by what the store holds, never as a conflict.

The library retries ``insert_events`` on ``InterfaceError`` and ``OperationalError``. When the
connection drops after the server committed but before its answer arrived, the retry inserts
the same rows again, meets its own events (unique originator id and version) and the command
would be answered 409 although it is done. So, once an attempt has failed in a way that may
have left a commit behind, a retry that meets ``IntegrityError`` asks the store whether
exactly these events are recorded: the same originator id, version, topic and state bytes
(the state holds the event's timestamp and, in its ``meta``, the request's correlation id:
no other save writes the same bytes). If they are, the save succeeded and their notification
ids are returned; if not, it is a real conflict. The idempotency key row
(``backend/http/idempotency.py``) rides in the same transaction, so it was committed with the
events and a client's retry with that key replays.

When the attempts run out after such a failure and the store cannot be asked either,
``CommitOutcomeUnknown`` is raised (HTTP 503 ``outcome_unknown``: retry with the same
Idempotency-Key), not an error that would claim nothing was written. Failures to get a
connection at all (``psycopg_pool.PoolTimeout``) sent nothing and leave nothing to ask about.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import psycopg_pool
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier

_library_insert = cast(Callable[..., "Sequence[int] | None"],
                       PostgresApplicationRecorder.insert_events.__wrapped__)
"""The library's ``insert_events`` without its ``@retry``: one attempt."""

_NOTHING_SENT: tuple[type[BaseException], ...] = (psycopg_pool.PoolTimeout,
                                                 psycopg_pool.TooManyRequests)


class CommitOutcomeUnknown(OperationalError):
    """The save may have been committed or not, and the store could not be asked which."""


def may_have_committed(exc: BaseException) -> bool:
    """False only for failures that sent nothing to the server (no connection was had)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, _NOTHING_SENT):
            return False
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return True


class CommitOutcomeCheck(PostgresApplicationRecorder):
    """Mix in before an application recorder: ``insert_events`` retries like the library's
    and answers a retry that meets its own committed events with their ids.

    Subclasses change how one attempt inserts by overriding ``_insert_attempt``.
    """

    insert_attempts = 10
    insert_retry_wait = 0.2
    """As the library's ``@retry``: attempts in all, and seconds between them (±5 %)."""

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        maybe_committed: Exception | None = None
        last: Exception | None = None
        for attempt in range(self.insert_attempts):
            if attempt:
                time.sleep(self.insert_retry_wait * (1 + 0.1 * (random.random() - 0.5)))
            try:
                return self._insert_attempt(stored_events, **kwargs)
            except IntegrityError as conflict:
                if maybe_committed is None:
                    raise
                try:
                    ids = self.recorded_ids(stored_events)
                except (InterfaceError, OperationalError) as exc:
                    last = exc  # cannot tell yet: try again
                    continue
                if ids is None:
                    raise conflict from None
                return ids
            except (InterfaceError, OperationalError) as exc:
                last = exc
                if may_have_committed(exc):
                    maybe_committed = exc
        assert last is not None
        if maybe_committed is None:
            raise last
        try:
            ids = self.recorded_ids(stored_events)
        except (InterfaceError, OperationalError) as exc:
            raise CommitOutcomeUnknown(
                f"the save may have been committed: its connection failed ({maybe_committed}) "
                f"and the store cannot be asked ({exc})") from maybe_committed
        if ids is None:
            raise last
        return ids

    def _insert_attempt(self, stored_events: Sequence[StoredEvent],
                        **kwargs: Any) -> Sequence[int] | None:
        """One attempt, no retry."""
        return _library_insert(self, stored_events, **kwargs)

    def recorded_ids(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """The notification ids of exactly these events if all are recorded as they are
        (same topic and state bytes), else None."""
        if not stored_events:
            return []
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic,
                                               e.state) for e in stored_events]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._recorded_statement(), (rows,))
            found = {(str(r["originator_id"]), int(r["originator_version"])): r
                     for r in curs.fetchall()}
        ids: list[int] = []
        for event in stored_events:
            row = found.get((str(event.originator_id), event.originator_version))
            if row is None or row["topic"] != event.topic or bytes(row["state"]) != event.state:
                return None
            ids.append(int(row["notification_id"]))
        return ids

    def _recorded_statement(self) -> Composed:
        schema = Identifier(self.datastore.schema)
        return SQL(
            "SELECT t.originator_id, t.originator_version, t.topic, t.state, t.notification_id "
            "FROM {schema}.{table} AS t "
            "JOIN unnest(%s::{schema}.{stored_event_type}[]) AS e "
            "ON t.originator_id = e.originator_id "
            "AND t.originator_version = e.originator_version").format(
            schema=schema, table=Identifier(self.events_table_name),
            stored_event_type=Identifier(self.stored_event_type_name))
