"""The event store on real PostgreSQL, as the application's role."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from danvan.infra.database import eventsourcing_env
from danvan.infra.event_store import EVENTS_TABLE, EventStore, open_event_store
from danvan.infra.settings import Settings
from tests.integration._aggregates import Note, ctx


def count_events(conn: psycopg.Connection) -> int:
    row = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def test_appends_and_reloads_an_aggregate(event_store: EventStore) -> None:
    note = Note.write(ctx(), "a", "first")
    note.edit(ctx(), "second")
    note.date(ctx(), date(2026, 5, 19), Decimal("12.50"))
    event_store.save(note)

    loaded: Note = event_store.repository.get(note.id)
    assert (loaded.text, loaded.version, loaded.tenant_id) == ("second", 3, "province:15")
    assert (loaded.on, loaded.amount) == (date(2026, 5, 19), Decimal("12.50"))
    assert event_store.repository.get(note.id, version=1).text == "first"
    notifications = event_store.recorder.select_notifications(start=1, limit=10)
    assert [n.originator_version for n in notifications] == [1, 2, 3]
    assert b'"tenant_id":"province:15"' in notifications[0].state


def test_a_stale_copy_cannot_overwrite_a_newer_version(event_store: EventStore,
                                                       owner_conn: psycopg.Connection) -> None:
    event_store.save(Note.write(ctx(), "a"))
    first: Note = event_store.repository.get(Note.id_for("province:15", "a"))
    second: Note = event_store.repository.get(Note.id_for("province:15", "a"))
    first.edit(ctx(), "mine")
    second.edit(ctx(), "theirs")
    event_store.save(first)

    with pytest.raises(IntegrityError):
        event_store.save(second)

    assert event_store.repository.get(first.id).text == "mine"
    assert count_events(owner_conn) == 2


def test_creating_the_same_natural_key_twice_is_refused(event_store: EventStore,
                                                       owner_conn: psycopg.Connection) -> None:
    event_store.save(Note.write(ctx(), "same", "one"))

    with pytest.raises(IntegrityError):
        event_store.save(Note.write(ctx(), "same", "two"), Note.write(ctx(), "other"))

    assert event_store.repository.get(Note.id_for("province:15", "same")).text == "one"
    assert count_events(owner_conn) == 1  # the whole save was refused, "other" included


def test_many_aggregates_of_many_tenants_in_one_save(event_store: EventStore,
                                                     owner_conn: psycopg.Connection) -> None:
    notes = [Note.write(ctx(f"t{i % 3}"), f"k{i}") for i in range(30)]
    for note in notes[:10]:
        note.edit(ctx(note.tenant_id), "edited")
    event_store.save(*notes)

    rows = owner_conn.execute(
        f"SELECT tenant_id, count(*) FROM {EVENTS_TABLE} GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("t0", 14), ("t1", 13), ("t2", 13)]


def test_the_library_insert_function_variant_also_chains(settings: Settings,
                                                         owner_conn: psycopg.Connection) -> None:
    store = open_event_store(settings, env_overrides={"POSTGRES_ENABLE_DB_FUNCTIONS": "y"})
    try:
        store.save(Note.write(ctx(), "a"), Note.write(ctx(), "b"))
    finally:
        store.close()
    rows = owner_conn.execute(f"SELECT tenant_id, hash IS NOT NULL FROM {EVENTS_TABLE}")
    assert rows.fetchall() == [("province:15", True)] * 2


@pytest.mark.parametrize("statement", [
    f"UPDATE {EVENTS_TABLE} SET topic = 'x'",
    f"DELETE FROM {EVENTS_TABLE}",
    f"TRUNCATE {EVENTS_TABLE}",
    f"UPDATE {EVENTS_TABLE} SET hash = prev_hash",
])
def test_the_application_role_cannot_change_or_remove_events(
        event_store: EventStore, app_conn: psycopg.Connection, statement: str) -> None:
    event_store.save(Note.write(ctx(), "a"))
    assert app_conn.info.user == event_store.env.get("POSTGRES_USER")

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute(statement)


@pytest.mark.parametrize("statement", [
    f"UPDATE {EVENTS_TABLE} SET topic = 'x'",
    f"DELETE FROM {EVENTS_TABLE}",
    f"TRUNCATE {EVENTS_TABLE}",
])
def test_even_the_owner_cannot_casually_change_events(
        event_store: EventStore, owner_conn: psycopg.Connection, statement: str) -> None:
    event_store.save(Note.write(ctx(), "a"))

    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="immutable"):
        owner_conn.execute(statement)
    assert count_events(owner_conn) == 1


def test_an_insert_without_the_table_lock_is_refused(event_store: EventStore,
                                                     app_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="EXCLUSIVE"):
        app_conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 't', %s)", (uuid.uuid4(), b'{"tenant_id":"t1"}'))


def test_the_application_role_cannot_forge_chain_heads(app_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("UPDATE audit_chain_heads SET position = 0")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("SELECT danvan_chain_advance('t', 1, gen_random_uuid(), 1, 't', "
                         "''::bytea)")


def test_client_supplied_chain_columns_are_overwritten(app_conn: psycopg.Connection,
                                                       owner_conn: psycopg.Connection) -> None:
    with app_conn.transaction():
        app_conn.execute("SELECT danvan_events_lock()")
        app_conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state, "
            "tenant_id, prev_hash, hash) VALUES (%s, 1, 't', %s, 'other', %s, %s)",
            (uuid.uuid4(), b'{"tenant_id":"t1"}', b"x" * 32, b"y" * 32))
    row = owner_conn.execute(f"SELECT tenant_id, prev_hash FROM {EVENTS_TABLE}").fetchone()
    assert row == ("t1", bytes(32))


@pytest.mark.parametrize("state", [b'{"meta":{}}', b'{"tenant_id":""}', b'{"tenant_id":15}',
                                   b"not json"])
def test_an_event_without_a_tenant_is_refused(app_conn: psycopg.Connection, state: bytes) -> None:
    with pytest.raises(psycopg.Error), app_conn.transaction():
        app_conn.execute("SELECT danvan_events_lock()")
        app_conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 't', %s)", (uuid.uuid4(), state))


def test_extra_connection_parameters_reach_the_pool(settings: Settings,
                                                   owner_conn: psycopg.Connection) -> None:
    assert settings.database_url is not None
    joiner = "&" if "?" in settings.database_url else "?"
    url = f"{settings.database_url}{joiner}application_name=danvan_extra_test"
    store = open_event_store(replace(settings, database_url=url))
    try:
        store.save(Note.write(ctx(), "a"))
        names = owner_conn.execute(
            "SELECT DISTINCT application_name FROM pg_stat_activity WHERE usename = %s "
            "AND datname = current_database()", (settings.app_db_role,)).fetchall()
    finally:
        store.close()
    assert names == [("danvan_extra_test",)]


def test_the_library_environment_comes_from_settings_only(settings: Settings) -> None:
    env = eventsourcing_env(replace(settings, db_lock_timeout_seconds=0))
    assert env["POSTGRES_LOCK_TIMEOUT"] == "1"  # never 0, which would wait forever
    assert env["CREATE_TABLE"] == "false"
    assert env["POSTGRES_USER"] == settings.app_db_role
    socket = Settings(database_url="postgresql:///db?host=/run/pg&port=5433", app_db_role="app",
                      app_db_password="pw")
    assert {k: eventsourcing_env(socket)[k] for k in
            ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_PASSWORD")} == {
        "POSTGRES_HOST": "/run/pg", "POSTGRES_PORT": "5433", "POSTGRES_DBNAME": "db",
        "POSTGRES_PASSWORD": "pw"}
