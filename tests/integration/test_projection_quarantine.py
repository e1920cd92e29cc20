"""A poison event (known, but the read model cannot hold it) no longer freezes every projection
of every tenant: it is quarantined for the projection that cannot apply it, with its position
and error, and everything else is applied, by the live runner, the pipelined catch-up and a
rebuild alike; the read models are those of the log without it. Once the upcaster is in
place, a rebuild applies it and nothing stays quarantined."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from danvan.domain.model import Model
from danvan.infra.database import connect_owner, owner_params
from danvan.infra.event_store import EventStore, open_event_store
from danvan.infra.settings import Settings
from danvan.projections.catalog import all_projections, by_names
from danvan.projections.embedded import make_runner
from danvan.projections.events import log_head, topic_of
from danvan.projections.lag import lag_report
from danvan.projections.rebuild import rebuild
from danvan.projections.schema import active_versions, ensure_read_models
from tests.integration.poison import (
    POISON,
    STEPS_AFTER,
    STEPS_BEFORE,
    applied_without,
    older_release,
    poisoned_history,
    quarantine_rows,
    store_poison,
)
from tests.integration.test_projection_histories import (
    World,
    dump,
    positions,
    written_history,
)
from tests.integration.test_projection_runner import wait_until

DANVAN = str(Path(sys.executable).parent / "danvan")
REPO = Path(__file__).resolve().parents[2]
PROGRESS = topic_of(Model.ProgressReported)


@pytest.fixture
def owner(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
        yield conn


def poison_position(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT notification_id FROM public.danvan_events "
                       "WHERE convert_from(state, 'UTF8') LIKE %s", (f"%{POISON}%",)).fetchone()
    assert row is not None
    return int(row[0])


RUNNERS = {
    "live, batch by batch": {"batch_size": 4, "pipelined": False},
    "pipelined catch-up": {"batch_size": 3, "catch_up_batch_size": 3},
    "one batch": {"batch_size": 100_000},
}


@pytest.mark.parametrize("how", sorted(RUNNERS))
def test_a_poison_event_is_quarantined_and_everything_else_applied(
        how: str, settings: Settings, event_store: EventStore,
        owner: psycopg.Connection[Any]) -> None:
    with older_release():
        world = poisoned_history(World(event_store))
        poisoned = poison_position(owner)
        options = dict(RUNNERS[how])
        pipelined = bool(options.pop("pipelined", True))
        runner = make_runner(settings, **options)
        runner.pipelined = pipelined
        runner.catch_up()
        runner.close()
        head = log_head(owner)
        assert set(positions(owner).values()) == {head} and poisoned < head
        [entry] = quarantine_rows(owner)
        model = world.models[0]
        assert entry[:7] == ("models", 1, poisoned, model.tenant_id, PROGRESS, str(model.id),
                             entry[6])
        assert "NumericValueOutOfRange" in entry[7] and "money_vnd" in entry[7]
        assert runner.stats.quarantined == 1
        quarantined = dump(owner)
        # The same as one pass over the log without the poison event (for the models
        # projection only: the audit log holds it like any other event).
        assert quarantined == applied_without(owner, settings.app_db_role,
                                              {("models", poisoned)})
    assert {row[1] for row in quarantined["audit_index"]} >= {str(t.id) for t in world.tenants}
    later_tenant = str(world.tenants[2].id)
    assert any(row[1] == later_tenant for row in quarantined["models"])


def test_the_live_runner_keeps_following_after_a_poison_event(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    """``run``: what retried the same batch for ever now skips it and follows the log."""
    with older_release():
        world = World(event_store).run(
            [("onboard", 0, 1), ("onboard", 1, 1), ("add_unit", 0, 1), ("add_unit", 1, 1),
             ("register", 0, 1)])
        runner = make_runner(settings, batch_size=50, poll_interval=0.1)
        stop = threading.Event()
        thread = threading.Thread(target=runner.run, args=(stop,))
        thread.start()
        try:
            wait_until(lambda: set(positions(owner).values()) == {log_head(owner)})
            store_poison(world)
            world.run([("register", 1, 1), ("register", 0, 1)])
            wait_until(lambda: set(positions(owner).values()) == {log_head(owner)})
        finally:
            stop.set()
            thread.join(10)
    assert len(quarantine_rows(owner)) == 1
    names = {row[0] for row in owner.execute("SELECT tenant_id FROM danvan_read.models")}
    assert names == {str(t.id) for t in world.tenants}


def test_a_rebuild_quarantines_it_again_and_only_the_active_version_counts(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    with older_release():
        poisoned_history(World(event_store))
        runner = make_runner(settings, batch_size=5)
        runner.catch_up()
        runner.close()
        assert [r[:2] for r in quarantine_rows(owner)] == [("models", 1)]
        before = dump(owner)
        [done] = rebuild(owner, by_names(["models"]), app_role=settings.app_db_role,
                         batch_size=6, conninfo=owner_params(settings).conninfo())
        assert (done.old_version, done.new_version) == (1, 2)
        assert [r[:2] for r in quarantine_rows(owner)] == [("models", 2)]
        assert dump(owner) == before
        report = lag_report(owner)
        assert not report["ok"]
        assert report["quarantined"]["total"] == 1
        kept = rebuild(owner, by_names(["models"]), app_role=settings.app_db_role,
                       batch_size=50, keep_old=True)
        assert kept[0].new_version == 3
        assert [r[:2] for r in quarantine_rows(owner)] == [("models", 2), ("models", 3)]
        assert lag_report(owner)["quarantined"]["total"] == 1  # the retired v2 does not count


def status(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "DANVAN_APP_DB_ROLE": settings.app_db_role,
           "DANVAN_APP_DB_PASSWORD": settings.app_db_password, "DANVAN_ENV": "test",
           "DANVAN_SECRET_KEY": settings.secret_key}
    return subprocess.run([DANVAN, "projector", "status", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=60, check=False)


def test_an_operator_sees_the_poison_event_and_recovers_with_the_upcaster_and_a_rebuild(
        admin_params: Any, template_database: str, tmp_path: Path) -> None:
    """End to end: quarantined and shown (status, report); the upcaster deployed; a rebuild
    applies it; the read models equal those of a clean log (the same history with the value
    the upcaster gives, stored at the current version)."""
    with written_history(admin_params, template_database, tmp_path / "clean", []) as (
            clean, _), connect_owner(clean) as conn:
        store = open_event_store(clean)
        try:
            poisoned_history(World(store), money_vnd="0.00")
        finally:
            store.close()
        ensure_read_models(conn, clean.app_db_role)
        runner = make_runner(clean)
        runner.catch_up()
        runner.close()
        expected = dump(conn)

    with written_history(admin_params, template_database, tmp_path / "poisoned", []) as (
            config, _), connect_owner(config) as conn:
        ensure_read_models(conn, config.app_db_role)
        with older_release():
            store = open_event_store(config)
            try:
                world = poisoned_history(World(store))
            finally:
                store.close()
            runner = make_runner(config, batch_size=7)
            runner.catch_up()
            runner.close()
        poisoned = poison_position(conn)
        assert set(positions(conn).values()) == {log_head(conn)}

        shown = status(config)
        assert shown.returncode == 1, shown.stderr
        assert f"position {poisoned:,}" in shown.stdout
        assert world.models[0].tenant_id in shown.stdout
        assert "NumericValueOutOfRange" in shown.stdout

        # The upcaster is deployed (older_release is over): a rebuild replays the event.
        done = rebuild(conn, all_projections(), app_role=config.app_db_role, batch_size=9,
                       conninfo=owner_params(config).conninfo())
        assert {r.new_version for r in done} == {2}
        assert quarantine_rows(conn) == []
        assert lag_report(conn)["quarantined"]["total"] == 0
        assert conn.execute("SELECT money_vnd FROM danvan_read.progress_reports "
                            "WHERE position = %s", (poisoned,)).fetchone() == (Decimal("0.00"),)
        assert dump(conn) == expected
        assert status(config).returncode == 0
        assert active_versions(conn)["models"].version == 2



def append_raw(conn: psycopg.Connection[Any], aggregate: str, version: int, topic: str,
               state: dict[str, Any]) -> int:
    """An event written past the domain and the store's mapper (as a buggy or older writer
    could have)."""
    with conn.transaction():
        conn.execute("SELECT public.danvan_events_lock()")
        row = conn.execute(
            "INSERT INTO public.danvan_events (originator_id, originator_version, topic, "
            "state) VALUES (%s, %s, %s, %s) RETURNING notification_id",
            (aggregate, version, topic, json.dumps(state).encode())).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(("case", "quarantined_by"), [
    ("an undecodable state", {"models", "audit"}),
    ("an event the fold cannot place", {"models"}),
])
def test_other_poison_is_quarantined_only_by_the_projections_that_read_it(
        case: str, quarantined_by: set[str], settings: Settings, event_store: EventStore,
        owner: psycopg.Connection[Any]) -> None:
    world = World(event_store).run(STEPS_BEFORE)
    tenant = str(world.tenants[0].id)
    state = {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-06-01T09:00:00+00:00"},
             "tenant_id": tenant, "meta": {"actor_id": "u1"}}
    if case == "an undecodable state":
        model = world.models[0]
        position = append_raw(owner, str(model.id), 10_000, PROGRESS,
                              {**state, "class_version": "two"})
    else:  # a submission of a model that was never registered
        position = append_raw(owner, str(uuid.uuid4()), 2, topic_of(Model.Submitted), state)
    world.run(STEPS_AFTER)
    runner = make_runner(settings, batch_size=6, catch_up_batch_size=6)
    runner.catch_up()
    runner.close()
    assert set(positions(owner).values()) == {log_head(owner)}
    rows = quarantine_rows(owner)
    assert {(r[0], r[2], r[3]) for r in rows} == {(n, position, tenant) for n in quarantined_by}
    assert dump(owner) == applied_without(owner, settings.app_db_role,
                                          {(n, position) for n in quarantined_by})
