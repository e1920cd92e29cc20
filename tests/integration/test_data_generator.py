"""The bench data generator on a real store: the chain it links in Python is the one the
trigger would have linked, the store's own writers link onto it, and the trigger it turns
off for its COPY is off for no one else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from bench.data_generator import CHAIN_TRIGGER, Row, stored_rows, write_chunk, write_events
from danvan.domain.base import Actor, Context
from danvan.domain.commands import AddUnit
from danvan.domain.units import Unit, UnitKind
from danvan.infra.audit_verify import tenant_ids, verify_tenant
from danvan.infra.event_store import EventStore, open_event_store
from danvan.infra.settings import Settings

CUTOFF = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
GUARDS = {"danvan_events_require_lock", "danvan_events_chain", "danvan_events_guard",
          "danvan_events_guard_truncate"}


@pytest.fixture
def owner_store(settings: Settings) -> Iterator[EventStore]:
    """The owner's store: only its mapper is used, as ``danvan bench data`` does."""
    store = open_event_store(settings, "owner")
    try:
        yield store
    finally:
        store.close()


def triggers(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute("SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = "
                        "'public.danvan_events'::regclass AND NOT tgisinternal").fetchall()
    return dict(rows)


def assert_all_chains_verify(conn: psycopg.Connection, events: int) -> None:
    results = [verify_tenant(conn, t) for t in tenant_ids(conn)]
    assert [r for r in results if not r.ok] == []
    assert sum(r.events_checked for r in results) == events
    assert triggers(conn) == dict.fromkeys(GUARDS, "O")


def count(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM danvan_events").fetchone()
    assert row is not None
    return int(row[0])


def test_generated_events_verify_and_are_what_the_trigger_computes(
        owner_conn: psycopg.Connection, owner_store: EventStore) -> None:
    stats = write_events(owner_conn, owner_store.mapper, 12_000, chunk=2_500, group=2,
                         cutoff=CUTOFF)

    assert stats.events == count(owner_conn) == 12_000
    assert_all_chains_verify(owner_conn, 12_000)
    # Row by row, the SQL the trigger runs gives the same tenant and hash.
    differing = owner_conn.execute("""
        SELECT count(*) FROM danvan_events
         WHERE tenant_id IS DISTINCT FROM danvan_event_tenant(state)
            OR hash IS DISTINCT FROM danvan_event_hash(prev_hash, notification_id,
                   originator_id, originator_version, topic, state)""").fetchone()
    assert differing == (0,)
    heads_behind = owner_conn.execute("""
        SELECT count(*) FROM audit_chain_heads h
          JOIN (SELECT tenant_id, max(notification_id) AS last, count(*) AS n
                  FROM danvan_events GROUP BY tenant_id) e USING (tenant_id)
         WHERE h.position <> e.last""").fetchone()
    assert heads_behind == (0,)
    assert owner_conn.execute("SELECT min(notification_id), max(notification_id) "
                              "FROM danvan_events").fetchone() == (1, 12_000)
    # Two tenants through all five years, then the next group.
    years = owner_conn.execute("""
        SELECT count(DISTINCT convert_from(state, 'UTF8')::jsonb ->> 'year')
          FROM danvan_events WHERE topic LIKE '%:Model.Registered'""").fetchone()
    assert years == (5,)
    units = owner_conn.execute("""
        SELECT min(n) FROM (SELECT count(*) AS n FROM danvan_events
                             WHERE topic LIKE '%:Unit.Added' GROUP BY tenant_id) u""").fetchone()
    assert units is not None and units[0] >= 25


def test_a_store_save_between_generated_chunks_links_onto_the_chain(
        owner_conn: psycopg.Connection, owner_store: EventStore,
        event_store: EventStore) -> None:
    rows = list(stored_rows(owner_store.mapper, 6_000, group=2, cutoff=CUTOFF))
    tenant = rows[500][0]
    mine = [i for i, row in enumerate(rows) if row[0] == tenant]
    split = mine[len(mine) // 2]
    write_chunk(owner_conn, rows[:split])

    unit = Unit.add(Context(tenant_id=tenant, actor=Actor("admin", "tenant_admin"), at=CUTOFF,
                            correlation_id="c1"),
                    AddUnit("Chi bộ thôn mới lập", UnitKind.PARTY_CELL))
    event_store.save(unit)  # the application's role, through the trigger
    write_chunk(owner_conn, rows[split:])

    assert_all_chains_verify(owner_conn, 6_001)
    result = verify_tenant(owner_conn, tenant)
    assert result.ok and result.events_checked == len(mine) + 1
    chain = owner_conn.execute(
        "SELECT originator_id, prev_hash, hash FROM danvan_events WHERE tenant_id = %s "
        "ORDER BY notification_id", (tenant,)).fetchall()
    saved = next(i for i, link in enumerate(chain) if link[0] == unit.id)
    assert 0 < saved < len(chain) - 1
    assert chain[saved][1] == chain[saved - 1][2]  # the trigger took the generated head
    assert chain[saved + 1][1] == chain[saved][2]  # the generator took the trigger's head


def test_a_failed_chunk_leaves_no_trace_and_the_trigger_on(
        owner_conn: psycopg.Connection, owner_store: EventStore,
        event_store: EventStore) -> None:
    rows = list(stored_rows(owner_store.mapper, 3_000, cutoff=CUTOFF))
    write_chunk(owner_conn, rows[:2_000])
    heads = owner_conn.execute("SELECT * FROM audit_chain_heads ORDER BY 1").fetchall()

    with pytest.raises(psycopg.errors.UniqueViolation):
        write_chunk(owner_conn, rows[1_500:])  # overlaps: the same events again

    assert count(owner_conn) == 2_000
    assert owner_conn.execute("SELECT * FROM audit_chain_heads ORDER BY 1").fetchall() == heads
    assert triggers(owner_conn)[CHAIN_TRIGGER] == "O"
    event_store.save(Unit.add(Context(tenant_id=rows[0][0], actor=Actor("a", "tenant_admin"),
                                      at=CUTOFF, correlation_id="c2"),
                              AddUnit("Chi bộ mới", UnitKind.PARTY_CELL)))
    write_chunk(owner_conn, rows[2_000:])
    assert_all_chains_verify(owner_conn, 3_001)


class Watched(list[Row]):
    """Rows that look at the database from another session each time they are read."""

    def __init__(self, rows: list[Row], look: Any) -> None:
        super().__init__(rows)
        self.look = look

    def __iter__(self) -> Iterator[Row]:
        self.look()
        return super().__iter__()


def test_no_other_session_sees_the_chain_trigger_disabled(
        owner_conn: psycopg.Connection, owner_store: EventStore,
        app_conn: psycopg.Connection) -> None:
    rows = list(stored_rows(owner_store.mapper, 1_000, cutoff=CUTOFF))
    writer = owner_conn.info.backend_pid
    seen: list[tuple[str, bool]] = []

    def look() -> None:
        enabled = triggers(app_conn)[CHAIN_TRIGGER]
        altering = app_conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND granted AND "
            "relation = 'public.danvan_events'::regclass AND mode = 'ShareRowExclusiveLock')",
            (writer,)).fetchone()
        assert altering is not None
        seen.append((enabled, altering[0]))

    write_chunk(owner_conn, Watched(rows, look))

    assert ("O", True) in seen  # read while the writer had it disabled (ALTER TABLE's lock)
    assert {enabled for enabled, _ in seen} == {"O"}
    assert_all_chains_verify(owner_conn, 1_000)


def test_the_generator_stops_at_exactly_n_events(
        owner_conn: psycopg.Connection, owner_store: EventStore) -> None:
    progress: list[int] = []
    stats = write_events(owner_conn, owner_store.mapper, 4_321, chunk=1_000,
                         progress=progress.append, cutoff=CUTOFF)
    assert stats.events == count(owner_conn) == 4_321
    assert progress == [1_000, 2_000, 3_000, 4_000, 4_321]
    assert len(list(stored_rows(owner_store.mapper, 777, cutoff=CUTOFF))) == 777
