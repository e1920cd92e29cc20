"""Every read is scoped like the command API: other tenants, other units, other provinces and
other roles' data answer null with an error, and reveal nothing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser, login
from tests.e2e.graphql_support import YEAR, catch_up, codes, data, gql, operation
from tests.e2e.world import GIA_PHU, TENANT_ROLES, YEN_BAI, World, ok

PERSON = {"full_name": "Lò Thị Mai", "birth_year": 1972, "phone": "0915 222 333",
          "address": "Tổ 5, phường Yên Bái"}
TENANT_Q = "query($id: ID!) { tenant(id: $id) { id name code } }"
MODEL_Q = "query($id: ID!) { model(id: $id) { id name unitId } }"
EVENTS_Q = """query($id: ID!) { model(id: $id) { id
  stateAsOf(at: "2099-01-01T00:00:00+07:00") { version name } history { type payload } } }"""
"""A model's events (its state at a moment, its history): read only once access is granted."""
PERSON_Q = ("query($id: ID!) { model(id: $id) { id "
            "person { erased fullName birthYear phone address } } }")
MODELS_Q = """query($id: ID!, $unit: ID) { tenant(id: $id) {
  models(year: 2026, unitId: $unit, first: 100) { totalCount edges { node { id unitId } } } } }"""
AUDIT_Q = operation("AuditTrail")
VERIFY_Q = operation("VerifyAuditChain")


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


def test_tenant_roles_read_their_own_tenant_and_nothing_of_another(
        world: World, settings: Settings) -> None:
    theirs = world.register(GIA_PHU, name="Mô hình riêng của Gia Phú")
    catch_up(settings)
    gia_phu, yen_bai = world.tenants[GIA_PHU].id, world.tenants[YEN_BAI].id
    for role in TENANT_ROLES:
        headers = world.as_(role, YEN_BAI)
        own = data(gql(world.client, headers, TENANT_Q, {"id": yen_bai}))
        assert own["tenant"]["name"] == "Phường Yên Bái", role
        for query, variables, code in (
                (TENANT_Q, {"id": gia_phu}, "FORBIDDEN"),
                (MODEL_Q, {"id": theirs["id"]}, "NOT_FOUND"),
                (EVENTS_Q, {"id": theirs["id"]}, "NOT_FOUND"),
                (operation("ProvinceConsolidation"), {"code": "15", "year": YEAR}, "FORBIDDEN"),
                (AUDIT_Q, {"tenantId": gia_phu}, "FORBIDDEN"),
                (VERIFY_Q, {"tenantId": gia_phu}, "FORBIDDEN")):
            body = gql(world.client, headers, query, variables)
            assert body["data"] is not None and all(v is None for v in body["data"].values())
            assert codes(body) == [code], (role, query)
            text = str(body)
            assert "Gia Phú" not in text and "riêng" not in text and theirs["id"] not in text


def test_province_roles_read_their_province_and_no_other(
        world: World, settings: Settings, make_user: Callable[..., MadeUser]) -> None:
    catch_up(settings)
    gia_phu = world.tenants[GIA_PHU].id
    for headers in (world.province, world.analyst):
        assert data(gql(world.client, headers, TENANT_Q, {"id": gia_phu}))["tenant"]["code"] \
            == GIA_PHU
        assert data(gql(world.client, headers, operation("ProvinceConsolidation"),
                        {"code": "15", "year": YEAR}))["province"]["summary"]["tenantCount"] == 2
    # The server learns the tenant's province from its own admin's read (and keeps it):
    # knowing it lets no other province's admin in.
    assert data(gql(world.client, world.province, AUDIT_Q, {"tenantId": gia_phu}))
    ha_noi = login(world.client, make_user("admin.hanoi", role="province_admin", province="01"))
    for query, variables in ((TENANT_Q, {"id": gia_phu}),
                             (operation("ProvinceConsolidation"), {"code": "15", "year": YEAR}),
                             (AUDIT_Q, {"tenantId": gia_phu})):
        body = gql(world.client, ha_noi, query, variables)
        assert codes(body) == ["FORBIDDEN"] and "Gia Phú" not in str(body)
    assert [p["code"] for p in data(gql(world.client, ha_noi, operation("NationalOverview"),
                                        {"year": YEAR}))["provinces"]] == ["01"]


def test_a_unit_user_sees_only_its_units_models(world: World, settings: Settings) -> None:
    mine = world.register(name="Của chi bộ tổ dân phố 5")
    other_unit = world.tenants[YEN_BAI].units["Hội Phụ nữ"]
    theirs = world.register(unit="Hội Phụ nữ", role="reviewer", name="Của Hội Phụ nữ")
    catch_up(settings)
    yen_bai = world.tenants[YEN_BAI].id
    unit_user = world.as_("unit_user")
    listed = data(gql(world.client, unit_user, MODELS_Q, {"id": yen_bai}))
    assert [e["node"]["id"] for e in listed["tenant"]["models"]["edges"]] == [mine["id"]]
    assert listed["tenant"]["models"]["totalCount"] == 1
    refused = gql(world.client, unit_user, MODELS_Q, {"id": yen_bai, "unit": other_unit})
    assert codes(refused) == ["FORBIDDEN"] and theirs["id"] not in str(refused)
    for query in (MODEL_Q, EVENTS_Q):
        single = gql(world.client, unit_user, query, {"id": theirs["id"]})
        assert single["data"]["model"] is None and codes(single) == ["FORBIDDEN"]
        assert "Hội Phụ nữ" not in str(single)
    own = data(gql(world.client, unit_user, EVENTS_Q, {"id": mine["id"]}))["model"]
    assert own["stateAsOf"] == {"version": 1, "name": "Của chi bộ tổ dân phố 5"}
    assert [e["type"] for e in own["history"]] == ["Model.Registered"]
    assert data(gql(world.client, unit_user, MODEL_Q, {"id": mine["id"]}))["model"]["id"] \
        == mine["id"]
    reviewer = data(gql(world.client, world.as_("reviewer"), MODELS_Q, {"id": yen_bai}))
    assert reviewer["tenant"]["models"]["totalCount"] == 2


def test_an_inspector_audits_only_the_tenant_it_was_created_in(
        world: World, settings: Settings) -> None:
    model = world.register()
    ok(world.act(model["id"], "submit", "unit_user"))
    ok(world.act(model["id"], "return", "reviewer", {"reason": "Bổ sung chỉ số"}))
    catch_up(settings)
    yen_bai, gia_phu = world.tenants[YEN_BAI].id, world.tenants[GIA_PHU].id
    inspector = world.as_("inspector")
    trail = data(gql(world.client, inspector, AUDIT_Q, {"tenantId": yen_bai}))["auditTrail"]
    positions = [e["node"]["position"] for e in trail["edges"]]
    assert positions == sorted(positions) and trail["totalCount"] == len(positions) > 3
    returned = [e["node"] for e in trail["edges"] if e["node"]["type"] == "Model.Returned"]
    assert returned[0]["reason"] == "Bổ sung chỉ số"
    assert returned[0]["actor"]["role"] == "reviewer"
    assert returned[0]["aggregateId"] == model["id"]
    links = [(e["node"]["prevHash"], e["node"]["hash"]) for e in trail["edges"]]
    assert all(prev == links[i - 1][1] for i, (prev, _) in enumerate(links) if i)
    verdict = data(gql(world.client, inspector, VERIFY_Q, {"tenantId": yen_bai}))
    assert verdict["verifyAuditChain"] == {"ok": True, "eventsChecked": trail["totalCount"],
                                           "firstBrokenPosition": None,
                                           "warnings": [verdict["verifyAuditChain"]["warnings"][0]]}
    assert verdict["verifyAuditChain"]["warnings"][0].startswith("no seal")
    by_model = data(gql(world.client, inspector, AUDIT_Q,
                        {"tenantId": yen_bai, "aggregateId": model["id"]}))["auditTrail"]
    assert [e["node"]["version"] for e in by_model["edges"]] == [1, 2, 3]
    for role_headers in (world.as_("inspector", GIA_PHU), world.as_("reviewer"),
                         world.as_("tenant_admin"), world.analyst):
        for query in (AUDIT_Q, VERIFY_Q):
            body = gql(world.client, role_headers, query, {"tenantId": yen_bai})
            assert codes(body) == ["FORBIDDEN"]
    assert data(gql(world.client, world.province, AUDIT_Q, {"tenantId": gia_phu}))
    assert codes(gql(world.client, inspector, AUDIT_Q, {"tenantId": gia_phu})) == ["FORBIDDEN"]


def test_personal_data_only_for_roles_allowed_and_erased_shows_erased(
        world: World, settings: Settings) -> None:
    model = world.register(kind="individual", name="Điển hình bà Lò Thị Mai", person=PERSON)
    catch_up(settings)
    allowed = [world.as_(r) for r in ("tenant_admin", "reviewer", "approver")] + [world.province]
    for headers in allowed:
        person = data(gql(world.client, headers, PERSON_Q, {"id": model["id"]}))["model"]["person"]
        assert person == {"erased": False, "fullName": "Lò Thị Mai", "birthYear": 1972,
                          "phone": "0915 222 333", "address": "Tổ 5, phường Yên Bái"}
    for headers in (world.as_("unit_user"), world.as_("inspector"), world.analyst):
        body = gql(world.client, headers, PERSON_Q, {"id": model["id"]})
        assert body["data"]["model"]["id"] == model["id"]
        assert body["data"]["model"]["person"] is None and codes(body) == ["FORBIDDEN"]
        assert "Lò Thị Mai" not in str(body["data"])
    trail = gql(world.client, world.as_("inspector"), AUDIT_Q,
                {"tenantId": world.tenants[YEN_BAI].id, "aggregateId": model["id"]})
    registered = data(trail)["auditTrail"]["edges"][0]["node"]["payload"]
    assert registered["person_token"] and "Mai" not in str(registered["person_token"])
    assert "Lò Thị Mai" not in str(trail["data"]["auditTrail"]["edges"][0]["node"]["payload"]
                                   .get("person_token")) and "0915" not in str(trail)
    ok(world.client.post(f"{world.models_path()}/{model['id']}/personal-data-erasure",
                         headers=world.as_("tenant_admin"), json={"reason": "Theo đề nghị"}))
    catch_up(settings)
    for headers in allowed:
        person = data(gql(world.client, headers, PERSON_Q, {"id": model["id"]}))["model"]["person"]
        assert person == {"erased": True, "fullName": None, "birthYear": None, "phone": None,
                          "address": None}
    history = data(gql(world.client, world.as_("reviewer"), operation("ModelHistory"),
                       {"id": model["id"], "at": "2030-01-01T00:00:00+07:00"}))["model"]
    assert [e["type"] for e in history["history"]] == ["Model.Registered",
                                                       "Model.PersonalDataErased"]
    assert history["stateAsOf"]["personErased"] is True and history["person"]["erased"]
    assert "0915" not in str(history)


def test_a_request_without_a_valid_token_is_refused(client: httpx.Client) -> None:
    response = client.post("/graphql", json={"query": "{ provinces { code } }"})
    assert response.status_code == 401
    response = client.post("/graphql", json={"query": "{ provinces { code } }"},
                           headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


STREAM_Q = """query($t: ID!, $after: String) { auditTrail(tenantId: $t, first: 2, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { position } } } }"""
COUNTED_Q = """query($t: ID!) { auditTrail(tenantId: $t, first: 1) { ...Counted } }
fragment Counted on AuditEventConnection { totalCount }"""


def test_the_trail_streams_page_by_page_and_counts_when_asked_through_a_fragment(
        world: World, settings: Settings) -> None:
    model = world.register()
    ok(world.act(model["id"], "submit", "unit_user"))
    catch_up(settings)
    yen_bai, inspector = world.tenants[YEN_BAI].id, world.as_("inspector")
    streamed, after = [], None
    while True:
        page = data(gql(world.client, inspector, STREAM_Q,
                        {"t": yen_bai, "after": after}))["auditTrail"]
        streamed += [e["node"]["position"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert streamed == sorted(set(streamed)) and len(streamed) > 3
    counted = data(gql(world.client, inspector, COUNTED_Q, {"t": yen_bai}))["auditTrail"]
    assert counted["totalCount"] == len(streamed)
