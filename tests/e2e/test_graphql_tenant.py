"""A tenant's views: units, models (searched without diacritics, paged), plan tasks with their
overdue flags, the recognition registry; a model's history and its state at any moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest

from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser
from tests.e2e.graphql_support import catch_up, data, gql, now, operation
from tests.e2e.world import API, YEN_BAI, World, ok


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


def test_models_are_searched_without_diacritics_and_paged(world: World,
                                                          settings: Settings) -> None:
    names = ["Đường bê tông thôn Đồng Tâm", "Dân vận khéo xây dựng đường", "Hội Phụ nữ giúp nhau",
             "Camera an ninh tổ dân phố", "Chuyển đổi số chợ 4.0"]
    for name in names:
        world.register(name=name, field="economy" if "đường" in name.lower() else "culture_society")
    catch_up(settings)
    tenant = world.tenants[YEN_BAI].id
    query = operation("TenantModels")

    def found(**variables: object) -> dict[str, object]:
        models = data(gql(world.client, world.as_("reviewer"), query,
                          {"id": tenant, **variables}))["tenant"]["models"]
        assert isinstance(models, dict)
        return models

    duong = found(search="duong")
    assert sorted(e["node"]["name"] for e in duong["edges"]) == sorted(  # type: ignore[union-attr]
        n for n in names if "ường" in n)
    assert found(search="ĐƯỜNG BÊ")["totalCount"] == 1
    assert found(search="phu nu")["totalCount"] == 1
    assert found(field="CULTURE_SOCIETY")["totalCount"] == 3
    assert found(state="DRAFT", year=2026)["totalCount"] == 5
    walked, after = [], None
    while True:
        page = found(first=2, after=after)
        assert page["totalCount"] == 5
        walked += [e["node"]["name"] for e in page["edges"]]  # type: ignore[attr-defined]
        if not page["pageInfo"]["hasNextPage"]:  # type: ignore[index]
            break
        after = page["pageInfo"]["endCursor"]  # type: ignore[index]
    assert sorted(walked) == sorted(names) and len(set(walked)) == 5


def test_the_tenant_overview_shows_units_tasks_and_recognitions(world: World,
                                                                settings: Settings) -> None:
    tenant = world.tenants[YEN_BAI]
    admin = world.as_("tenant_admin")
    past = ok(world.client.post(f"{API}/tenants/{tenant.id}/plan-tasks", headers=admin, json={
        "year": 2026, "title": "Quán triệt Chỉ thị 10", "due_date": "2026-03-31"}), 201)
    ok(world.client.post(f"{API}/tenants/{tenant.id}/plan-tasks", headers=admin, json={
        "year": 2026, "title": "Tổng kết năm", "due_date": "2099-12-31"}), 201)
    done = ok(world.client.post(f"{API}/tenants/{tenant.id}/plan-tasks", headers=admin, json={
        "year": 2026, "title": "Ban hành kế hoạch", "due_date": "2026-04-30"}), 201)
    ok(world.client.post(f"{API}/tenants/{tenant.id}/plan-tasks/{done['id']}/completion",
                         headers=admin, json={"note": "Đã ban hành"}))
    model = world.register(name="Dân vận khéo xây dựng đường")
    for action, role, body in (
            ("submit", "unit_user", {}), ("accept", "reviewer", {}),
            ("self-assessment", "unit_user", {"summary": "Đạt"}),
            ("evaluation", "reviewer", {"scores": {
                "effectiveness": 85, "creativity": 80, "participation": 90,
                "replicability": 75, "political_tie": 80, "planning": 70}}),
            ("proposal", "reviewer", {}),
            ("recognition", "approver", {"level": "tenant", "decision_number": "125-QĐ/ĐU",
                                         "decision_date": "2026-06-15"})):
        ok(world.act(model["id"], action, role, body))
    catch_up(settings)
    overview = data(gql(world.client, world.as_("approver"), operation("TenantOverview"),
                        {"id": tenant.id, "year": 2026}))["tenant"]
    assert sorted(u["name"] for u in overview["units"]) == sorted(tenant.units)
    tasks = {t["title"]: t for t in overview["planTasks"]}
    assert tasks["Quán triệt Chỉ thị 10"]["overdue"] is True
    assert tasks["Quán triệt Chỉ thị 10"]["id"] == past["id"]
    assert tasks["Tổng kết năm"]["overdue"] is False
    assert tasks["Ban hành kế hoạch"]["overdue"] is False
    assert tasks["Ban hành kế hoạch"]["note"] == "Đã ban hành"
    assert overview["recognitions"] == [{
        "modelId": model["id"], "modelName": "Dân vận khéo xây dựng đường", "field": "ECONOMY",
        "level": "TENANT", "decisionNumber": "125-QĐ/ĐU", "decisionDate": "2026-06-15",
        "revokedAt": None, "revokeReason": None}]
    assert overview["quota"]["newModels"] == 1 and overview["quota"]["recognizedTenantLevel"] == 1
    registry = data(gql(world.client, world.as_("unit_user"), operation("RecognitionRegistry"),
                        {"id": tenant.id, "level": "TENANT"}))["tenant"]["recognitions"]
    assert [r["decisionNumber"] for r in registry] == ["125-QĐ/ĐU"]


def test_state_as_of_each_moment_equals_the_replay_up_to_it(world: World,
                                                             settings: Settings) -> None:
    before_registration = now()
    model = world.register()
    mid = model["id"]
    moments: list[tuple[datetime, str, int]] = [(now(), "draft", 1)]
    steps = [("submit", "unit_user", {}, "submitted"),
             ("return", "reviewer", {"reason": "Bổ sung chỉ số đo lường"}, "returned"),
             ("amend", "unit_user", {"goals": "Bê tông hóa 3 km đường"}, "returned"),
             ("submit", "unit_user", {}, "submitted"),
             ("accept", "reviewer", {}, "accepted")]
    for version, (action, role, body, state) in enumerate(steps, start=2):
        ok(world.act(mid, action, role, body))
        moments.append((now(), state, version))
    catch_up(settings)
    query = operation("ModelHistory")
    for at, state, version in moments:
        found = data(gql(world.client, world.as_("reviewer"), query,
                         {"id": mid, "at": at.isoformat()}))["model"]
        snapshot = found["stateAsOf"]
        assert (snapshot["state"], snapshot["version"]) == (state.upper(), version), at
    history = found["history"]
    assert [e["type"] for e in history] == [
        "Model.Registered", "Model.Submitted", "Model.Returned", "Model.Amended",
        "Model.Submitted", "Model.Accepted"]
    assert [e["actor"]["role"] for e in history] == [
        "unit_user", "unit_user", "reviewer", "unit_user", "unit_user", "reviewer"]
    assert history[2]["reason"] == "Bổ sung chỉ số đo lường"
    assert history[3]["payload"]["changes"] == {"goals": "Bê tông hóa 3 km đường"}
    assert found["form"]["goals"] == "Bê tông hóa 3 km đường"
    returned_at = moments[2][0].isoformat()
    old = data(gql(world.client, world.as_("reviewer"), query, {"id": mid, "at": returned_at}))
    assert old["model"]["stateAsOf"]["state"] == "RETURNED"
    early = data(gql(world.client, world.as_("reviewer"), query,
                     {"id": mid, "at": (before_registration - timedelta(days=1)).isoformat()}))
    assert early["model"]["stateAsOf"] is None


def test_every_stored_operation_runs_and_is_served_by_id_and_hash(world: World,
                                                                 settings: Settings) -> None:
    from danvan.graphql.persisted import persisted_queries, sha256_of

    tenant = world.tenants[YEN_BAI].id
    model = world.register()
    catch_up(settings)
    variables = {
        "ProvinceConsolidation": {"code": "15", "year": 2026},
        "ProvinceAtRisk": {"code": "15", "year": 2026},
        "NationalOverview": {"year": 2026},
        "TenantOverview": {"id": tenant, "year": 2026},
        "TenantModels": {"id": tenant, "search": "duong"},
        "ModelHistory": {"id": model["id"], "at": "2030-01-01T00:00:00+07:00"},
        "AuditTrail": {"tenantId": tenant},
        "VerifyAuditChain": {"tenantId": tenant},
        "RecognitionRegistry": {"id": tenant},
        "RecognitionQueue": {"code": "15", "year": 2026},
        "TenantWorkLists": {"id": tenant, "year": 2026},
    }
    stored = {q.id: q for q in persisted_queries().values()}
    assert sorted(stored) == sorted(variables)
    for name, query in stored.items():
        by_text = gql(world.client, world.province, query.text, variables[name])
        assert "errors" not in by_text, (name, by_text)
        by_id = gql(world.client, world.province, "", variables[name], id=name)
        by_hash = world.client.post("/graphql", headers=world.province, json={
            "variables": variables[name],
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(query.text)}}
        }).json()
        # each says the position it was read at; the data is the same
        positions = {body.pop("extensions")["position"] for body in (by_text, by_id, by_hash)}
        assert len(positions) == 1, (name, positions)
        assert by_id == by_text, name
        assert by_hash == by_text, name
    unknown = world.client.post("/graphql", headers=world.province, json={"id": "NoSuchReport"})
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_a_kept_answer_is_not_served_once_the_read_models_moved(world: World,
                                                                settings: Settings) -> None:
    tenant = world.tenants[YEN_BAI].id
    query = operation("TenantModels")
    world.register(name="Mô hình thứ nhất")
    catch_up(settings)

    def total() -> int:
        found = data(gql(world.client, world.as_("reviewer"), query, {"id": tenant}))
        return int(found["tenant"]["models"]["totalCount"])

    assert total() == total() == 1  # the second answer is the kept one
    world.register(name="Mô hình thứ hai")
    assert total() == 1  # not projected yet: the read models have not moved
    catch_up(settings)
    assert total() == 2
