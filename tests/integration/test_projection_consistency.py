"""Property: however the log is applied — in one batch, in batches of any size, after a crash
at any point, by projector shards side by side (by projection, by tenant hash, and both), or
by a blue/green rebuild — the read models come out the same, and the quotas equal the
figures computed independently from the domain aggregates."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from danvan.infra.database import ConnParams, connect_owner, owner_params
from danvan.projections.catalog import all_projections
from danvan.projections.embedded import make_runner
from danvan.projections.events import log_head
from danvan.projections.models.read import province_figures
from danvan.projections.models.rows import TenantQuota
from danvan.projections.rebuild import rebuild_all
from danvan.projections.schema import ensure_read_models, versions
from danvan.projections.sharding import Shard, ShardingError, reshard
from tests.integration.test_projection_histories import (
    DEEP_HISTORY,
    PROVINCE,
    dump,
    history_strategy,
    positions,
    reset_read_models,
    tenant_quota,
    written_history,
)
from tests.reliability import scale

FAR_FUTURE = datetime(2999, 1, 1, tzinfo=UTC)


class Crash(Exception):
    pass


def crash_at(batch_number: int) -> Any:
    seen = [0]

    def fault(batch: Any) -> None:
        seen[0] += 1
        if seen[0] == batch_number:
            raise Crash(f"crash inside batch {batch_number}")
    return fault


def quota_figures(q: TenantQuota) -> dict[str, int]:
    return {"new_models": q.new_models, "recognized_tenant_level": q.recognized_tenant_level,
            "recognized_province_level": q.recognized_province_level,
            "maintained_models": q.maintained_models,
            "discontinued_models": q.discontinued_models,
            "units_without_registration": q.units_without_registration,
            "new_models_target": q.new_models_target,
            "recognized_tenant_level_target": q.recognized_tenant_level_target,
            "recognized_province_level_target": q.recognized_province_level_target}


@settings(max_examples=scale.current().history_examples, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=history_strategy, batch_size=st.integers(1, 9), crash_batch=st.integers(1, 12),
       crash_batch_size=st.integers(1, 6), rebuild_batch=st.integers(1, 50))
@example(steps=DEEP_HISTORY, batch_size=4, crash_batch=7, crash_batch_size=5, rebuild_batch=9)
def test_every_way_of_applying_the_log_gives_the_same_read_models(
        admin_params: ConnParams, template_database: str, tmp_path_factory: pytest.TempPathFactory,
        steps: list[tuple[str, int, int]], batch_size: int, crash_batch: int,
        crash_batch_size: int, rebuild_batch: int) -> None:
    tmp: Path = tmp_path_factory.mktemp("history")
    with written_history(admin_params, template_database, tmp, steps) as (config, world):
        role = config.app_db_role
        with connect_owner(config) as conn:
            ensure_read_models(conn, role)
            head = log_head(conn)

            runner = make_runner(config, batch_size=10_000)
            assert runner.catch_up() == head
            runner.close()
            reference = dump(conn)
            assert set(positions(conn).values()) == {head}

            # The quotas are the figures the aggregates themselves give.
            for tenant in world.tenants:
                for year in world.years():
                    expected = world.expected_quota(tenant, year)
                    stored = tenant_quota(conn, str(tenant.id), year)
                    replayed = tenant_quota(conn, str(tenant.id), year, as_of=FAR_FUTURE,
                                            now=FAR_FUTURE)
                    assert stored is not None and replayed is not None
                    assert quota_figures(stored) == expected
                    assert quota_figures(replayed) == expected
            assert_province_figures_kept_equal_replayed(conn, world.years())

            # Batches of any size.
            reset_read_models(conn, role)
            runner = make_runner(config, batch_size=batch_size, catch_up_batch_size=batch_size)
            runner.catch_up()
            runner.close()
            assert dump(conn) == reference

            # A crash inside a batch transaction, then a fresh runner resumes.
            reset_read_models(conn, role)
            crashing = make_runner(config, batch_size=crash_batch_size,
                                   catch_up_batch_size=crash_batch_size)
            crashing.fault = crash_at(crash_batch)
            with contextlib.suppress(Crash):
                crashing.catch_up()
            crashing.close()
            resumed = make_runner(config, batch_size=crash_batch_size + 2,
                                  catch_up_batch_size=crash_batch_size + 3)
            resumed.catch_up()
            resumed.close()
            assert dump(conn) == reference
            assert set(positions(conn).values()) == {head}

            # Shards by projection: two runners, each applying its share, side by side (each
            # projection's advisory lock is held by one of them).
            reset_read_models(conn, role)
            every = all_projections()
            shards = [make_runner(config, every[i::2], batch_size=batch_size,
                                  catch_up_batch_size=batch_size, name=f"shard-{i}")
                      for i in range(2)]
            threads = [threading.Thread(target=shard.catch_up) for shard in shards]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            for shard in shards:
                shard.close()
            assert dump(conn) == reference
            assert set(positions(conn).values()) == {head}

            # Shards by tenant hash: three runners, each applying its tenants' events.
            reset_read_models(conn, role)
            reshard_when_free(conn, every, 3)
            run_side_by_side([make_runner(config, shard=Shard(k, 3), batch_size=batch_size,
                                          catch_up_batch_size=batch_size, name=f"tenants-{k}")
                              for k in range(3)])
            same_tables(dump(conn), reference)
            assert set(positions(conn).values()) == {head}
            assert set(shard_positions(conn)) == {head}

            # Both: two tenant shards of each of two projection groups, four runners.
            reset_read_models(conn, role)
            reshard_when_free(conn, every, 2)
            run_side_by_side([make_runner(config, every[i::2], shard=Shard(k, 2),
                                          batch_size=batch_size + k,
                                          catch_up_batch_size=batch_size + k,
                                          name=f"group-{i}-tenants-{k}")
                              for i in range(2) for k in range(2)])
            same_tables(dump(conn), reference)
            assert set(positions(conn).values()) == {head}
            assert all(v.shards == 2 for v in versions(conn) if v.status == "active")

            # A blue/green rebuild of every projection.
            done = rebuild_all(owner_params(config).conninfo(), all_projections(),
                               app_role=role, batch_size=rebuild_batch, shards=1)
            assert all(r.new_version == 2 and r.position == head for r in done)
            assert dump(conn) == reference


def reshard_when_free(conn: Any, projections: list[Any], count: int) -> None:
    """``reshard`` once the closed runners' sessions have let their locks go."""
    deadline = time.monotonic() + 20
    while True:
        try:
            reshard(conn, projections, count)
            return
        except ShardingError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def run_side_by_side(runners: list[Any]) -> None:
    threads = [threading.Thread(target=runner.catch_up) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for runner in runners:
        runner.close()


def same_tables(got: dict[str, list[Any]], reference: dict[str, list[Any]]) -> None:
    """Table by table, so that a difference names its table."""
    assert set(got) == set(reference)
    for table, rows in reference.items():
        assert got[table] == rows, table


def shard_positions(conn: Any) -> set[int]:
    return {row[0] for row in conn.execute(
        "SELECT s.position FROM public.danvan_projection_shards s JOIN public.danvan_projections "
        "p ON p.name = s.name AND p.active_version = s.version").fetchall()}


def assert_province_figures_kept_equal_replayed(conn: Any, years: list[int]) -> None:
    """The province's figures from the rows the projector keeps per province (its tenants'
    rows by province, the by-field and progress rollup) equal those the history gives."""
    for year in years:
        kept = province_figures(conn, PROVINCE, year, now=FAR_FUTURE)
        replayed = province_figures(conn, PROVINCE, year, as_of=FAR_FUTURE, now=FAR_FUTURE)
        assert kept == replayed


EARLY_TENANT = [("onboard", 0, 1), ("early_unit", 0, 1), ("register", 1, 2),
                *[("advance", 1, 30)] * 4, ("progress", 1, 20), ("onboard", 0, 5),
                ("register", 1, 3), *[("advance", 1, 30)] * 6, ("progress", 2, 10),
                ("add_unit", 1, 2), ("close_unit", 0, 5)]


@pytest.mark.parametrize("batch_size", [1, 4])
def test_a_tenant_whose_models_precede_its_onboarding_joins_its_province_figures(
        admin_params: ConnParams, template_database: str,
        tmp_path_factory: pytest.TempPathFactory, batch_size: int) -> None:
    """Its rows written before its onboarding get their province, and its totals join the
    province's rollup, whether the onboarding comes in their batch or a later one."""
    tmp: Path = tmp_path_factory.mktemp("early")
    with written_history(admin_params, template_database, tmp, EARLY_TENANT) as (config, world):
        role = config.app_db_role
        assert len(world.tenants) == 2 and world.models
        with connect_owner(config) as conn:
            ensure_read_models(conn, role)
            runner = make_runner(config, batch_size=10_000)
            runner.catch_up()
            runner.close()
            reference = dump(conn)
            assert_province_figures_kept_equal_replayed(conn, world.years())
            late = str(world.tenants[1].id)
            assert any(r[0] == late for r in reference["quota_counts"])
            for table in ("quota_counts", "open_units", "unit_histogram"):
                assert conn.execute(f"SELECT count(*) FROM danvan_read.{table} "
                                    "WHERE province_code IS DISTINCT FROM %s",
                                    (PROVINCE,)).fetchone() == (0,)

            reset_read_models(conn, role)
            runner = make_runner(config, batch_size=batch_size, catch_up_batch_size=batch_size)
            runner.catch_up()
            runner.close()
            assert dump(conn) == reference
