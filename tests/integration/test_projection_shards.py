"""Projector shards by tenant hash (``--shard K/N``): killed mid-batch and restarted they lose and
duplicate nothing; a runner of another layout than the projection's is refused by name; the
lag, ``/metrics`` and the read-your-writes position show a stopped shard; a poison event is
quarantined by its tenant's shard only; a rebuild sets the layout. (The consistency property,
``test_projection_consistency``, applies generated logs with 3 tenant shards, and with 2
shards of 2 projection groups, and compares them table by table with one runner's.)"""

from __future__ import annotations

import os
import random
import shlex
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from danvan.backend.commands.projector import status_text
from danvan.backend.observability.metrics import projection_metrics
from danvan.domain.model import Model
from danvan.infra.database import connect_owner, owner_params
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.base import Projection, TableSharding, Write
from danvan.projections.catalog import all_projections, by_names
from danvan.projections.embedded import make_runner
from danvan.projections.events import Batch, log_head, topic_of
from danvan.projections.lag import lag_report
from danvan.projections.models.projection import Models
from danvan.projections.rebuild import rebuild_all
from danvan.projections.runner import LOCK_CLASS, Runner
from danvan.projections.schema import (
    active_versions,
    ensure_read_models,
    read_models_stamp,
    stamp_position,
)
from danvan.projections.sharding import (
    Shard,
    ShardingError,
    advance_shard,
    reshard,
    tenant_shard,
)
from tests.integration.poison import (
    STEPS_AFTER,
    STEPS_BEFORE,
    older_release,
    poisoned_history,
    quarantine_rows,
)
from tests.integration.test_projection_histories import (
    World,
    dump,
    positions,
    reset_read_models,
)
from tests.integration.test_projection_quarantine import append_raw
from tests.integration.test_projection_runner import random_history, reference, wait_until

SHARDS = 3


@pytest.fixture
def owner(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
        yield conn


def shard_positions(conn: psycopg.Connection[Any]) -> dict[tuple[str, int], int]:
    rows = conn.execute("SELECT s.name, s.shard, s.position FROM public.danvan_projection_shards s "
                        "JOIN public.danvan_projections p ON p.name = s.name "
                        "AND p.active_version = s.version").fetchall()
    return {(name, shard): position for name, shard, position in rows}


def catch_up_shards(settings: Settings, shards: list[Shard],
                    projections: list[Projection] | None = None, **options: Any) -> None:
    runners = [make_runner(settings, projections, shard=s, name=f"shard-{s.index}", **options)
               for s in shards]
    errors: list[BaseException] = []

    def catch_up(runner: Runner) -> None:
        try:
            runner.catch_up()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=catch_up, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r in runners:
        r.close()
    assert not errors, errors


KILLABLE = """
import sys, time
from danvan.projections.catalog import all_projections
from danvan.projections.runner import Runner
from danvan.projections.sharding import Shard
runner = Runner(sys.argv[1], all_projections(), app_role=sys.argv[2], batch_size=3,
                catch_up_batch_size=3, fault=lambda batch: time.sleep(0.01),
                shard=Shard.parse(sys.argv[3]))
runner.catch_up()
"""


def test_a_tenant_shard_killed_mid_batch_loses_and_duplicates_nothing(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    world = World(event_store).run(random_history(7, 220))
    head = log_head(owner)
    expected = reference(owner, settings)
    reset_read_models(owner, settings.app_db_role)
    wait_until(lambda: _resharded(owner, all_projections(), SHARDS))
    conninfo = owner_params(settings).conninfo()
    rng = random.Random(5)
    victim = Shard(tenant_shard(str(world.tenants[0].id), SHARDS), SHARDS)  # it has work
    # The other shards apply their tenants meanwhile.
    others = threading.Thread(target=catch_up_shards, args=(
        settings, [Shard(k, SHARDS) for k in range(SHARDS) if k != victim.index]),
        kwargs={"batch_size": 11})
    others.start()
    for _ in range(3):
        before = min(p for (_, k), p in shard_positions(owner).items() if k == victim.index)
        process = subprocess.Popen([sys.executable, "-c", KILLABLE, conninfo,
                                    settings.app_db_role, victim.label])
        try:
            wait_until(lambda b=before: min(
                p for (_, k), p in shard_positions(owner).items() if k == victim.index) > b)
            time.sleep(rng.uniform(0.0, 0.15))
        finally:
            process.kill()  # SIGKILL: no cleanup, a transaction is usually open
            process.wait()
    others.join(120)
    victims = [p for (_, k), p in shard_positions(owner).items() if k == victim.index]
    assert 0 < min(victims) < head  # killed part way
    assert min(positions(owner).values()) == min(victims)  # the version: its slowest shard
    catch_up_shards(settings, [victim], batch_size=7)
    assert set(shard_positions(owner).values()) == {head}
    assert set(positions(owner).values()) == {head}
    got = dump(owner)
    for table, rows in expected.items():
        assert got[table] == rows, table


def test_sharded_and_unsharded_runners_never_mix(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    World(event_store).run(random_history(3, 40))
    models = by_names(["models"])
    # Kept unsharded: a tenant shard is refused, by name, and says what to do.
    with pytest.raises(ShardingError, match=r"models v1 is kept unsharded.*reshard --shards 3"):
        make_runner(settings, models, shard=Shard(0, 3)).acquire(wait=False)
    reshard(owner, models, 3)
    assert active_versions(owner)["models"].shards == 3
    # Kept in 3 shards: the unsharded runner and a shard of another count are refused.
    with pytest.raises(ShardingError, match=r"models v1 is kept in 3 tenant shards"):
        make_runner(settings, models).acquire(wait=False)
    with pytest.raises(ShardingError, match=r"--shard K/3, not 0/2"):
        make_runner(settings, models, shard=Shard(0, 2)).acquire(wait=False)
    # The other projections stay unsharded, and their runner goes on.
    others = make_runner(settings, by_names(["audit", "directory"]))
    assert others.catch_up() == log_head(owner)
    others.close()
    # A layout changes only with its projectors stopped, and shards at one position.
    holder = make_runner(settings, models, shard=Shard(2, 3))
    try:
        assert holder.acquire(wait=False)
        with pytest.raises(ShardingError, match="stop its projectors"):
            reshard(owner, models, 1)
    finally:
        holder.close()
    wait_until(lambda: _resharded(owner, models, 3))
    catch_up_shards(settings, [Shard(0, 3)], models)
    wait_until(lambda: no_runner(owner))
    with pytest.raises(ShardingError, match=r"different positions.*rebuild it with --shards 1"):
        reshard(owner, models, 1)
    assert active_versions(owner)["models"].shards == 3
    # An unsharded runner starting again after the layout changed stops, naming it.
    catch_up_shards(settings, [Shard(1, 3), Shard(2, 3)], models)
    wait_until(lambda: _resharded(owner, models, 1))  # the closed sessions' locks go
    runner = make_runner(settings, models, poll_interval=0.1)
    assert runner.catch_up() == 0
    runner.release()
    reshard(owner, models, 2)
    stop = threading.Event()
    with pytest.raises(ShardingError, match="kept in 2 tenant shards"):
        runner.run(stop)


def no_runner(conn: psycopg.Connection[Any]) -> bool:
    """No session holds a projection's (or a shard's) advisory lock: the closed runners'
    sessions have ended."""
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %s "
        "AND objsubid = 2 AND database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())", (LOCK_CLASS,)).fetchone()
    return row is not None and row[0] == 0


def _resharded(conn: psycopg.Connection[Any], projections: Any, count: int) -> bool:
    try:
        reshard(conn, projections, count)
        return True
    except ShardingError:
        return False


def test_a_stopped_shard_shows_in_the_lag_the_metrics_and_the_read_position(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    World(event_store).run(random_history(9, 60))
    head = log_head(owner)
    [events] = owner.execute("SELECT count(*) FROM public.danvan_events").fetchone()
    reshard(owner, all_projections(), SHARDS)
    catch_up_shards(settings, [Shard(0, SHARDS), Shard(1, SHARDS)])
    stamp = read_models_stamp(owner)
    assert stamp_position(stamp) == 0  # read-your-writes waits for the slowest shard
    report = lag_report(owner)
    assert not report["ok"]
    for p in report["projections"]:
        assert (p["position"], p["lag_events"]) == (0, events), p["name"]
        assert not p["advancing"] and not p["runner_alive"]
        by_shard = {s["shard"]: s for s in p["shards"]}
        assert sorted(by_shard) == ["0/3", "1/3", "2/3"]
        assert by_shard["0/3"]["lag_events"] == by_shard["1/3"]["lag_events"] == 0
        assert by_shard["2/3"]["lag_events"] == events and not by_shard["2/3"]["advancing"]
    text = projection_metrics(lambda: report).decode()
    assert f'danvan_projection_lag_events{{projection="models"}} {float(events)}' in text
    assert f'danvan_projection_shard_lag_events{{projection="models",shard="2/3"}} ' \
           f'{float(events)}' in text
    assert 'danvan_projection_shard_lag_events{projection="models",shard="0/3"} 0.0' in text
    assert "shard 2/3" in status_text(report)
    # A shard that stands by holds its lock: the report says its runner is alive.
    standby = make_runner(settings, shard=Shard(2, SHARDS))
    try:
        assert standby.acquire(wait=False)
        shards = lag_report(owner)["projections"][0]["shards"]
        assert [s["runner_alive"] for s in shards] == [False, False, True]
        standby.catch_up()
    finally:
        standby.close()
    after = read_models_stamp(owner)
    assert after != stamp and stamp_position(after) == head
    report = lag_report(owner)
    assert report["ok"], report
    assert all(p["lag_events"] == 0 and p["position"] == head for p in report["projections"])


def test_a_poison_event_is_quarantined_by_its_tenants_shard_only(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    with older_release():
        world = poisoned_history(World(event_store))
        expected = reference(owner, settings)
        [unsharded] = quarantine_rows(owner)
        reset_read_models(owner, settings.app_db_role)
        wait_until(lambda: _resharded(owner, all_projections(), SHARDS))
        catch_up_shards(settings, [Shard(k, SHARDS) for k in range(SHARDS)], batch_size=4)
    [entry] = quarantine_rows(owner)
    assert entry == unsharded
    poisoned_tenant = world.models[0].tenant_id
    [shard] = owner.execute("SELECT shard FROM public.danvan_projection_quarantine").fetchone()
    assert shard == tenant_shard(poisoned_tenant, SHARDS)
    models = next(p for p in lag_report(owner)["projections"] if p["name"] == "models")
    assert [s["quarantined"] for s in models["shards"]] == [
        1 if k == shard else 0 for k in range(SHARDS)]
    got = dump(owner)
    for table, rows in expected.items():
        assert got[table] == rows, table


def test_a_rebuild_keeps_or_sets_the_layout_and_shards_follow_it(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    world = World(event_store).run(random_history(13, 80))
    conninfo = owner_params(settings).conninfo()
    [done] = rebuild_all(conninfo, by_names(["models"]), app_role=settings.app_db_role,
                         batch_size=9, shards=SHARDS)
    head = log_head(owner)
    assert done.position == head and active_versions(owner)["models"].shards == SHARDS
    assert {p for (name, _), p in shard_positions(owner).items() if name == "models"} == {head}
    world.run(random_history(14, 60)[9:])
    catch_up_shards(settings, [Shard(k, SHARDS) for k in range(SHARDS)],
                    by_names(["models"]), batch_size=5)
    rest = make_runner(settings, by_names(["audit", "directory", "plans", "reminders",
                                           "targets"]))
    rest.catch_up()
    rest.close()
    sharded = dump(owner)
    # A rebuild without --shards keeps the layout (as `danvan projector` does for stale tables).
    [again] = rebuild_all(conninfo, by_names(["models"]), app_role=settings.app_db_role)
    assert active_versions(owner)["models"].shards == SHARDS
    assert again.position == log_head(owner)
    rebuilt = dump(owner)
    expected = reference(owner, settings)
    for table, rows in expected.items():
        assert sharded[table] == rows, table
        assert rebuilt[table] == rows, table


def test_a_projection_with_a_one_writer_table_is_refused_tenant_shards(
        settings: Settings) -> None:
    class RollUp(Models):
        tables = (*Models.tables, "national_totals")

    with pytest.raises(ShardingError, match=r"models cannot be sharded by tenant: its tables "
                                            r"national_totals need one writer"):
        Runner("dbname=x", [RollUp()], app_role="r", shard=Shard(0, 2))


def test_every_table_declares_how_tenant_shards_may_write_it() -> None:
    for projection in all_projections():
        assert set(projection.sharding) == set(projection.tables), projection.name


DANVAN = str(Path(sys.executable).parent / "danvan")
TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "deploy" / "systemd" / \
    "danvan-projector-shard@.service"


def cli_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": settings.database_url or "",
            "DANVAN_APP_DB_ROLE": settings.app_db_role,
            "DANVAN_APP_DB_PASSWORD": settings.app_db_password, "DANVAN_ENV": "test",
            "DANVAN_SECRET_KEY": settings.secret_key}


def shard_command(instance: str) -> list[str]:
    """The template unit's ExecStart for ``instance`` (``K-N``), run by this checkout."""
    line = next(v for v in TEMPLATE.read_text().splitlines() if v.startswith("ExecStart="))
    command = shlex.split(line.removeprefix("ExecStart=").replace("%I",
                                                                   instance.replace("-", "/")))
    assert Path(command[0]).name == "danvan"
    return [DANVAN, *command[1:]]


def test_an_operator_shards_the_projector_with_the_command_and_the_unit(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any],
        tmp_path: Path) -> None:
    World(event_store).run(random_history(17, 50))
    head = log_head(owner)
    env = cli_env(settings)
    refused = subprocess.run(shard_command("0-2"), capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=120, check=False)
    assert refused.returncode == 2
    assert "kept unsharded" in refused.stderr and "reshard --shards 2" in refused.stderr
    bad = subprocess.run([DANVAN, "projector", "--shard", "2/2"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert bad.returncode == 2 and "0 <= K < N" in bad.stderr
    resharded = subprocess.run([DANVAN, "projector", "reshard", "--shards", "2"],
                               capture_output=True, text=True, env=env, cwd=tmp_path,
                               timeout=120, check=False)
    assert resharded.returncode == 0, resharded.stderr
    assert "models: kept in 2 tenant shards from position 0" in resharded.stdout
    processes = [subprocess.Popen(shard_command(f"{k}-2"), env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for k in range(2)]
    try:
        wait_until(lambda: all(p["position"] == head and p["runner_alive"]
                               for p in lag_report(owner)["projections"]), timeout=60)
        status = subprocess.run([DANVAN, "projector", "status"], capture_output=True,
                                text=True, env=env, cwd=tmp_path, timeout=60, check=False)
        assert status.returncode == 0, status.stdout
        assert "shard 0/2" in status.stdout and "shard 1/2" in status.stdout
    finally:
        for process in processes:
            process.terminate()
        codes = [process.wait(timeout=60) for process in processes]
    assert codes == [0, 0]
    got = dump(owner)
    for table, rows in reference(owner, settings).items():
        assert got[table] == rows, table


class TopicTally(Projection):
    """A roll-up every tenant's events write (events per topic, country-wide): ``ADDITIVE``,
    as a province's figures kept by the projector would be."""

    name = "topic_tally"
    tables = ("topic_tally",)
    sharding = dict.fromkeys(tables, TableSharding.ADDITIVE)

    def ddl(self, schema: str) -> list[str]:
        return [f"CREATE TABLE {schema}.topic_tally (tenant_id text NOT NULL, "
                "topic text PRIMARY KEY, events int NOT NULL)"]

    def prepare(self, reader: Any, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        counts = Counter(e.topic for e in batch.events)
        keys = sorted(counts)

        def write(cur: Any) -> None:
            if keys:  # in key order: shards lock the shared rows in one order
                cur.execute(
                    f"INSERT INTO {schema}.topic_tally AS t (tenant_id, topic, events) "
                    "SELECT '*', k, n FROM unnest(%s::text[], %s::int[]) AS u(k, n) "
                    "ORDER BY k ON CONFLICT (topic) DO UPDATE SET events = t.events + "
                    "excluded.events", (keys, [counts[k] for k in keys]))
        return write


def tally(conn: psycopg.Connection[Any]) -> dict[str, int]:
    schema = active_versions(conn)["topic_tally"].schema
    return dict(conn.execute(f"SELECT topic, events FROM {schema}.topic_tally").fetchall())


def test_rows_every_tenant_writes_add_up_the_same_from_tenant_shards(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    World(event_store).run(random_history(23, 120))
    [events] = owner.execute("SELECT count(*) FROM public.danvan_events").fetchone()
    projection = [TopicTally()]
    ensure_read_models(owner, settings.app_db_role, projection)
    one = make_runner(settings, projection)
    one.catch_up()
    one.close()
    expected = tally(owner)
    assert sum(expected.values()) == events and len(expected) > 5
    owner.execute("DELETE FROM public.danvan_projections WHERE name = 'topic_tally'")
    owner.execute("DELETE FROM public.danvan_projection_versions WHERE name = 'topic_tally'")
    ensure_read_models(owner, settings.app_db_role, projection)
    wait_until(lambda: _resharded(owner, projection, SHARDS))
    catch_up_shards(settings, [Shard(k, SHARDS) for k in range(SHARDS)], projection,
                    batch_size=3, catch_up_batch_size=4)
    assert tally(owner) == expected


def test_a_shard_advances_while_another_shards_open_batch_has_quarantined_an_event(
        settings: Settings, owner: psycopg.Connection[Any]) -> None:
    """A quarantined event's row references its version's row (a key-share lock until the
    batch commits); a shard advancing the same version must not wait for that batch, or two
    shards' batches (one quarantining, one advancing every projection in order) deadlock."""
    [models] = by_names(["models"])
    assert reshard(owner, [models], 2)["models"] == 0
    version = owner.execute("SELECT active_version FROM public.danvan_projections "
                            "WHERE name = 'models'").fetchone()
    assert version is not None
    with connect_owner(settings) as quarantining, connect_owner(settings) as advancing, \
            quarantining.transaction(force_rollback=True):
        quarantining.execute(
            "INSERT INTO public.danvan_projection_quarantine (name, version, position, topic, "
            "aggregate_id, aggregate_version, error, shard) VALUES ('models', %s, 1, 't', "
            "gen_random_uuid(), 1, 'poison', 0)", (version[0],))  # its batch still open
        advancing.execute("SET lock_timeout = '2s'")
        with advancing.transaction(), advancing.cursor() as cur:
            assert advance_shard(cur, "models", version[0], Shard(1, 2), 0, 5, 5, False)
    assert shard_positions(owner)[("models", 1)] == 5


def test_an_undecodable_event_is_quarantined_as_one_runner_quarantines_it(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    """An event whose state cannot be decoded names no tenant to route it by: shard 0 takes
    it, so it is quarantined once, by the projections that read it, as by one runner."""
    world = World(event_store).run(STEPS_BEFORE)
    model = world.models[0]
    position = append_raw(owner, str(model.id), 10_000, topic_of(Model.ProgressReported), {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-06-01T09:00:00+00:00"},
        "tenant_id": str(model.tenant_id), "meta": {"actor_id": "u1"},
        "class_version": "two"})
    world.run(STEPS_AFTER)
    expected = reference(owner, settings)
    unsharded = {(r[0], r[2]) for r in quarantine_rows(owner)}
    assert unsharded == {("models", position), ("audit", position)}
    reset_read_models(owner, settings.app_db_role)
    wait_until(lambda: _resharded(owner, all_projections(), SHARDS))
    catch_up_shards(settings, [Shard(k, SHARDS) for k in range(SHARDS)], batch_size=4)
    assert {(r[0], r[2]) for r in quarantine_rows(owner)} == unsharded
    assert {r[0] for r in owner.execute(
        "SELECT shard FROM public.danvan_projection_quarantine").fetchall()} == {0}
    assert set(shard_positions(owner).values()) == {log_head(owner)}
    got = dump(owner)
    for table, rows in expected.items():
        assert got[table] == rows, table
