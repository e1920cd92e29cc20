"""The event store: one ``eventsourcing`` Application over PostgreSQL per process.

    store = open_event_store(get_settings())      # keep the reference; close() at shutdown
    store.save(*aggregates)                       # optimistic concurrency: IntegrityError
    store.repository.get(aggregate_id, version=3)
    store.recorder.select_notifications(start=1, limit=1000)

Events go to the table ``danvan_events`` (the library's table plus the audit columns
``tenant_id``, ``prev_hash``, ``hash`` filled by a trigger, see ``infra/sql``).

The library locks the events table IN EXCLUSIVE MODE before each insert, so insertion
order is commit order. PostgreSQL only lets a role take that lock with UPDATE, DELETE or
TRUNCATE rights, which the application's role must never have; so our recorder takes it
through ``danvan_events_lock()``, a SECURITY DEFINER function that the application's role
may execute. A statement trigger refuses any insert made without the lock.

A save whose COMMIT reached the server but whose answer was lost (the connection dropped)
is retried and answered as the success it was, not as a version conflict
(``infra/commit_outcome.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application, Recording
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    ProgrammingError,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresProcessRecorder,
)
from eventsourcing.utils import Environment, get_topic, register_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from danvan.domain.model import Model
from danvan.infra import saved_positions
from danvan.infra.commit_outcome import CommitOutcomeCheck
from danvan.infra.database import Role, eventsourcing_env, role_params
from danvan.infra.group_commit import GroupCommit
from danvan.infra.imports import record_applied
from danvan.infra.outbox import record_jobs
from danvan.infra.settings import Settings

STORED_TOPICS: dict[str, type] = {
    "danvan.domain.model:Model.Recognised": Model.Recognized,
}
"""The topics events were stored under before their classes were renamed (stored events are
never edited): each stays readable as the class it now names, by the aggregates and by the
projections alike. Add a line here with every rename of an event class or its module."""



def register_stored_topics() -> None:
    """Make the old topics resolve (done when this module is imported; again after the
    library's topic cache is cleared)."""
    for stored, renamed in STORED_TOPICS.items():
        register_topic(stored, renamed)


register_stored_topics()

APP_NAME = "danvan"
EVENTS_TABLE = f"{APP_NAME}_events"
SNAPSHOTS_TABLE = f"{APP_NAME}_snapshots"


def lock_function_name(events_table_name: str) -> str:
    return f"{events_table_name}_lock"


def _lock_through_function(recorder: PostgresApplicationRecorder, events_table_name: str) -> None:
    """Make ``recorder`` take its table lock by calling ``<table>_lock()``, a SECURITY
    DEFINER function that its ``create_table()`` creates (owned by whoever creates the
    table; grants to other roles belong to the migrations)."""
    lock_fn = lock_function_name(events_table_name)
    recorder.check_identifier_length(lock_fn)
    schema = Identifier(recorder.datastore.schema)
    table = Identifier(events_table_name)
    lock_function = SQL("{0}.{1}").format(schema, Identifier(lock_fn))
    recorder.sql_create_statements.append(
        SQL(
            "CREATE OR REPLACE FUNCTION {fn}() RETURNS void "
            "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS "
            "$BODY$BEGIN LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; END;$BODY$"
        ).format(fn=lock_function, schema=schema, table=table)
    )
    recorder.lock_table_statements = [
        SQL("SET LOCAL lock_timeout = '{0}s'").format(recorder.datastore.lock_timeout),
        SQL("SELECT {0}()").format(lock_function),
    ]
    # The library's optional insert function (POSTGRES_ENABLE_DB_FUNCTIONS) takes no
    # table lock at all; ours takes it first.
    recorder.sql_create_statements[recorder.create_insert_function_statement_index] = SQL(
        "CREATE OR REPLACE FUNCTION "
        "{schema}.{insert_events}(events {schema}.{event}[]) "
        "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
        "BEGIN"
        "    SET LOCAL lock_timeout = '{lock_timeout}s';"
        "    PERFORM {lock_fn}();"
        "    NOTIFY {channel};"
        "    RETURN QUERY"
        "    INSERT INTO {schema}.{table} AS t ("
        "    originator_id, originator_version, topic, state)"
        "    SELECT originator_id, originator_version, topic, state"
        "    FROM unnest(events)"
        "    RETURNING notification_id;"
        "END;$BODY$"
    ).format(
        insert_events=Identifier(recorder.pg_function_name_insert_events),
        lock_timeout=recorder.datastore.lock_timeout,
        lock_fn=lock_function,
        channel=Identifier(recorder.channel_name),
        event=Identifier(recorder.stored_event_type_name),
        schema=schema,
        table=table,
    )


InTransaction = Callable[[Any, Sequence[StoredEvent], Mapping[str, Any]], None]
"""A writer of rows that must commit with a save's events, or not at all: called with the
insert's cursor, the save's stored events and the save's keyword arguments
(``store.save(aggregate, key=value)``); raising refuses the whole save."""


def record_outbox(curs: Any, stored_events: Sequence[StoredEvent],
                  saved_with: Mapping[str, Any]) -> None:
    """The jobs a save carries, ``store.save(aggregate, jobs=[JobRequest(...)])``, recorded
    with its events (``infra/outbox.py``): a job exists exactly when its events do."""
    record_jobs(curs, saved_with.get("jobs"))


class InTransactionWriters(PostgresApplicationRecorder):
    """Runs ``writers`` in the transaction that inserts each save's events, on every path
    (one save, or a group-committed batch where each save runs in its own context). The
    outbox and the mark of an applied import (``infra/imports.py``) are always among them;
    the composition root adds the others (``add_writers``):
    idempotency keys, credentials generations. A save without events records nothing (a job
    with no events goes through ``outbox.enqueue``)."""

    writers: tuple[InTransaction, ...] = (record_outbox, record_applied)

    def add_writers(self, *writers: InTransaction) -> None:
        self.writers = tuple(dict.fromkeys((*self.writers, *writers)))

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if kwargs.get("jobs") and self.datastore.enable_db_functions:
            raise ProgrammingError("jobs ride in the events' transaction only without "
                                   "POSTGRES_ENABLE_DB_FUNCTIONS")
        return super().insert_events(stored_events, **kwargs)

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        if stored_events:
            for write in self.writers:
                write(curs, stored_events, kwargs)


class LockingApplicationRecorder(InTransactionWriters, CommitOutcomeCheck,
                                 PostgresApplicationRecorder):
    """The library's recorder, taking the table lock through ``<table>_lock()``; a retry
    that meets its own committed events answers with their ids; rows that ride with the
    events (``InTransactionWriters``: the outbox, idempotency keys, credentials)."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        _lock_through_function(self, events_table_name)


class GroupCommitRecorder(GroupCommit, LockingApplicationRecorder):
    """The locking recorder, with concurrent saves of the process committed together."""


class LockingProcessRecorder(PostgresProcessRecorder):
    """The library's process recorder (events plus tracking), locking the same way."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events",
                 tracking_table_name: str = "notification_tracking"):
        super().__init__(datastore, events_table_name=events_table_name,
                         tracking_table_name=tracking_table_name)
        _lock_through_function(self, events_table_name)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def register_transcodings(transcoder: JSONTranscoder) -> None:
    """What event attributes may hold besides JSON types: UUID, Decimal, datetime, date."""
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)


StreamRow = tuple[int, UUID, int, str, bytes]
"""A stored event as ``EventStore.streams`` reads it: position, aggregate id, version, topic,
state."""


class EventStore(Application[UUID]):
    """danvan's single event store. Configured only from the ``env`` it is given
    (``eventsourcing_env(settings)``; also usable as ``ProjectionRunner(application_class=
    EventStore, env=...)``), never from ``os.environ``."""

    name = APP_NAME

    def __init__(self, env: Mapping[str, str] | None = None, *,
                 conninfo_extra: Mapping[str, str] | None = None) -> None:
        self._conninfo_extra = dict(conninfo_extra or {})
        super().__init__(env=dict(env or {}))

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        # Unlike the library default, never merge os.environ: Settings is the one source.
        values = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            values["IS_SNAPSHOTTING_ENABLED"] = "y"
        values.update(env or {})
        values.setdefault("APPLICATION_RECORDER_TOPIC", get_topic(LockingApplicationRecorder))
        values.setdefault("PROCESS_RECORDER_TOPIC", get_topic(LockingProcessRecorder))
        return Environment(name, values)

    def construct_factory(self, env: Environment) -> Any:
        factory = super().construct_factory(env)
        if self._conninfo_extra and isinstance(factory, PostgresFactory):
            # sslmode, options, application_name...: the library only passes the core keys.
            kwargs = factory.datastore.pool.kwargs
            assert isinstance(kwargs, dict)
            kwargs.update(self._conninfo_extra)
        return factory

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        register_transcodings(transcoder)

    @property
    def in_postgres(self) -> bool:
        """Whether the events are in PostgreSQL (``streams`` and ``send_streams`` read them
        there)."""
        return isinstance(self.recorder, PostgresApplicationRecorder)

    def streams(self, aggregate_ids: Sequence[UUID]) -> list[StreamRow]:
        """Every stored event of these aggregates, by aggregate then version, as rows
        ``(position, aggregate_id, version, topic, state)``: one statement and one round trip
        (the library's ``select_events`` costs three, and a dict per row), for reads that
        decode the states themselves (``store.mapper.to_domain_event`` or the projections'
        typed decoding)."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        with recorder.datastore.get_connection() as conn:
            # A single read needs no transaction: without one there is neither BEGIN nor
            # the rollback the pool sends when a connection comes back inside one.
            conn.autocommit = True
            try:
                with self.send_streams(conn, aggregate_ids) as cursor:
                    return cursor.fetchall()
            finally:
                if not conn.closed:
                    conn.autocommit = False

    def send_streams(self, conn: psycopg.Connection[Any], aggregate_ids: Sequence[UUID]
                     ) -> psycopg.Cursor[StreamRow]:
        """``streams``' statement sent on ``conn``, any connection to the store's database
        whose role may read the events (the read models' pool: a model's events in the
        transaction that read its row; inside a pipeline, fetch once it synced). Prepared:
        every plan of it is a probe of the primary key."""
        ids = list(aggregate_ids)
        cursor = conn.cursor(row_factory=tuple_row, binary=True)
        # One aggregate (the usual case) without an array: cheaper to send.
        cursor.execute(self._streams_statements[len(ids) == 1],
                       (ids[0] if len(ids) == 1 else ids,), prepare=True)
        return cursor

    @functools.cached_property
    def _streams_statements(self) -> tuple[bytes, bytes]:
        """``streams``' statement for many aggregates and for one, composed once."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        table = SQL("{0}.{1}").format(Identifier(recorder.datastore.schema),
                                      Identifier(recorder.events_table_name)).as_string()
        select = ("SELECT notification_id, originator_id, originator_version, topic, state "
                  f"FROM {table} WHERE originator_id {{}} ORDER BY originator_id, "
                  "originator_version")
        return (select.format("= ANY(%s)").encode(), select.format("= %s").encode())

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save, telling ``saved_positions`` where its events landed."""
        recordings = super().save(*objs, **kwargs)
        saved_positions.note(r.notification.id for r in recordings)
        return recordings


def open_event_store(settings: Settings, role: Role = "app", *,
                     create_table: bool = False,
                     env_overrides: Mapping[str, str] | None = None) -> EventStore:
    """Build the process's event store (application role by default).

    Keep one instance per process and keep a reference to it: each instance owns a
    connection pool (``db_pool_size`` + ``db_max_overflow``). Call ``close()`` at shutdown.
    ``env_overrides`` passes extra library settings (e.g. ``POSTGRES_ENABLE_DB_FUNCTIONS``).
    The application's role saves with group commit unless ``settings.db_group_commit`` is off.
    """
    env = eventsourcing_env(settings, role, create_table=create_table)
    if settings.db_group_commit and role == "app":
        env["APPLICATION_RECORDER_TOPIC"] = get_topic(GroupCommitRecorder)
    env.update(env_overrides or {})
    return EventStore(env, conninfo_extra=role_params(settings, role).extra)
