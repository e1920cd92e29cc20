"""Property: an "as of T" answer (from validity timestamps, no replay) equals the answer of read
models built by replaying only the events stamped at or before T."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from danvan.infra.database import ConnParams, connect_owner
from danvan.projections.audit.projection import Audit
from danvan.projections.catalog import all_projections
from danvan.projections.embedded import make_runner
from danvan.projections.events import batch_of, fetch_batch
from danvan.projections.models.read import (
    breakdown,
    period_quotas,
    province_figures,
    unit_compliance,
)
from danvan.projections.schema import active_versions, ensure_read_models
from tests.integration.test_projection_histories import (
    DEEP_HISTORY,
    PROVINCE,
    START,
    World,
    history_strategy,
    reset_read_models,
    tenant_quota,
    written_history,
)
from tests.reliability import scale


def answers(conn: Any, world: World, at: datetime, as_of: datetime | None) -> dict[str, Any]:
    """Every time-travelling question, judged at ``at``."""
    result: dict[str, Any] = {}
    ids = [str(t.id) for t in world.tenants]
    for year in world.years():
        figures = province_figures(conn, PROVINCE, year, as_of=as_of, now=at)
        result[f"summary {year}"] = figures.summary()
        result[f"page {year}"] = list(figures.quotas)
        for tid in ids:
            result[f"quota {tid} {year}"] = tenant_quota(conn, tid, year, as_of=as_of, now=at)
            result[f"fields {tid} {year}"] = breakdown(conn, [tid], year, as_of=as_of)
        result[f"units {year}"] = unit_compliance(conn, ids, year, as_of=as_of)
    result["periods"] = period_quotas(conn, ids, as_of=as_of, now=at)
    return result


def replay_until(conn: Any, at: datetime) -> None:
    """Build the read models from the events stamped at or before ``at`` only."""
    events = [e for e in fetch_batch(conn, 0, 10**9).events if e.timestamp <= at]
    schemas = {name: v.schema for name, v in active_versions(conn).items()}
    with conn.transaction(), conn.cursor() as cur:
        for projection in all_projections():
            if not isinstance(projection, Audit):  # the audit log is not time-travelled
                projection.apply(cur, schemas[projection.name], batch_of(events))


@settings(max_examples=scale.current().history_examples, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=history_strategy, moments=st.lists(st.floats(0.0, 1.05), min_size=1, max_size=3))
@example(steps=DEEP_HISTORY, moments=[0.1, 0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
def test_as_of_equals_a_replay_up_to_that_moment(
        admin_params: ConnParams, template_database: str, tmp_path_factory: pytest.TempPathFactory,
        steps: list[tuple[str, int, int]], moments: list[float]) -> None:
    tmp: Path = tmp_path_factory.mktemp("asof")
    with written_history(admin_params, template_database, tmp, steps) as (config, world):
        span = world.now - START
        instants = [START + span * f for f in moments]
        instants.append(world.now - timedelta(seconds=1))  # just before the last step
        with connect_owner(config) as conn:
            ensure_read_models(conn, config.app_db_role)
            runner = make_runner(config)
            runner.catch_up()
            runner.close()
            travelled = {at: answers(conn, world, at, as_of=at) for at in instants}
            for at in instants:
                reset_read_models(conn, config.app_db_role)
                replay_until(conn, at)
                assert answers(conn, world, at, as_of=None) == travelled[at], at
