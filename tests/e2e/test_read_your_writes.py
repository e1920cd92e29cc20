"""Read-your-writes: a command answers ``Danvan-Position``; a GraphQL read that sends it back as
``Danvan-Min-Position`` sees the write once the projector has applied it, or, after at most two
seconds, the data as it stood, flagged ``stale``. Every GraphQL answer says its position."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from danvan.infra.settings import Settings
from danvan.projections.catalog import all_projections
from danvan.projections.sharding import Shard, ShardingError, reshard, tenant_shard
from tests.e2e.conftest import MadeUser
from tests.e2e.graphql_support import catch_up
from tests.e2e.world import FORM, YEN_BAI, World
from tests.integration.test_projection_runner import wait_until

MODEL = "query Model($id: ID!) { model(id: $id) { id name state } }"


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


def last_position(conn: psycopg.Connection[Any], aggregate_id: str) -> int:
    row = conn.execute("SELECT max(notification_id) FROM danvan_events "
                       "WHERE originator_id = %s", (aggregate_id,)).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def register(world: World, name: str) -> httpx.Response:
    unit = world.tenants[YEN_BAI].units["Chi bộ Tổ dân phố 5"]
    return world.client.post(world.models_path(), headers=world.as_("unit_user"),
                             json={"unit_id": unit, "year": 2026, "name": name, **FORM})


def read_model(world: World, model_id: str, min_position: str | None = None
               ) -> httpx.Response:
    headers: dict[str, str | bytes] = dict(world.as_("reviewer"))
    if min_position is not None:  # as UTF-8 bytes: a hostile client is not limited to ASCII
        headers["Danvan-Min-Position"] = min_position.encode()
    return world.client.post("/graphql", headers=headers,
                             json={"query": MODEL, "variables": {"id": model_id}})


def test_each_command_answers_the_position_of_its_last_event(
        world: World, owner_conn: psycopg.Connection[Any]) -> None:
    created = register(world, "Đường hoa thôn Pác Ngòi")
    assert created.status_code == 201, created.text
    model_id = created.json()["id"]
    assert int(created.headers["danvan-position"]) == last_position(owner_conn, model_id)

    submitted = world.act(model_id, "submit", "unit_user")
    assert submitted.status_code == 200, submitted.text
    after_submit = int(submitted.headers["danvan-position"])
    assert after_submit == last_position(owner_conn, model_id)
    assert after_submit > int(created.headers["danvan-position"])

    refused = world.act(model_id, "submit", "unit_user")  # already submitted: 409
    assert refused.status_code == 409
    assert "danvan-position" not in refused.headers


def test_a_read_sent_with_the_position_waits_for_the_projector_and_sees_the_write(
        world: World, settings: Settings) -> None:
    model = world.register(name="Camera an ninh tổ dân phố 3")
    catch_up(settings)
    submitted = world.act(model["id"], "submit", "unit_user")
    position = submitted.headers["danvan-position"]

    unwaited = read_model(world, model["id"]).json()
    assert unwaited["data"]["model"]["state"] == "DRAFT"  # the projector has not run
    assert unwaited["extensions"]["position"] < int(position)
    assert "stale" not in unwaited["extensions"]

    projector = threading.Timer(0.3, catch_up, args=(settings,))
    projector.start()
    try:
        waited = read_model(world, model["id"], position)
    finally:
        projector.join()
    body = waited.json()
    assert waited.status_code == 200
    assert body["data"]["model"]["state"] == "SUBMITTED"
    assert body["extensions"]["position"] >= int(position)
    assert "stale" not in body["extensions"]


def test_past_two_seconds_the_read_is_answered_as_the_data_stood_and_flagged_stale(
        world: World) -> None:
    model = world.register(name="Hội Phụ nữ giúp nhau làm kinh tế")
    # the projector never runs in this test
    position = register(world, "Tủ sách thôn bản").headers["danvan-position"]
    started = time.monotonic()
    answer = read_model(world, model["id"], position)
    waited = time.monotonic() - started
    body = answer.json()
    assert answer.status_code == 200
    assert body["data"]["model"] is None  # not in the read models yet
    assert body["extensions"] == {"position": 0, "stale": True}
    assert waited >= 2.0


def test_a_position_already_reached_is_answered_at_once(world: World,
                                                        settings: Settings) -> None:
    model = world.register(name="Chợ 4.0 không dùng tiền mặt")
    catch_up(settings)
    body = read_model(world, model["id"], "1").json()
    assert body["data"]["model"]["name"] == "Chợ 4.0 không dùng tiền mặt"
    assert "stale" not in body["extensions"]
    assert body["extensions"]["position"] >= 1


@pytest.mark.parametrize("value", ["-1", "abc", "1e3", "1.5", "", "0x10", "١٢",
                                   str(2**63), "9" * 40])
def test_a_position_that_is_not_a_non_negative_integer_is_a_400(world: World,
                                                                value: str) -> None:
    model = world.register(name="Đèn đường thôn Nậm Cang")
    answer = read_model(world, model["id"], value)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "invalid_position"
    assert [e["field"] for e in problem["errors"]] == ["Danvan-Min-Position"]


def test_errors_and_refusals_still_say_the_position(world: World) -> None:
    body = world.client.post("/graphql", headers=world.as_("reviewer"),
                             json={"query": "{ nosuchfield }"}).json()
    assert body["errors"] and isinstance(body["extensions"]["position"], int)



def test_with_tenant_shards_a_read_waits_for_the_slowest_shard(
        world: World, settings: Settings, owner_conn: psycopg.Connection[Any]) -> None:
    model = world.register(name="Sân chơi thiếu nhi tổ 7")
    catch_up(settings)
    # Every projection kept in two tenant shards from here (the closed runner's session lets
    # its locks go a moment later).
    wait_until(lambda: _resharded(owner_conn, 2))
    position = world.act(model["id"], "submit", "unit_user").headers["danvan-position"]
    own = Shard(tenant_shard(world.tenants[YEN_BAI].id, 2), 2)
    other = Shard(1 - own.index, 2)
    catch_up(settings, own)  # the writer's tenant's shard has applied the write

    started = time.monotonic()
    answer = read_model(world, model["id"], position).json()
    assert time.monotonic() - started >= 2.0  # waited for the other shard
    assert answer["data"]["model"]["state"] == "SUBMITTED"
    assert answer["extensions"]["stale"] is True
    assert answer["extensions"]["position"] < int(position)

    projector = threading.Timer(0.3, catch_up, args=(settings, other))
    projector.start()
    try:
        waited = read_model(world, model["id"], position).json()
    finally:
        projector.join()
    assert waited["data"]["model"]["state"] == "SUBMITTED"
    assert "stale" not in waited["extensions"]
    assert waited["extensions"]["position"] >= int(position)


def _resharded(conn: psycopg.Connection[Any], count: int) -> bool:
    try:
        reshard(conn, all_projections(), count)
        return True
    except ShardingError:
        return False
