"""Review of the ``auditTrail`` subscription (76179f0): hostile arguments and failures mid-way
must each answer the subscription with a clear error (``BAD_USER_INPUT`` naming the argument,
or a masked ``INTERNAL``), never silence or the server's own words."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from danvan.graphql import resolve_audit
from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser
from tests.e2e.graphql_support import catch_up, gql
from tests.e2e.test_graphql_subscription import TRAIL_STREAM, receive, socket, subscribe
from tests.e2e.world import YEN_BAI, World

TRAIL_FROM = """subscription($t: ID!, $from: DateTime) {
  auditTrail(tenantId: $t, from: $from) { pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings
          ) -> World:
    world = World.build(client, make_user)
    catch_up(settings)
    return world


def answer(ws: ClientConnection) -> dict[str, Any]:
    """The first message for the subscription: its refusal, or its first batch."""
    message = receive(ws)
    assert message.get("id") == "1", message
    return message


def test_a_lone_surrogate_in_a_datetime_variable_is_refused_not_left_unanswered(
        api: str, world: World) -> None:
    # json.dumps escaped the lone surrogate graphql-core's message echoes; msgspec refuses to
    # encode it, the error message is never sent and the subscription is forgotten.
    yen_bai = world.tenants[YEN_BAI].id
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=TRAIL_FROM,
                  variables={"t": yen_bai, "from": "\ud800"})
        message = answer(ws)
        assert message["type"] == "error", message


@pytest.mark.parametrize("value", ["not a date", "2026-06-30T12:00:00+07:00:30"])
def test_a_variable_the_schema_cannot_take_is_bad_user_input_on_the_socket(
        api: str, world: World, value: str) -> None:
    # POST /graphql gives these BAD_USER_INPUT (http.format_error); the socket sends
    # graphql-core's error bare, without a code.
    yen_bai = world.tenants[YEN_BAI].id
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=TRAIL_FROM,
                  variables={"t": yen_bai, "from": value})
        message = answer(ws)
    assert message["type"] == "error", message
    [error] = message["payload"]
    assert error.get("extensions", {}).get("code") == "BAD_USER_INPUT", error
    assert "from" in error["message"]


@pytest.mark.parametrize("cursor", ["", "bm90LWEtY3Vyc29y", "WyJtb2RlbCIsMV0"])
def test_a_bad_cursor_names_the_after_argument(api: str, world: World, cursor: str) -> None:
    # inputs' own checks name the argument (extensions.argument); BadCursor becomes
    # BadInput(str(exc)): "malformed cursor", "cursor of another list", no argument.
    yen_bai = world.tenants[YEN_BAI].id
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=TRAIL_STREAM,
                  variables={"t": yen_bai, "after": cursor})
        message = answer(ws)
    assert message["type"] == "error", message
    [error] = message["payload"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}, error
    body = gql(world.client, world.as_("inspector"),
               "query($t: ID!, $after: String) { auditTrail(tenantId: $t, after: $after) "
               "{ totalCount } }", {"t": yen_bai, "after": cursor})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


def test_a_failure_reading_a_later_batch_is_masked_as_internal(
        api: str, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # POST /graphql masks a failure as "internal error" (INTERNAL, the log has the details);
    # on the socket the exception's own text reaches the client, without a code.
    catch_up(settings)
    monkeypatch.setattr(resolve_audit, "STREAM_BATCH", 2)
    real = resolve_audit.audit_trail

    def failing_after_the_first(conn: Any, *args: Any, after: str | None = None,
                                **kwargs: Any) -> Any:
        if after is not None:
            raise RuntimeError('column "secret_internal_detail" does not exist')
        return real(conn, *args, after=after, **kwargs)

    monkeypatch.setattr(resolve_audit, "audit_trail", failing_after_the_first)
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=TRAIL_STREAM,
                  variables={"t": world.tenants[YEN_BAI].id})
        messages = []
        while (message := receive(ws))["type"] == "next":
            messages.append(message)
    assert message == {"id": "1", "type": "complete"}
    failed = messages[-1]["payload"]
    assert failed["data"] is None
    assert "secret_internal_detail" not in json.dumps(failed), failed
    assert [e["extensions"]["code"] for e in failed["errors"]] == ["INTERNAL"], failed


def test_a_message_nested_too_deep_is_refused_not_an_internal_error(
        api: str, world: World) -> None:
    # POST /graphql refuses a body nested past MAX_NESTING (body.read_body); the socket's
    # messages are read with json.loads (Strawberry's decode_json), whose RecursionError
    # escapes the handler: the socket closes 4500 "Internal Server Error", the stream with it.
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=TRAIL_STREAM,
                  variables={"t": world.tenants[YEN_BAI].id})
        assert answer(ws)["type"] == "next"
        depth = 100_000
        ws.send('{"id":"2","type":"subscribe","payload":{"query":"x","variables":{"t":'
                + "[" * depth + "]" * depth + "}}}")
        try:
            while (message := receive(ws))["id"] == "1":
                pass
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4400, closed.rcvd
        else:
            assert message["type"] == "error", message
