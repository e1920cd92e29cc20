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
from psycopg_pool import ConnectionPool

from danvan.backend.auth.tokens import Principal
from danvan.domain.policies import RoleGrant
from danvan.graphql.context import build_context
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
        variables: dict[str, Any] | None = None, store: Any = None) -> dict[str, Any]:
    sources = ReadSources(pool=pool, store=store, figures=FiguresCache(enabled=False),
                          province_name=lambda code: "Tỉnh Lào Cai")
    caller = Principal("u", "admin", (RoleGrant("province_admin", "15"),))
    result = asyncio.run(build_schema(production=False, fast_leaves=fast_leaves).execute(
        query, variable_values=variables, context_value=build_context(sources, caller)))
    assert not result.errors, result.errors
    assert isinstance(result.data, dict)
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
