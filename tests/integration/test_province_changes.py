"""The projector's count of changed batches per province: a tenant's events count for its
province (known from its onboarding, in the same batch or an earlier one), a province scope's
for that province, and an event of a tenant never onboarded for every province (``*``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from danvan.infra.database import connect_owner
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.embedded import make_runner
from danvan.projections.events import Batch, log_head
from danvan.projections.province_changes import ONBOARDED, changes, record
from danvan.projections.schema import ensure_read_models
from tests.integration.test_projection_histories import DEEP_HISTORY, PROVINCE, World

TENANT, STRANGER = "6f1c0a52-1111-4e7f-9a0e-000000000001", "6f1c0a52-2222-4e7f-9a0e-000000000002"


def event(tenant_id: str, topic: str = "danvan.domain.model:Model.Submitted",
          **data: Any) -> Any:
    return SimpleNamespace(tenant_id=tenant_id, topic=topic, data=SimpleNamespace(**data))


def test_batches_count_for_the_provinces_their_events_belong_to(
        owner_conn: psycopg.Connection[Any]) -> None:
    with owner_conn.transaction(), owner_conn.cursor() as cur:
        record(cur, Batch(0, 2, [event(TENANT, ONBOARDED, province_code="15"),
                                 event(TENANT)]))
        record(cur, Batch(2, 4, [event(TENANT), event("province:01")]))
        record(cur, Batch(4, 5, [event("province:01")]))
    assert changes(owner_conn, "15") == (2, 0)
    assert changes(owner_conn, "01") == (2, 0)
    assert changes(owner_conn, "79") == (0, 0)
    with owner_conn.transaction(), owner_conn.cursor() as cur:
        record(cur, Batch(5, 6, [event(STRANGER)]))
    assert changes(owner_conn, "15") == (2, 1) and changes(owner_conn, "79") == (0, 1)


@pytest.mark.parametrize("catch_up_batch_size", [4, None], ids=["pipelined", "one at a time"])
def test_a_catch_up_counts_a_change_for_every_batch_of_the_province(
        settings: Settings, event_store: EventStore, catch_up_batch_size: int | None) -> None:
    """The pipelined catch-up drops each batch's decoded events once its rows are prepared;
    the batches it applies must still count for their province, or the province's cached
    figures would outlive them."""
    World(event_store).run(DEEP_HISTORY)
    with connect_owner(settings) as owner:
        ensure_read_models(owner, settings.app_db_role)
        batches: list[int] = []
        runner = make_runner(settings, batch_size=4, catch_up_batch_size=catch_up_batch_size)
        runner.on_batch = lambda applied: batches.append(applied.count)
        runner.catch_up()
        runner.close()
        assert sum(batches) == log_head(owner) > 40
        assert changes(owner, PROVINCE) == (len(batches), 0)
