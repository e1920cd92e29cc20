"""Hostile input to the read API: a body that cannot be read is a 400 with a code; a bad
argument is a ``BAD_USER_INPUT`` error of its own field while the rest of the answer stands;
a query of expensive calls is refused before anything runs. Never ``INTERNAL``, never a
failure in the log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType

from danvan.domain.targets import FIRST_YEAR, LAST_YEAR
from danvan.graphql.limits import FIELD_COSTS, MAX_COST, MAX_NESTING
from danvan.graphql.schema import build_schema
from danvan.infra.settings import Settings
from danvan.projections.paging import encode_cursor
from tests.e2e.conftest import MadeUser
from tests.e2e.graphql_support import catch_up, codes, data, gql
from tests.e2e.world import YEN_BAI, World

NUL = "\u0000"


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


@pytest.fixture
def failures_logged(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """What the server logged at ERROR since the test began (the read API logs a failure,
    with its traceback, through the standard library; an unhandled one is also a 500)."""
    caplog.set_level(logging.ERROR)
    return lambda: [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def post(client: httpx.Client, headers: dict[str, str], raw: bytes) -> httpx.Response:
    return client.post("/graphql", headers={**headers, "Content-Type": "application/json"},
                       content=raw)


def refused(response: httpx.Response, *fragments: str) -> None:
    """A 400 whose one error has a code and says why."""
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], errors
    for fragment in fragments:
        assert fragment in errors[0]["message"], errors


def test_a_body_that_cannot_be_taken_is_a_400_with_a_code(
        world: World, failures_logged: Callable[[], list[str]]) -> None:
    client, headers = world.client, world.province
    query = '{ provinces { code } }'
    deep = b"[" * 1000 + b"]" * 1000
    refused(post(client, headers, b'{"query": "' + query.encode() + b'", "x": "\xff\xfe"}'),
            "not JSON")
    refused(post(client, headers, b'{"query": "' + query.encode() + b'", "extensions": '
                 + deep + b"}"), "nested")
    refused(post(client, headers, b'{"query": "query($v: ID) { provinces { code } }", '
                 b'"variables": {"v": ' + deep + b"}}"), "nested")
    just_too_deep: Any = "x"
    for _ in range(MAX_NESTING - 1):
        just_too_deep = [just_too_deep]
    response = client.post("/graphql", headers=headers, json={
        "query": query, "variables": {"v": just_too_deep}})
    refused(response, "variables.v", f"more than {MAX_NESTING} levels")
    variables_query = 'query($c: ID!) { tenant(id: $c) { code } model(id: $c) { id } }'
    for body, where in (
            ({"query": query + NUL}, "query"),
            ({"query": query, "operationName": "A" + NUL}, "operationName"),
            ({"id": "ProvinceConsolidation" + NUL}, "id"),
            ({"query": variables_query, "variables": {"c": "a" + NUL}}, "variables.c"),
            ({"query": variables_query, "variables": {"c": "x", "v" + NUL: 1}}, "variables"),
            ({"id": "ProvinceConsolidation",
              "variables": {"code": "15", "year": 2026, "asOf": ["\u0001"]}}, "variables.asOf")):
        refused(client.post("/graphql", headers=headers, json=body),
                where, "control characters")
    assert failures_logged() == []


def first_error(body: dict[str, Any]) -> dict[str, Any]:
    errors = body["errors"]
    assert len(errors) == 1, errors
    error = errors[0]
    assert isinstance(error, dict)
    return error


def test_bad_arguments_are_bad_user_input_of_their_own_field(
        world: World, settings: Settings, failures_logged: Callable[[], list[str]]) -> None:
    tenant = world.tenants[YEN_BAI].id
    model = world.register()["id"]
    catch_up(settings)
    client, province, inspector = world.client, world.province, world.as_("inspector")

    def bad(headers: dict[str, str], query: str, path: list[Any], argument: str,
            variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = gql(client, headers, query, variables)
        error = first_error(body)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, body
        assert error["path"] == path, body
        return body

    assert bad(province, '{ model(id: "x") { id } }', ["model"], "id")["data"] == {
        "model": None}
    assert "UUID" in first_error(gql(client, province, '{ model(id: "x") { id } }'))["message"]
    body = bad(province, '{ province(code: "15") { code summary(year: 10000) { newModels } } }',
               ["province", "summary"], "year")
    assert body["data"] == {"province": {"code": "15", "summary": None}}
    assert f"between {FIRST_YEAR} and {LAST_YEAR}" in first_error(body)["message"]
    body = bad(province, f'{{ tenant(id: "{tenant}") {{ code quota(year: 0) {{ year }} }} }}',
               ["tenant", "quota"], "year")
    assert body["data"]["tenant"]["code"] == YEN_BAI
    bad(province, f'{{ tenant(id: "{tenant}") {{ models(search: "a\\u0000b") '
                  "{ totalCount } } }", ["tenant", "models"], "search")
    bad(province, f'{{ tenant(id: "{tenant}") {{ models(unitId: "nope") {{ totalCount }} }} }}',
        ["tenant", "models"], "unitId")
    bad(province, f'{{ tenant(id: "{tenant}") {{ recognitions(year: -1) {{ year }} }} }}',
        ["tenant", "recognitions"], "year")
    bad(province, '{ tenant(id: "\\u0000") { code } }', ["tenant"], "id")
    for filters, argument in (('actor: "x\\u0000"', "actor"), ('type: "Model\\u0000"', "type")):
        bad(inspector, f'{{ auditTrail(tenantId: "{tenant}", {filters}) {{ totalCount }} }}',
            ["auditTrail"], argument)
    for field in ("auditTrail", "verifyAuditChain"):  # the permission looks the tenant up
        bad(province, f'{{ {field}(tenantId: "x\\u0000") {{ __typename }} }}', [field],
            "tenantId")
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        bad(province, 'query($t: DateTime) { province(code: "15") { name '
                      "summary(year: 2026, asOf: $t) { newModels } } }",
            ["province", "summary"], "asOf", {"t": moment})
        bad(inspector, f'query($t: DateTime) {{ auditTrail(tenantId: "{tenant}", to: $t) '
                       "{ totalCount } }", ["auditTrail"], "to", {"t": moment})
        bad(province, f'query($t: DateTime!) {{ model(id: "{model}") {{ id '
                      "stateAsOf(at: $t) { version } } }", ["model", "stateAsOf"], "at",
            {"t": moment})
    unreadable = gql(client, province, 'query($t: DateTime) { province(code: "15") { '
                     "summary(year: 2026, asOf: $t) { newModels } } }",
                     {"t": "2026-06-30T12:00:00+07:00:30"})
    assert unreadable["data"] is None and codes(unreadable) == ["BAD_USER_INPUT"]
    not_an_int = gql(client, province, "query($y: Int!) { provinces { summary(year: $y) "
                     "{ newModels } } }", {"y": "abc"})
    assert not_an_int["data"] is None and codes(not_an_int) == ["BAD_USER_INPUT"]
    assert failures_logged() == []


def test_a_persisted_report_with_a_bad_year_keeps_what_it_can_answer(
        world: World, failures_logged: Callable[[], list[str]]) -> None:
    body = world.client.post("/graphql", headers=world.province, json={
        "id": "ProvinceConsolidation", "variables": {"code": "15", "year": -5}}).json()
    province = body["data"]["province"]
    assert (province["code"], province["summary"], province["quotas"]) == ("15", None, None)
    assert province["name"]
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["province", "summary"], "BAD_USER_INPUT"), (["province", "quotas"], "BAD_USER_INPUT")]
    assert failures_logged() == []


def test_one_bad_argument_in_a_list_leaves_the_rest_of_the_answer(
        world: World, settings: Settings, failures_logged: Callable[[], list[str]]) -> None:
    catch_up(settings)
    body = gql(world.client, world.analyst, """{ provinces { code
        good: summary(year: 2026) { tenantCount }
        bad: summary(year: 10000) { tenantCount }
        quotas(year: 2026, first: 2) { edges { node { tenant { code
          recognitions(year: 0) { year } units { name } } } } } } }""")
    assert body["data"] is not None, body
    provinces = body["data"]["provinces"]
    assert [p["code"] for p in provinces] == ["15"]
    assert provinces[0]["good"] == {"tenantCount": 2} and provinces[0]["bad"] is None
    tenants = [e["node"]["tenant"] for e in provinces[0]["quotas"]["edges"]]
    assert sorted(t["code"] for t in tenants) == sorted(world.tenants)
    assert all(t["recognitions"] is None and len(t["units"]) == 3 for t in tenants)
    paths = sorted(tuple(map(str, e["path"])) for e in body["errors"])
    assert paths[0] == ("provinces", "0", "bad")
    assert {p[-1] for p in paths[1:]} == {"recognitions"} and len(paths) == 1 + len(tenants)
    assert set(codes(body)) == {"BAD_USER_INPUT"}
    assert failures_logged() == []


def test_audit_chain_verifications_are_counted_before_anything_runs(
        world: World, settings: Settings) -> None:
    tenant = world.tenants[YEN_BAI].id
    inspector = world.as_("inspector")
    catch_up(settings)
    allowed = MAX_COST // FIELD_COSTS["verifyAuditChain"]
    assert allowed == 2

    def aliases(n: int) -> str:
        return "{ " + " ".join(f'v{i}: verifyAuditChain(tenantId: "{tenant}") {{ ok }}'
                               for i in range(n)) + " }"

    two = data(gql(world.client, inspector, aliases(allowed)))
    assert all(v["ok"] is True for v in two.values()) and len(two) == allowed
    for n in (allowed + 1, 20):
        body = gql(world.client, inspector, aliases(n))
        assert body["data"] is None and codes(body) == ["LIMIT_EXCEEDED"], body
        assert f"exceeds the budget of {MAX_COST}" in body["errors"][0]["message"]
    trails = "{ " + " ".join(f'a{i}: auditTrail(tenantId: "{tenant}", first: 100) '
                             "{ totalCount }" for i in range(20)) + " }"
    body = gql(world.client, inspector, trails)
    assert body["data"] is None and codes(body) == ["LIMIT_EXCEEDED"], body


LISTS = {
    ("Tenant", "models"): 'tenant(id: "{t}") {{ models(year: 2026, first: 5, after: $a) {x} }}',
    ("Tenant", "reminders"): 'tenant(id: "{t}") {{ reminders(first: 5, after: $a) {x} }}',
    ("Tenant", "jobs"): 'tenant(id: "{t}") {{ jobs(first: 5, after: $a) {x} }}',
    ("Tenant", "users"): 'tenant(id: "{t}") {{ users(first: 5, after: $a) {x} }}',
    ("Province", "quotas"): 'province(code: "15") {{ quotas(year: 2026, first: 5, after: $a, '
                            'orderBy: {{field: NEW_MODELS}}) {x} }}',
    ("Province", "models"): 'province(code: "15") {{ models(first: 5, after: $a) {x} }}',
    ("Province", "deadJobs"): 'province(code: "15") {{ deadJobs(first: 5, after: $a) {x} }}',
    ("Query", "auditTrail"): 'auditTrail(tenantId: "{t}", first: 5, after: $a) {x}',
}
"""Every list of the read API that takes a cursor, as a province admin asks it (the
subscription's ``after``: test_graphql_subscription.py)."""


def test_every_list_that_takes_a_cursor_is_asked_here() -> None:
    schema = build_schema(production=True)._schema
    paged = {(name, field) for name, kind in schema.type_map.items()
             if isinstance(kind, GraphQLObjectType) and name != "Subscription"
             for field, definition in kind.fields.items() if "after" in definition.args}
    assert paged == set(LISTS)


def forged(kind: str, *key: Any) -> str:
    return encode_cursor(kind, key)


def test_a_cursor_this_api_did_not_hand_out_is_bad_user_input_of_after(
        world: World, settings: Settings, failures_logged: Callable[[], list[str]]) -> None:
    """A cursor that is not one (``bm9wZQ`` is base64 of "none"), and a hand-made ``after``
    of the right list but the wrong key (a name where a uuid goes, a position past bigint, a
    sort value of another type), are the client's error naming ``after``, on every list: not
    a failure of the query that would compare or cast it."""
    catch_up(settings)
    tenant = world.tenants[YEN_BAI].id
    refused_cursors = {
        ("Tenant", "models"): [forged("model", "a", "x")],
        ("Query", "auditTrail"): [forged("audit", 2**70), forged("audit", "abc")],
        ("Province", "quotas"): [forged("quota.new_models.asc", "many", "02647", tenant)],
    }
    for (kind, field), selection in LISTS.items():
        query = "query($a: String) { " + selection.format(t=tenant, x="{ totalCount }") + " }"
        mine = refused_cursors.get((kind, field), [])
        for cursor in ["bm9wZQ", forged("another list", 1), *mine]:
            body = gql(world.client, world.province, query, {"a": cursor})
            errors = body.get("errors") or []
            assert [e["extensions"] for e in errors] == [
                {"code": "BAD_USER_INPUT", "argument": "after"}], (kind, field, cursor, body)
    assert failures_logged() == []
