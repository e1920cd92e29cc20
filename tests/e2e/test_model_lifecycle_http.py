"""A model from draft to province recognition, each step by the role the movement names."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from danvan.infra.event_store import EventStore
from tests.e2e.conftest import PASSWORD, MadeUser, login
from tests.e2e.world import API, GIA_PHU, YEN_BAI, World, ok


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


def test_onboarding_derives_the_tenant_from_the_official_catalogue(world: World) -> None:
    tenant = ok(world.client.get(f"{API}/tenants/{world.tenants[YEN_BAI].id}",
                                 headers=world.as_("reviewer")))
    assert tenant == {"id": world.tenants[YEN_BAI].id, "code": "04252", "name": "Phường Yên Bái",
                      "kind": "ward", "province_code": "15"}


def test_an_agency_is_onboarded_by_its_own_code(world: World) -> None:
    agency = ok(world.client.post(f"{API}/tenants", headers=world.province, json={
        "kind": "agency", "province_code": "15", "code": "SNV", "name": "Sở Nội vụ"}), 201)
    assert agency["kind"] == "agency" and agency["name"] == "Sở Nội vụ"


def test_a_model_goes_from_draft_to_province_recognition(world: World,
                                                         event_store: EventStore) -> None:
    model = world.register()
    assert (model["state"], model["version"]) == ("draft", 1)
    mid = model["id"]
    steps = [
        ("submit", "unit_user", {}, "submitted"),
        ("return", "reviewer", {"reason": "Bổ sung chỉ số đo lường"}, "returned"),
        ("amend", "unit_user", {"goals": "Bê tông hóa 3 km đường"}, "returned"),
        ("submit", "unit_user", {}, "submitted"),
        ("accept", "reviewer", {}, "accepted"),
        ("progress", "unit_user", {"period": "2026-Q2", "participants": 320, "workdays": 1150,
                                   "money_vnd": "450000000", "land_m2": "1250.5",
                                   "note": "Hoàn thành 1 km"}, "accepted"),
        ("inspection", "reviewer", {"findings": "Đúng tiến độ"}, "accepted"),
        ("self-assessment", "unit_user", {"summary": "Đạt các mục tiêu"}, "self_assessed"),
        ("evaluation", "reviewer", {"scores": {
            "effectiveness": 85, "creativity": 80, "participation": 90, "replicability": 75,
            "political_tie": 80, "planning": 70}}, "evaluated"),
        ("proposal", "reviewer", {}, "proposed"),
        ("recognition", "approver", {"level": "tenant", "decision_number": "125-QĐ/ĐU",
                                     "decision_date": "2026-06-15"}, "recognized_tenant"),
        ("nomination", "approver", {}, "nominated"),
        ("recognition", "province_admin", {"level": "province",
                                           "decision_number": "2150-QĐ/TU",
                                           "decision_date": "2026-09-02"},
         "recognized_province"),
    ]
    version = 1
    for action, role, body, state in steps:
        answer = ok(world.act(mid, action, role, body))
        version += 1
        assert answer == {"id": mid, "version": version, "state": state}, action
    approval = world.client.post(
        f"{API}/tenants/{world.tenants[YEN_BAI].id}/lists/2026/approval",
        headers=world.as_("approver"), json={"decision_number": "05-QĐ/ĐU"})
    assert approval.status_code == 201
    history = list(event_store.events.get(uuid.UUID(mid)))
    assert len(history) == version
    assert [e.meta["actor_role"] for e in history[1:4]] == [  # type: ignore[attr-defined]
        "unit_user", "reviewer", "unit_user"]
    assert history[2].meta["reason"] == "Bổ sung chỉ số đo lường"  # type: ignore[attr-defined]


def test_the_wrong_role_is_refused_at_each_step(world: World) -> None:
    mid = world.register()["id"]
    assert world.act(mid, "accept", "unit_user").status_code == 403
    ok(world.act(mid, "submit", "unit_user"))
    assert world.act(mid, "accept", "approver").status_code == 403
    ok(world.act(mid, "accept", "reviewer"))
    assert world.act(mid, "recognition", "approver", {
        "level": "province", "decision_number": "1", "decision_date": "2026-06-01"}
    ).status_code == 403


def test_a_vertical_line_units_copy_is_recorded_not_reviewed(world: World) -> None:
    model = world.register(unit="Chi bộ Công an", role="reviewer", name="Công an phường vì dân")
    refused = world.act(model["id"], "submit", "reviewer")
    assert refused.status_code == 409 and refused.json()["code"] == "vertical_line_unit"
    assert ok(world.act(model["id"], "copy-received", "reviewer"))["state"] == "copy_received"
    ordinary = world.register(name="Mô hình thường")
    refused = world.act(ordinary["id"], "copy-received", "reviewer")
    assert refused.status_code == 409 and refused.json()["code"] == "not_vertical_line_unit"


def test_an_exemplars_personal_data_is_erased_by_a_tenant_admin(world: World) -> None:
    model = world.register(kind="individual", name="Điển hình bà Lò Thị Mai", person={
        "full_name": "Lò Thị Mai", "birth_year": 1972, "phone": "0915 222 333",
        "address": "Tổ 5"})
    erased = ok(world.client.post(f"{world.models_path()}/{model['id']}/personal-data-erasure",
                                  headers=world.as_("tenant_admin"),
                                  json={"reason": "Theo đề nghị của cá nhân"}))
    assert erased["version"] == 2
    again = world.client.post(f"{world.models_path()}/{model['id']}/personal-data-erasure",
                              headers=world.as_("tenant_admin"), json={"reason": "lần nữa"})
    assert again.status_code == 409


def test_a_unit_user_acts_only_for_its_own_unit(world: World) -> None:
    other = world.tenants[YEN_BAI].units["Hội Phụ nữ"]
    refused = world.client.post(world.models_path(), headers=world.as_("unit_user"), json={
        "unit_id": other, "year": 2026, "name": "Không phải của tôi", "kind": "collective"})
    assert refused.status_code == 403
    theirs = world.register(unit="Hội Phụ nữ", role="reviewer", name="Phụ nữ giúp nhau")
    assert world.act(theirs["id"], "submit", "unit_user").status_code == 403


def test_another_tenants_data_is_refused_and_reveals_nothing(world: World) -> None:
    theirs = world.register(GIA_PHU)
    yen_bai = world.tenants[YEN_BAI].id
    gia_phu = world.tenants[GIA_PHU].id
    for role in ("tenant_admin", "reviewer", "approver", "unit_user", "inspector"):
        headers = world.as_(role, YEN_BAI)
        for response in (
            world.client.get(f"{API}/tenants/{gia_phu}", headers=headers),
            world.client.post(f"{API}/tenants/{gia_phu}/models/{theirs['id']}/accept",
                              headers=headers, json={}),
            world.client.post(f"{API}/tenants/{gia_phu}/units", headers=headers,
                              json={"name": "x", "kind": "other"}),
        ):
            assert response.status_code == 403, (role, response.text)
            assert "Gia Phú" not in response.text and theirs["id"] not in response.text
        # the other tenant's model through one's own tenant is simply unknown
        assert world.client.post(f"{API}/tenants/{yen_bai}/models/{theirs['id']}/submit",
                                 headers=world.as_("unit_user"), json={}).status_code == 404


def test_a_role_change_is_an_event_and_takes_effect_at_the_next_login(
        world: World, event_store: EventStore) -> None:
    tenant = world.tenants[YEN_BAI].id
    made = ok(world.client.post(f"{API}/tenants/{tenant}/users", headers=world.as_("tenant_admin"),
                                json={"username": "can.bo.moi", "password": PASSWORD,
                                      "full_name": "Cán bộ mới", "roles": ["reviewer"]}), 201)
    path = f"{API}/tenants/{tenant}/users/{made['id']}/roles"
    changed = ok(world.client.put(path, headers=world.as_("tenant_admin"),
                                  json={"roles": ["approver"]}))
    assert changed["roles"] == ["approver"] and changed["version"] == 2
    refused = world.client.put(path, headers=world.as_("tenant_admin"),
                               json={"roles": ["inspector"]})
    assert refused.status_code == 403
    unknown_unit = world.client.put(path, headers=world.as_("tenant_admin"),
                                    json={"roles": ["unit_user"], "unit_id": made["id"]})
    assert unknown_unit.status_code == 422
    assert unknown_unit.json()["errors"][0]["field"] == "unit_id"
    events = list(event_store.events.get(uuid.UUID(made["id"])))
    assert [type(e).__name__ for e in events] == ["Registered", "GrantsChanged"]
    assert events[1].meta["actor_role"] == "tenant_admin"  # type: ignore[attr-defined]
    headers = login(world.client, MadeUser(None, "can.bo.moi", PASSWORD))  # type: ignore[arg-type]
    assert world.client.post(f"{world.models_path()}/{world.register()['id']}/submit",
                             headers=headers, json={}).status_code == 403
