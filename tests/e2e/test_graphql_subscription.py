"""Subscriptions over ``graphql-transport-ws`` at ``/graphql``. ``quotaChanged(provinceCode,
year)``: a province role gets each changed tenant quota row within a second of the projector
applying it; nobody else subscribes; a token in ``connection_init`` or the pages' session signs
in. ``auditTrail(tenantId, ...)``: the tenant's trail streamed to its end in batches, the same
events as the paged query, for its inspectors and province admins only. The socket reads,
checks and answers as POST /graphql does: hostile arguments and failures mid-way each get a
clear error (``BAD_USER_INPUT`` naming the argument, or a masked ``INTERNAL``)."""

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

from danvan.graphql import resolve_audit
from danvan.graphql.ws import MAX_SUBSCRIPTIONS
from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser
from tests.e2e.graphql_support import catch_up, data, gql
from tests.e2e.pages_browsing import Visitor
from tests.e2e.world import GIA_PHU, YEN_BAI, World, ok

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


def refusal(api: str, headers: dict[str, str], query: str,
            variables: dict[str, Any]) -> dict[str, Any]:
    """The one error of a subscription refused before it starts (an ``error`` message)."""
    with socket(api) as ws:
        subscribe(ws, headers, query=query, variables=variables)
        message = receive(ws)
    assert message["type"] == "error" and message["id"] == "1", message
    [error] = message["payload"]
    return error


def subscribe(ws: ClientConnection, headers: dict[str, str], code: str = "15",
              query: str = SUBSCRIBE, variables: dict[str, Any] | None = None) -> None:
    ws.send(json.dumps({"type": "connection_init", "payload": headers}))
    assert receive(ws)["type"] == "connection_ack"
    ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": query, "variables": variables or {"code": code, "year": 2026}}}))


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


TRAIL_STREAM = """subscription($t: ID!, $after: String, $aggregate: ID) {
  auditTrail(tenantId: $t, after: $after, aggregateId: $aggregate) {
    pageInfo { hasNextPage endCursor }
    edges { node { position type version actor { role } reason hash prevHash } } } }"""
TRAIL_PAGE = """query($t: ID!, $after: String) { auditTrail(tenantId: $t, first: 100, after: $after)
  { pageInfo { hasNextPage endCursor }
    edges { node { position type version actor { role } reason hash prevHash } } } }"""


def streamed(ws: ClientConnection) -> list[dict[str, Any]]:
    """The stream's batches, until it completes."""
    batches = []
    while (message := receive(ws))["type"] == "next":
        assert not message["payload"].get("errors"), message
        batches.append(message["payload"]["data"]["auditTrail"])
    assert message == {"id": "1", "type": "complete"}, message
    return batches


def paged(world: World, tenant_id: str, query: str = TRAIL_PAGE) -> list[dict[str, Any]]:
    nodes, after = [], None
    while True:
        page = data(gql(world.client, world.as_("inspector"), query,
                        {"t": tenant_id, "after": after}))["auditTrail"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def test_the_trail_streams_to_its_end_in_batches_as_the_query_pages_it(
        api: str, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolve_audit, "STREAM_BATCH", 3)
    model = world.register(name="Dân vận khéo giữ rừng")["id"]
    ok(world.act(model, "submit", "unit_user"))
    ok(world.act(model, "return", "reviewer", {"reason": "Bổ sung chỉ số"}))
    catch_up(settings)
    yen_bai = world.tenants[YEN_BAI].id
    expected = paged(world, yen_bai)
    assert len(expected) > 6  # more than two batches
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=TRAIL_STREAM, variables={"t": yen_bai})
        batches = streamed(ws)
    assert [len(b["edges"]) for b in batches[:-1]] == [3] * (len(batches) - 1)
    assert [b["pageInfo"]["hasNextPage"] for b in batches] == [True] * (len(batches) - 1) + [
        False]
    assert [e["node"] for b in batches for e in b["edges"]] == expected
    returned = [e["node"] for b in batches for e in b["edges"]
                if e["node"]["type"] == "Model.Returned"]
    assert returned[0]["reason"] == "Bổ sung chỉ số" and returned[0]["actor"]["role"] == "reviewer"

    # a dropped stream resumes from the last batch's endCursor, a filter narrows it
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=TRAIL_STREAM,
                  variables={"t": yen_bai, "after": batches[0]["pageInfo"]["endCursor"]})
        rest = streamed(ws)
    assert [e["node"] for b in rest for e in b["edges"]] == expected[3:]
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=TRAIL_STREAM,
                  variables={"t": yen_bai, "aggregate": model})
        own = streamed(ws)
    assert [e["node"]["version"] for b in own for e in b["edges"]] == [1, 2, 3]


NODE = "node { position type version reason payload }"
TRAIL_SENT = ("subscription($t: ID!, $after: String) { auditTrail(tenantId: $t, after: $after) "
              "{ totalCount pageInfo { hasNextPage endCursor } edges { cursor %s } %s } }")
ENCODED = TRAIL_SENT % (NODE, "")
PLAIN = TRAIL_SENT % (NODE, "again: edges { cursor }")
"""Nodes graphql-core answers: the database encodes no connection that asks ``edges`` twice."""
TRAIL_QUERY = ("query($t: ID!, $after: String) { auditTrail(tenantId: $t, after: $after, "
               f"first: 100) {{ pageInfo {{ hasNextPage endCursor }} edges {{ {NODE} }} }} }}")
BUDGET = 4096


def sent(ws: ClientConnection) -> list[str]:
    """The stream's ``next`` messages as the server sent them, until it completes."""
    texts = []
    while True:
        text = str(ws.recv(timeout=5))
        message = json.loads(text)
        if message["type"] == "ping":
            ws.send(json.dumps({"type": "pong"}))
        elif message["type"] == "next":
            assert not message["payload"].get("errors"), message
            texts.append(text)
        else:
            assert message == {"id": "1", "type": "complete"}, message
            return texts


def streamed_from(api: str, world: World, query: str, tenant_id: str,
                  after: str | None = None) -> list[str]:
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=query,
                  variables={"t": tenant_id, "after": after})
        return sent(ws)


@pytest.mark.parametrize("query", [ENCODED, PLAIN], ids=["encoded", "plain"])
def test_each_message_keeps_to_the_byte_budget_and_resumes_exactly_after_its_last_event(
        api: str, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        query: str) -> None:
    monkeypatch.setattr(resolve_audit, "STREAM_BATCH", 4)
    monkeypatch.setattr(resolve_audit, "MESSAGE_BUDGET", BUDGET)
    for number in range(3):
        ok(world.act(world.register(name=f"Dân vận khéo {number}")["id"], "submit",
                     "unit_user"))
    world.register(name="Dân vận khéo, dài", content="Vận động Nhân dân hiến đất. " * 200)
    catch_up(settings)
    yen_bai = world.tenants[YEN_BAI].id
    expected = paged(world, yen_bai, TRAIL_QUERY)
    texts = streamed_from(api, world, query, yen_bai)
    pages = [json.loads(text)["payload"]["data"]["auditTrail"] for text in texts]
    batches = -(-len(expected) // 4)
    assert len(pages) > batches
    assert [e["node"] for p in pages for e in p["edges"]] == expected  # each once, in order
    for text, page in zip(texts, pages, strict=True):
        assert len(text.encode()) <= BUDGET or len(page["edges"]) == 1, (len(text), page)
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        assert page["totalCount"] == len(expected)
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True] * (len(pages) - 1) + [False]
    alone = [p["edges"][0]["node"] for t, p in zip(texts, pages, strict=True)
             if len(t.encode()) > BUDGET]
    assert [n["type"] for n in alone] == ["Model.Registered"]  # the long form, on its own
    assert any(len(p["edges"]) > 1 for p in pages)

    sent_before = 0
    for page in pages[:-1]:
        sent_before += len(page["edges"])
        rest = streamed_from(api, world, query, yen_bai, page["pageInfo"]["endCursor"])
        assert [e["node"] for t in rest
                for e in json.loads(t)["payload"]["data"]["auditTrail"]["edges"]
                ] == expected[sent_before:]


ALIAS = "resumeFromHereIfTheStreamDrops" * 4
"""An alias a client may give an edge's field (GraphQL puts no bound on a name's length)."""
ALIASED = TRAIL_SENT % (f"{ALIAS}: cursor __typename {NODE}", "")
"""Encoded by the database (one ``edges``, one ``node``); each edge carries its cursor twice."""


def test_a_message_keeps_to_the_byte_budget_whatever_the_edges_select(
        api: str, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # The budget counts each node's own bytes, but an edge's text around its node is what
    # the client's selection makes it (``__typename``, aliases, the cursor asked twice), not
    # a fixed EDGE bytes: a message over the budget is one a client's limit may refuse.
    monkeypatch.setattr(resolve_audit, "MESSAGE_BUDGET", BUDGET)
    for number in range(3):
        ok(world.act(world.register(name=f"Dân vận khéo {number}")["id"], "submit",
                     "unit_user"))
    catch_up(settings)
    yen_bai = world.tenants[YEN_BAI].id
    expected = paged(world, yen_bai, TRAIL_QUERY)
    texts = streamed_from(api, world, ALIASED, yen_bai)
    pages = [json.loads(text)["payload"]["data"]["auditTrail"] for text in texts]
    assert [e["node"] for p in pages for e in p["edges"]] == expected
    assert all(e[ALIAS] == e["cursor"] for p in pages for e in p["edges"])
    sizes = [len(text.encode()) for text in texts]
    assert all(size <= BUDGET or len(page["edges"]) == 1
               for size, page in zip(sizes, pages, strict=True)), sizes


def test_a_client_that_drops_or_stops_a_stream_leaves_the_server_serving(
        api: str, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolve_audit, "STREAM_BATCH", 2)
    model = world.register()["id"]
    ok(world.act(model, "submit", "unit_user"))
    catch_up(settings)
    yen_bai = world.tenants[YEN_BAI].id
    expected = paged(world, yen_bai)
    for _ in range(12):  # more than the read pool's connections, were a dropped one kept
        with socket(api) as ws:
            subscribe(ws, world.as_("inspector"), query=TRAIL_STREAM, variables={"t": yen_bai})
            assert receive(ws)["type"] == "next"
        # closed mid-stream, a batch read ahead
    with socket(api) as ws:
        subscribe(ws, world.as_("inspector"), query=TRAIL_STREAM, variables={"t": yen_bai})
        assert receive(ws)["type"] == "next"
        ws.send(json.dumps({"id": "1", "type": "complete"}))  # stopped by the client
        ws.send(json.dumps({"type": "ping"}))
        while (message := receive(ws))["type"] == "next":
            pass
        assert message["type"] == "pong"
        ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": {
            "query": TRAIL_STREAM, "variables": {"t": yen_bai}}}))
        nodes = []
        while (message := receive(ws))["type"] == "next":
            nodes += [e["node"] for e in message["payload"]["data"]["auditTrail"]["edges"]]
        assert message == {"id": "2", "type": "complete"} and nodes == expected
    assert paged(world, yen_bai) == expected


def test_only_the_tenants_inspectors_and_province_admins_stream_its_trail(
        api: str, world: World, settings: Settings) -> None:
    catch_up(settings)
    yen_bai = world.tenants[YEN_BAI].id
    for headers in (world.as_("inspector", GIA_PHU), world.as_("reviewer"),
                    world.as_("tenant_admin"), world.analyst):
        error = refusal(api, headers, TRAIL_STREAM, {"t": yen_bai})
        assert error["extensions"]["code"] == "FORBIDDEN", error
    with socket(api) as ws:
        subscribe(ws, world.province, query=TRAIL_STREAM, variables={"t": yen_bai})
        assert streamed(ws)[-1]["pageInfo"]["hasNextPage"] is False


def test_a_nul_in_a_filter_is_refused_naming_it(api: str, world: World) -> None:
    yen_bai = world.tenants[YEN_BAI].id
    # in the variables, refused at the edge, as POST /graphql refuses its body (body.py),
    # naming the variable; in the query's own literal, by the argument's check
    literal = TRAIL_STREAM.replace(", $aggregate: ID", "").replace(
        "aggregateId: $aggregate", 'aggregateId: "x\\u0000"')
    for query, variables, field in (
            (TRAIL_STREAM, {"t": yen_bai, "aggregate": "x\u0000"}, "variables.aggregate"),
            (literal, {"t": yen_bai}, "aggregateId")):
        error = refusal(api, world.as_("inspector"), query, variables)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert field in error["message"]


TRAIL_FROM = """subscription($t: ID!, $from: DateTime) {
  auditTrail(tenantId: $t, from: $from) { pageInfo { hasNextPage endCursor } } }"""


def answer(ws: ClientConnection) -> dict[str, Any]:
    """The first message for the subscription: its refusal, or its first batch."""
    message = receive(ws)
    assert message.get("id") == "1", message
    return message


def test_a_lone_surrogate_in_a_datetime_variable_is_refused_not_left_unanswered(
        api: str, world: World) -> None:
    # refused at the edge, as POST /graphql refuses its body; were it not, graphql-core's
    # message would echo the surrogate, which msgspec cannot encode
    error = refusal(api, world.as_("inspector"), TRAIL_FROM,
                    {"t": world.tenants[YEN_BAI].id, "from": "\ud800"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error


@pytest.mark.parametrize("value", ["not a date", "2026-06-30T12:00:00+07:00:30"])
def test_a_variable_the_schema_cannot_take_is_bad_user_input_on_the_socket(
        api: str, world: World, value: str) -> None:
    # as POST /graphql answers them (http.client_error)
    error = refusal(api, world.as_("inspector"), TRAIL_FROM,
                    {"t": world.tenants[YEN_BAI].id, "from": value})
    assert error.get("extensions", {}).get("code") == "BAD_USER_INPUT", error
    assert "from" in error["message"]


@pytest.mark.parametrize("cursor", ["", "bm90LWEtY3Vyc29y", "WyJtb2RlbCIsMV0"])
def test_a_bad_cursor_names_the_after_argument(api: str, world: World, cursor: str) -> None:
    # on the socket and over POST alike, naming the argument (extensions.argument)
    yen_bai = world.tenants[YEN_BAI].id
    error = refusal(api, world.as_("inspector"), TRAIL_STREAM, {"t": yen_bai, "after": cursor})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}, error
    body = gql(world.client, world.as_("inspector"),
               "query($t: ID!, $after: String) { auditTrail(tenantId: $t, after: $after) "
               "{ totalCount } }", {"t": yen_bai, "after": cursor})
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}


def test_a_failure_reading_a_later_batch_is_masked_as_internal(
        api: str, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # masked as POST /graphql masks it (INTERNAL; the log has the details), then complete
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
    # held to POST /graphql's nesting (body.py): closed 4400 naming why, or the message
    # refused, never a 4500 from the parser's recursion
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


def test_one_subscription_too_many_on_a_socket_is_refused_with_a_code(
        api: str, world: World) -> None:
    with socket(api) as ws:
        subscribe(ws, world.province)  # id 1
        for number in range(2, MAX_SUBSCRIPTIONS + 2):
            ws.send(json.dumps({"id": str(number), "type": "subscribe", "payload": {
                "query": SUBSCRIBE, "variables": {"code": "15", "year": 2026}}}))
        message = receive(ws)
    assert message["type"] == "error" and message["id"] == str(MAX_SUBSCRIPTIONS + 1), message
    [error] = message["payload"]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
