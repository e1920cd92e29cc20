"""``tenant(id) { users }`` over HTTP: a tenant's accounts, never another tenant's, for its
admins, its province's admins and its inspectors only (personal data); searched without
diacritics; a deactivation shows once the read is sent with the command's position."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser, login
from tests.e2e.graphql_support import catch_up, codes, data, gql
from tests.e2e.world import API, GIA_PHU, YEN_BAI, World

USERS = """
query Users($id: ID!, $active: Boolean, $search: String, $first: Int! = 50, $after: String) {
  tenant(id: $id) {
    users(active: $active, search: $search, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id tenantId username fullName active mustChangePassword registeredAt
                     deactivatedAt deactivatedReason credentialsChangedAt
                     roles { role provinceCode tenantId unitId } unit { name } } }
    }
  }
}"""
YEN_BAI_USERS = ["admin.04252", "approver.04252", "inspector.04252", "nhung.yenbai",
                 "reviewer.04252", "unit.user.04252"]


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings
          ) -> World:
    built = World.build(client, make_user)
    built.add_one_time_approver()
    catch_up(settings)
    return built


def users(world: World, role: str, code: str = YEN_BAI, *, tenant: str = YEN_BAI,
          headers: dict[str, str] | None = None, **variables: Any) -> dict[str, Any]:
    return gql(world.client, {**world.as_(role, code), **(headers or {})}, USERS,
               {"id": world.tenants[tenant].id, **variables})


def nodes(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["node"] for e in data(body)["tenant"]["users"]["edges"]]


@pytest.mark.parametrize("role", ["tenant_admin", "province_admin", "inspector"])
def test_the_tenants_admins_and_inspectors_list_its_accounts_and_no_others(
        world: World, role: str) -> None:
    found = nodes(users(world, role))
    assert [u["username"] for u in found] == YEN_BAI_USERS
    assert {u["tenantId"] for u in found} == {world.tenants[YEN_BAI].id}
    by_name = {u["username"]: u for u in found}
    unit_user = by_name["unit.user.04252"]
    assert unit_user["unit"] == {"name": "Chi bộ Tổ dân phố 5"}
    assert unit_user["roles"] == [{
        "role": "UNIT_USER", "provinceCode": "15", "tenantId": world.tenants[YEN_BAI].id,
        "unitId": world.tenants[YEN_BAI].units["Chi bộ Tổ dân phố 5"]}]
    assert by_name["nhung.yenbai"]["mustChangePassword"]
    assert not by_name["admin.04252"]["mustChangePassword"]
    assert all(u["active"] and u["deactivatedAt"] is None for u in found)


def test_pages_follow_the_cursor_to_the_end(world: World) -> None:
    first = data(users(world, "tenant_admin", first=4))["tenant"]["users"]
    assert first["totalCount"] == len(YEN_BAI_USERS) and first["pageInfo"]["hasNextPage"]
    rest = data(users(world, "tenant_admin", first=4,
                      after=first["pageInfo"]["endCursor"]))["tenant"]["users"]
    assert [e["node"]["username"] for e in first["edges"] + rest["edges"]] == YEN_BAI_USERS
    assert not rest["pageInfo"]["hasNextPage"]
    bad = users(world, "tenant_admin", after="not-a-cursor")
    assert codes(bad) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("key", [r"a\u0000b", r"\ud800"])
def test_a_forged_cursor_whose_key_no_text_column_holds_is_bad_input(world: World,
                                                                     key: str) -> None:
    """Well-formed JSON of the right shape, but a NUL or a lone surrogate in its key: the
    database could neither compare it nor receive it."""
    forged = base64.urlsafe_b64encode(f'["user","{key}"]'.encode()).decode().rstrip("=")
    assert codes(users(world, "tenant_admin", after=forged)) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("role", ["reviewer", "approver", "unit_user", "province_analyst",
                                  "national_analyst"])
def test_other_readers_of_the_tenant_are_refused_its_accounts(world: World,
                                                              role: str) -> None:
    body = users(world, role)
    assert codes(body) == ["FORBIDDEN"]
    assert body["data"]["tenant"]["users"] is None
    assert body["errors"][0]["path"] == ["tenant", "users"]


def test_another_tenants_admin_reads_nothing_of_it(world: World) -> None:
    body = users(world, "tenant_admin", GIA_PHU)
    assert codes(body) == ["FORBIDDEN"] and body["data"]["tenant"] is None
    own = nodes(users(world, "tenant_admin", GIA_PHU, tenant=GIA_PHU))
    assert own and all(u["username"].endswith(".02923") for u in own)


@pytest.mark.parametrize("search", ["hong nhung", "HỒNG NHUNG", "Hồng Nhung", "nhung.yen"])
def test_search_ignores_case_and_diacritics(world: World, search: str) -> None:
    found = nodes(users(world, "tenant_admin", search=search))
    assert [u["username"] for u in found] == ["nhung.yenbai"]
    assert found[0]["fullName"] == "Nguyễn Thị Hồng Nhung"


def test_a_deactivation_shows_inactive_in_a_read_sent_with_its_position(
        world: World, settings: Settings) -> None:
    target = next(u for u in nodes(users(world, "tenant_admin"))
                  if u["username"] == "reviewer.04252")
    done = world.client.post(
        f"{API}/tenants/{world.tenants[YEN_BAI].id}/users/{target['id']}/deactivation",
        headers=world.as_("tenant_admin"), json={"reason": "Chuyển công tác"})
    assert done.status_code == 200, done.text
    position = done.headers["danvan-position"]

    projector = threading.Timer(0.3, catch_up, args=(settings,))
    projector.start()
    try:
        body = users(world, "tenant_admin", headers={"Danvan-Min-Position": position},
                     active=False)
    finally:
        projector.join()
    assert "stale" not in body["extensions"]
    [shown] = nodes(body)
    assert shown["username"] == "reviewer.04252" and not shown["active"]
    assert shown["deactivatedReason"] == "Chuyển công tác"
    assert shown["deactivatedAt"] == shown["credentialsChangedAt"] is not None
    still = nodes(users(world, "tenant_admin", active=True))
    assert "reviewer.04252" not in [u["username"] for u in still]


def test_an_inspector_made_in_the_province_scope_is_listed_in_the_tenant_it_inspects(
        world: World, event_store: EventStore, settings: Settings) -> None:
    made = world.add_province_inspector(event_store)
    catch_up(settings)
    for role in ("tenant_admin", "province_admin", "inspector"):
        found = nodes(users(world, role))
        assert [u["username"] for u in found] == sorted([*YEN_BAI_USERS, "thanhtra.yenbai"])
        [shown] = [u for u in found if u["username"] == "thanhtra.yenbai"]
        assert shown["id"] == made and shown["tenantId"] == "province:15"  # managed there
        assert shown["roles"] == [{"role": "INSPECTOR", "provinceCode": "15",
                                   "tenantId": world.tenants[YEN_BAI].id, "unitId": None}]
        assert data(users(world, role))["tenant"]["users"]["totalCount"] == len(found)
    assert [u["username"] for u in nodes(users(world, "tenant_admin", search="thanh tra"))] \
        == ["thanhtra.yenbai"]


def test_a_listed_inspector_of_the_province_stays_the_provinces_to_manage(
        world: World, event_store: EventStore, settings: Settings) -> None:
    """Listed in the tenant, the account is still not the tenant's: its admin's reset,
    deactivation and change of roles are refused as before (not found among the tenant's own
    accounts), none stored, and it still signs in."""
    made = world.add_province_inspector(event_store)
    catch_up(settings)
    assert "thanhtra.yenbai" in [u["username"] for u in nodes(users(world, "tenant_admin"))]
    path = f"{API}/tenants/{world.tenants[YEN_BAI].id}/users/{made}"
    for method, action, body in (
            ("POST", "password-reset", {"new_password": "mat-khau-moi-dai-2"}),
            ("POST", "deactivation", {"reason": "Chuyển công tác"}),
            ("PUT", "roles", {"roles": ["reviewer"]})):
        refused = world.client.request(method, f"{path}/{action}",
                                       headers=world.as_("tenant_admin"), json=body)
        assert refused.status_code == 404, refused.text
        assert refused.json()["code"] == "not_found"
    assert [type(e).__name__ for e in event_store.events.get(uuid.UUID(made))] == ["Registered"]
    assert world.client.post(f"{API}/auth/token", json={
        "username": "thanhtra.yenbai", "password": PASSWORD}).status_code == 200


def test_another_communes_or_provinces_admin_does_not_list_the_inspector_of_this_one(
        world: World, event_store: EventStore, settings: Settings,
        make_user: Callable[..., MadeUser]) -> None:
    world.add_province_inspector(event_store)
    catch_up(settings)
    own = [u["username"] for u in nodes(users(world, "tenant_admin", GIA_PHU, tenant=GIA_PHU))]
    assert own and "thanhtra.yenbai" not in own
    assert codes(users(world, "tenant_admin", GIA_PHU)) == ["FORBIDDEN"]
    hanoi = login(world.client, make_user("admin.hanoi", role="province_admin", province="01"))
    body = gql(world.client, hanoi, USERS, {"id": world.tenants[YEN_BAI].id})
    assert codes(body) == ["FORBIDDEN"] and body["data"]["tenant"] is None
