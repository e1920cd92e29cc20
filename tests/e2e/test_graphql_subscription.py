"""``quotaChanged(provinceCode, year)`` over ``graphql-transport-ws`` at ``/graphql``: a
province role gets each changed tenant quota row within a second of the projector applying
it; nobody else subscribes; a token in ``connection_init`` or the pages' session signs in."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser
from tests.e2e.graphql_support import catch_up
from tests.e2e.pages_browsing import Visitor
from tests.e2e.world import YEN_BAI, World, ok

SUBSCRIBE = """subscription($code: ID!, $year: Int!) {
  quotaChanged(provinceCode: $code, year: $year) { tenant { code name } year newModels
    submittedModels status atRisk } }"""


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings
          ) -> World:
    world = World.build(client, make_user)
    catch_up(settings)
    return world


def socket(api: str, headers: dict[str, str] | None = None) -> ClientConnection:
    return connect(api.replace("http://", "ws://") + "/graphql",
                   subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                   open_timeout=10, additional_headers=headers)


def receive(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    message = json.loads(ws.recv(timeout=timeout))
    while message["type"] == "ping":
        ws.send(json.dumps({"type": "pong"}))
        message = json.loads(ws.recv(timeout=timeout))
    return message


def codes(message: dict[str, Any]) -> list[str]:
    """A refused subscription: its first result carries the error and no data."""
    assert message["type"] == "next", message
    assert message["payload"].get("data") is None
    return [e["extensions"]["code"] for e in message["payload"]["errors"]]


def subscribe(ws: ClientConnection, headers: dict[str, str], code: str = "15") -> None:
    ws.send(json.dumps({"type": "connection_init", "payload": headers}))
    assert receive(ws)["type"] == "connection_ack"
    ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": SUBSCRIBE, "variables": {"code": code, "year": 2026}}}))


def test_a_command_reaches_the_subscriber_within_a_second_of_the_projector(
        api: str, world: World, settings: Settings) -> None:
    with socket(api) as ws:
        subscribe(ws, world.province)
        time.sleep(0.5)  # the subscription has read its baseline
        model = world.register(name="Dân vận khéo làm đường")["id"]
        ok(world.act(model, "submit", "unit_user"))
        catch_up(settings)
        applied = time.monotonic()
        message = receive(ws, timeout=5)
        arrived = time.monotonic() - applied
        assert message["type"] == "next", message
        row = message["payload"]["data"]["quotaChanged"]
        assert row["tenant"]["code"] == YEN_BAI and row["submittedModels"] == 1
        # within a second of the projector's commit (about 0.3 s on a quiet machine); half a
        # second more for the machine the whole suite shares
        assert arrived < 1.5, arrived
        ok(world.act(model, "accept", "reviewer"))
        projector = threading.Timer(0.2, catch_up, args=(settings,))
        projector.start()
        row = receive(ws, timeout=5)["payload"]["data"]["quotaChanged"]
        projector.join()
        assert row["newModels"] == 1


def test_only_a_province_role_of_that_province_subscribes(api: str, world: World) -> None:
    with socket(api) as ws:
        subscribe(ws, world.as_("tenant_admin"))
        assert codes(receive(ws)) == ["FORBIDDEN"]
    with socket(api) as ws:
        subscribe(ws, world.province, code="02")
        assert codes(receive(ws)) == ["FORBIDDEN"]


def test_without_a_session_or_token_the_socket_is_closed(api: str, world: World) -> None:
    with socket(api) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(ConnectionClosed) as closed:
            receive(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with socket(api) as ws:
        ws.send(json.dumps({"type": "connection_init",
                            "payload": {"Authorization": "Bearer not-a-token"}}))
        with pytest.raises(ConnectionClosed):
            receive(ws)


def test_the_pages_session_signs_in_a_socket_of_this_site_only(api: str,
                                                               world: World) -> None:
    visitor = Visitor(api)
    visitor.sign_in("admin.laocai", PASSWORD)
    cookie = {"Cookie": "; ".join(f"{k}={v}" for k, v in visitor.cookies.items())}
    visitor.close()
    with socket(api, {**cookie, "Origin": api}) as ws:
        subscribe(ws, {})  # no token: the session
        ws.send(json.dumps({"type": "ping"}))
        assert receive(ws)["type"] == "pong"  # subscribed, not refused
    with pytest.raises(InvalidStatus) as refused:
        socket(api, {**cookie, "Origin": "http://evil.example"})
    assert refused.value.response.status_code == 403
