"""A province's cached figures outlive writes in other provinces, and only those: the projector
counts the batches that touch each province, and the figures cache keys on its province's
count (beside the read models' versions), not on the global stamp that any write moves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from danvan.infra.database import connect_owner
from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser, login
from tests.e2e.graphql_support import YEAR, catch_up, gql
from tests.e2e.world import API, YEN_BAI, World, ok

QUOTAS = """query($code: ID!, $year: Int!) { province(code: $code) {
  quotas(year: $year, first: 100) { edges { node { tenant { code }
    unitsWithoutRegistration } } } } }"""


def units_without(world: World) -> tuple[dict[str, int], int]:
    """Province 15's units without registration per tenant, and the position read at."""
    body = gql(world.client, world.province, QUOTAS, {"code": "15", "year": YEAR})
    assert "errors" not in body, body
    edges: list[dict[str, Any]] = body["data"]["province"]["quotas"]["edges"]
    return ({e["node"]["tenant"]["code"]: e["node"]["unitsWithoutRegistration"]
             for e in edges}, int(body["extensions"]["position"]))


def test_a_write_in_another_province_leaves_the_cached_figures_valid(
        client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings) -> None:
    world = World.build(client, make_user)
    catch_up(settings)
    before, position = units_without(world)
    assert before[YEN_BAI] == len(world.tenants[YEN_BAI].units)  # no model submitted yet

    # Behind the projector's back, the read rows say Yên Bái has 1,000 more open units: only
    # figures computed again would show them.
    with connect_owner(settings) as conn:
        conn.execute("UPDATE danvan_read.open_units SET units = units + 1000 "
                     "WHERE tenant_id = %s", (world.tenants[YEN_BAI].id,))

    ha_noi = login(client, make_user("admin.hanoi", role="province_admin", province="01"))
    ok(client.post(f"{API}/tenants", headers=ha_noi, json={"code": "00004"}), 201)
    catch_up(settings)
    after_01, moved = units_without(world)
    assert moved > position  # the read models moved on (the global stamp changed) ...
    assert after_01 == before  # ... but not in province 15: its figures were not computed again

    ok(client.post(f"{API}/tenants/{world.tenants[YEN_BAI].id}/units",
                   headers=world.as_("tenant_admin"),
                   json={"name": "Chi bộ Tổ dân phố 9", "kind": "party_cell",
                         "reports_to_vertical_line": False}), 201)
    catch_up(settings)
    after_15, _ = units_without(world)
    assert after_15[YEN_BAI] == before[YEN_BAI] + 1000 + 1  # a write in 15: computed again
