"""No N+1: a list of tenants with their units, models, quota, tasks and recognitions costs a
fixed number of database round trips (DataLoaders batch each level), however many tenants."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import msgspec
import pytest
from psycopg_pool import ConnectionPool

from danvan.backend.auth.tokens import Principal
from danvan.domain.policies import RoleGrant
from danvan.graphql.context import build_context
from danvan.graphql.encoded_connection import ConnectionJson
from danvan.graphql.execution import ListExecutionContext
from danvan.graphql.figures import FiguresCache
from danvan.graphql.schema import build_schema
from danvan.graphql.sources import ReadSources
from danvan.infra.database import app_params
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser
from tests.e2e.graphql_support import Story, catch_up, onboard_third_tenant, operation
from tests.e2e.world import YEN_BAI, World

NESTED = """{ province(code: "15") { quotas(year: 2026, first: 20) { totalCount edges { node {
  tenant { code units { id name } models(year: 2026, first: 5) { totalCount edges { node {
    id unit { name } tenant { code } } } }
    quota(year: 2026) { newModels } planTasks { id } recognitions { modelId } } } } } } }"""


class CountingPool:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool
        self.checkouts = 0

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[Any]:
        self.checkouts += 1
        with self.pool.connection(timeout) as conn:
            yield conn


def run(pool: Any, query: str, *, fast_leaves: bool = True,
        variables: dict[str, Any] | None = None, store: Any = None,
        raw_json: bool = False) -> dict[str, Any]:
    """The query's data; with ``raw_json`` as ``POST /graphql`` answers it (objects the
    database encoded may stand in the result: encoded with msgspec, then decoded)."""
    sources = ReadSources(pool=pool, store=store, figures=FiguresCache(enabled=False),
                          province_name=lambda code: "Tỉnh Lào Cai")
    caller = Principal("u", "admin", (RoleGrant("province_admin", "15"),))
    context = build_context(sources, caller)
    context.raw_json = raw_json
    result = asyncio.run(build_schema(production=False, fast_leaves=fast_leaves).execute(
        query, variable_values=variables, context_value=context))
    assert not result.errors, result.errors
    assert isinstance(result.data, dict)
    if raw_json:
        decoded = msgspec.json.decode(msgspec.json.encode(result.data))
        assert isinstance(decoded, dict)
        return decoded
    return result.data


def test_nested_lists_cost_one_query_per_level(client: httpx.Client, settings: Settings,
                                               make_user: Callable[..., MadeUser]) -> None:
    world = World.build(client, make_user)
    onboard_third_tenant(world)
    story = Story(world)
    story.phase_one(random.Random(3))
    catch_up(settings)
    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=2,
                        kwargs={"autocommit": True}) as raw:
        pool = CountingPool(raw)
        found = run(pool, NESTED)
    edges = found["province"]["quotas"]["edges"]
    assert len(edges) == 3
    assert all(e["node"]["tenant"]["models"]["totalCount"] == 7 for e in edges)
    assert all(len(e["node"]["tenant"]["units"]) == 3 for e in edges)
    # figures; then per level: units, models, quota, tasks, recognitions; then units and
    # tenants of the models: seven, whether there are 3 tenants or 300.
    assert pool.checkouts <= 8, pool.checkouts


def test_the_short_path_for_leaves_answers_exactly_as_graphql_core(
        client: httpx.Client, settings: Settings, make_user: Callable[..., MadeUser],
        event_store: EventStore) -> None:
    world = World.build(client, make_user)
    story = Story(world)
    story.phase_one(random.Random(5))
    story.phase_two(random.Random(5))
    catch_up(settings)
    tenant = world.tenants[YEN_BAI].id
    some_model = story.models[YEN_BAI][0][0]
    cases = [(operation("ProvinceConsolidation"), {"code": "15", "year": 2026}),
             (operation("TenantOverview"), {"id": tenant, "year": 2026}),
             (operation("TenantModels"), {"id": tenant}),
             (operation("AuditTrail"), {"tenantId": tenant}),
             (operation("ModelHistory"), {"id": some_model, "at": "2030-01-01T00:00:00Z"}),
             (NESTED, None)]
    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=2,
                        kwargs={"autocommit": True}) as pool:
        for query, variables in cases:
            fast = run(pool, query, variables=variables, store=event_store)
            slow = run(pool, query, variables=variables, fast_leaves=False, store=event_store)
            assert fast == slow
            assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)


AUDIT_FIELDS = ("position", "tenantId", "aggregateId", "aggregateType", "type", "version", "at",
                "actor { id role }", "actor { role }", "actor { __typename r: role id }",
                "correlationId", "causationId", "requestId", "reason", "payload", "hash",
                "prevHash", "__typename")


def _random_trail_query(rng: random.Random) -> str:
    """A trail query asking a random selection of the node's fields, some aliased, some in a
    fragment or under ``@include``/``@skip``, the edge's cursor or not."""
    chosen = rng.sample(AUDIT_FIELDS, rng.randint(1, len(AUDIT_FIELDS)))
    parts = []
    for number, field in enumerate(chosen):
        alias = f"a{number}: " if rng.random() < 0.2 else ""
        name, _, sub = field.partition(" ")
        parts.append(rng.choice((
            f"{alias}{field}", f"... on AuditEvent {{ {alias}{field} }}",
            f"{alias}{name} @include(if: $flag) {sub}", f"{alias}{name} @skip(if: $flag) {sub}")))
    cursor = "cursor" if rng.random() < 0.5 else ""
    nodes = f"node {{ {' '.join(parts)} }}"
    # Sometimes the node twice (merged), or the edges twice under two aliases (two
    # selections of the same nodes: answered from plain rows).
    if rng.random() < 0.15:
        nodes += f" ... on AuditEventEdge {{ node {{ {rng.choice(parts)} }} }}"
    twice = " again: edges { node { position } }" if rng.random() < 0.1 else ""
    # Around the edges: the count, type names, aliases and fragments on the connection and
    # its pageInfo, in random order.
    around = ["pageInfo { hasNextPage endCursor }", *rng.sample((
        "totalCount", "n: totalCount @skip(if: $flag)", "__typename",
        "... on AuditEventConnection { totalCount pageInfo { __typename } }",
        "p: pageInfo { e: endCursor __typename hasNextPage }",
        "pageInfo { hasNextPage @include(if: $flag) }"), rng.randint(0, 3))]
    rng.shuffle(around)
    return ("query T($t: ID!, $first: Int, $after: String, $flag: Boolean!) {"
            f" auditTrail(tenantId: $t, first: $first, after: $after) {{ {' '.join(around)}"
            f" edges {{ __typename @include(if: $flag) {cursor} {nodes} }}{twice}"
            " } }")


def test_trail_pages_answer_exactly_as_graphql_core_for_any_selection(
        client: httpx.Client, settings: Settings, make_user: Callable[..., MadeUser],
        event_store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trail's node lists are completed in one pass (``execution.ListExecutionContext``),
    or, as ``POST /graphql`` asks, encoded by the database (``encoded.py``) inside a page
    encoded whole (``encoded_connection.py``); random selections over random pages answer as
    graphql-core's field-by-field execution, key order included."""
    world = World.build(client, make_user)
    story = Story(world)
    story.phase_one(random.Random(7))
    catch_up(settings)
    tenant = world.tenants[YEN_BAI].id
    rng = random.Random(15)
    compared = 0
    planned = []
    make_plan = ListExecutionContext._list_plan

    def spy(self: ListExecutionContext, *args: Any) -> Any:
        plan = make_plan(self, *args)
        planned.append(plan is not None)
        return plan
    monkeypatch.setattr(ListExecutionContext, "_list_plan", spy)
    encoded_pages = []
    render = ConnectionJson.render

    def counted(self: ConnectionJson, page: Any) -> Any:
        encoded_pages.append(len(page.items))
        return render(self, page)
    monkeypatch.setattr(ConnectionJson, "render", counted)
    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=2,
                        kwargs={"autocommit": True}) as pool:
        for _ in range(60):
            query = _random_trail_query(rng)
            variables: dict[str, Any] = {"t": tenant, "first": rng.choice((1, 7, 50, 100)),
                                         "after": None, "flag": rng.random() < 0.5}
            for _page in range(rng.randint(1, 3)):
                fast = run(pool, query, variables=variables, store=event_store)
                slow = run(pool, query, variables=variables, fast_leaves=False,
                           store=event_store)
                encoded = run(pool, query, variables=variables, store=event_store,
                              raw_json=True)
                assert json.dumps(fast) == json.dumps(slow), query
                assert json.dumps(encoded) == json.dumps(slow), query
                trail = fast["auditTrail"]
                compared += len(trail["edges"])
                if not trail["pageInfo"]["hasNextPage"]:
                    break
                variables["after"] = trail["pageInfo"]["endCursor"]
    assert compared > 100
    assert planned and all(planned)  # the one-pass path did answer (the equality means it)
    assert sum(encoded_pages) > 100  # and so did the database's encoding
