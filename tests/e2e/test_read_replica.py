"""GraphQL on a streaming replica (``DANVAN_READ_REPLICA_URL``): a real primary and standby
(``pg_basebackup -R``), commands on the primary, reads answered by the replica while its read
models are within ``DANVAN_REPLICA_MAX_LAG`` of the primary's, by the primary past that bound,
for read-your-writes the replica has not reached, and while the replica is down. Each answer
says where it was read and how far behind the replica was; ``/health/ready`` reports it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from danvan.backend.app import create_app
from danvan.backend.wiring import build
from danvan.infra.database import ConnParams
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from tests.conftest import create_test_database, ensure_template, make_settings
from tests.e2e.conftest import MadeUser
from tests.e2e.graphql_support import catch_up
from tests.e2e.world import World
from tests.replication import Replicated, primary_and_replica

MODEL = "query Model($id: ID!) { model(id: $id) { id name state } }"
WITHIN = 30
"""The bound of the main app: long enough that a paused replica stays within it here."""


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    with primary_and_replica() as pair:
        yield pair


@pytest.fixture
def database_url(replicated: Replicated) -> Iterator[str]:
    """A migrated database of its own on the private primary (replicated with the rest)."""
    admin = ConnParams.from_url(replicated.primary.url())
    name = create_test_database(admin, ensure_template(admin))
    replicated.wait_replayed(name)
    yield admin.with_dbname(name).url(password=True)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, replicated: Replicated) -> Settings:
    dbname = ConnParams.from_url(database_url).dbname
    return make_settings(database_url, tmp_path,
                         read_replica_url=replicated.replica.url(dbname),
                         replica_max_lag_seconds=WITHIN)


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


def read(client: httpx.Client, world: World, model_id: str,
         position: str | None = None) -> dict[str, Any]:
    headers = dict(world.as_("reviewer"))
    if position is not None:
        headers["Danvan-Min-Position"] = position
    answer = client.post("/graphql", headers=headers,
                         json={"query": MODEL, "variables": {"id": model_id}})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    return body


def state_of(body: dict[str, Any]) -> str | None:
    model = body["data"]["model"]
    return model["state"] if model else None


def test_reads_come_from_the_replica_within_its_bound_and_from_the_primary_past_it(
        world: World, settings: Settings, replicated: Replicated, event_store: EventStore,
        serve: Callable[[Litestar], str]) -> None:
    dbname = ConnParams.from_url(settings.database_url or "").dbname
    model = world.register(name="Tổ tự quản an ninh thôn Khe Sang")
    catch_up(settings)
    replicated.wait_replayed(dbname)
    caught_up = read(world.client, world, model["id"])
    assert caught_up["extensions"]["readFrom"] == "replica"
    assert caught_up["extensions"]["replicaLagSeconds"] == 0
    assert state_of(caught_up) == "DRAFT"

    replicated.pause_replay(True)
    try:
        submitted = world.act(model["id"], "submit", "unit_user")
        position = submitted.headers["danvan-position"]
        catch_up(settings)
        # Within the bound, the replica answers what it has: the model as it was.
        behind = read(world.client, world, model["id"])
        assert behind["extensions"]["readFrom"] == "replica"
        assert 0 < behind["extensions"]["replicaLagSeconds"] <= WITHIN
        assert state_of(behind) == "DRAFT"
        assert behind["extensions"]["position"] < int(position)
        # Read-your-writes: the replica has not reached the position, so the primary answers.
        mine = read(world.client, world, model["id"], position)
        assert mine["extensions"]["readFrom"] == "primary"
        assert state_of(mine) == "SUBMITTED" and "stale" not in mine["extensions"]

        # An app whose bound is one second: once the replica is further behind, the
        # primary answers everyone, and readiness says the replica is degraded.
        strict = replace(settings, replica_max_lag_seconds=1)
        services = build(strict, store=event_store)
        try:
            with httpx.Client(base_url=serve(create_app(strict, services=services)),
                              timeout=30) as other:
                deadline = time.monotonic() + 20
                while True:
                    past = read(other, world, model["id"])
                    if past["extensions"]["readFrom"] == "primary":
                        break
                    assert time.monotonic() < deadline, past
                    time.sleep(0.2)
                assert past["extensions"]["replicaLagSeconds"] > 1
                assert state_of(past) == "SUBMITTED"
                ready = other.get("/health/ready").json()
                assert ready["status"] == "degraded"
                assert ready["checks"]["replica"]["ok"] is False
                assert ready["checks"]["replica"]["lag_seconds"] > 1
        finally:
            services.close()
    finally:
        replicated.pause_replay(False)

    replicated.wait_replayed(dbname)
    again = read(world.client, world, model["id"])
    assert again["extensions"]["readFrom"] == "replica"
    assert again["extensions"]["replicaLagSeconds"] == 0
    assert state_of(again) == "SUBMITTED"
    ready = world.client.get("/health/ready").json()
    assert ready["checks"]["replica"]["ok"] is True


def test_while_the_replica_is_down_the_primary_answers(
        world: World, settings: Settings, replicated: Replicated) -> None:
    model = world.register(name="Góc sách cộng đồng tổ 7")
    catch_up(settings)
    replicated.replica.stop()
    try:
        body = read(world.client, world, model["id"])
        assert body["extensions"]["readFrom"] == "primary"
        assert body["extensions"]["replicaLagSeconds"] is None
        assert state_of(body) == "DRAFT"
        ready = world.client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["replica"]["ok"] is False
    finally:
        replicated.replica.start("hot_standby=on")
