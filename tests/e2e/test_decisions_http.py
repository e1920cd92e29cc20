"""Decisions as officials take them: the province's evaluation rules for a year, and one
recognition decision covering a list of models, all or none."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from danvan.infra.event_store import EventStore
from tests.e2e.conftest import MadeUser
from tests.e2e.world import API, GIA_PHU, YEN_BAI, World, ok

SCORES = {"effectiveness": 50, "creativity": 50, "participation": 95, "replicability": 50,
          "political_tie": 50, "planning": 50}
RULES = {"weights": {"effectiveness": 0, "creativity": 0, "participation": 100,
                     "replicability": 0, "political_tie": 0, "planning": 0},
         "person_weights": {"reputation": 25, "ethics": 25, "responsibility": 25,
                            "mobilisation": 25},
         "pass_mark": 90}
UP_TO_PROPOSAL = (("submit", "unit_user", {}), ("accept", "reviewer", {}),
                  ("self-assessment", "unit_user", {"summary": "Đạt"}),
                  ("evaluation", "reviewer", {"scores": {k: 85 for k in SCORES}}),
                  ("proposal", "reviewer", {}))


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


def events(store: EventStore, model_id: str) -> list[Any]:
    return list(store.events.get(uuid.UUID(model_id)))


def model_up_to(world: World, steps: int, name: str, code: str = YEN_BAI) -> str:
    model_id = str(world.register(code, name=name)["id"])
    for action, role, body in UP_TO_PROPOSAL[:steps]:
        ok(world.act(model_id, action, role, body, code=code))
    return model_id


def rules_path(year: int) -> str:
    return f"{API}/provinces/15/evaluation-rules/{year}"


class TestEvaluationRules:
    def test_an_evaluation_applies_the_rules_in_force_and_records_them(
            self, world: World, event_store: EventStore) -> None:
        before = model_up_to(world, 3, "Mô hình đánh giá theo mặc định")
        defaults = ok(world.act(before, "evaluation", "reviewer", {"scores": SCORES}))
        assert defaults["state"] == "evaluated"
        assert events(event_store, before)[-1].passed is False  # equal weights: 58.33 < 70

        assert ok(world.client.put(rules_path(2026), headers=world.province, json=RULES),
                  201)["pass_mark"] == "90"
        after = model_up_to(world, 3, "Mô hình đánh giá theo quy định của tỉnh")
        ok(world.act(after, "evaluation", "reviewer", {"scores": SCORES}))
        evaluated = events(event_store, after)[-1]
        assert (evaluated.total, evaluated.passed, evaluated.pass_mark) == ("95.00", True, "90")
        assert evaluated.weights["participation"] == "100"
        assert ok(world.act(after, "proposal", "reviewer"))["state"] == "proposed"
        assert events(event_store, before)[-1].passed is False  # earlier evaluations stand

    def test_the_same_rules_again_change_nothing(self, world: World) -> None:
        first = ok(world.client.put(rules_path(2027), headers=world.province, json=RULES), 201)
        again = ok(world.client.put(rules_path(2027), headers=world.province, json=RULES))
        assert again["version"] == first["version"]

    @pytest.mark.parametrize(("change", "field"), [
        ({"weights": {**RULES["weights"], "planning": 10}}, "weights"),
        ({"person_weights": {"reputation": 100}}, "person_weights.ethics"),
        ({"pass_mark": 101}, "pass_mark"),
        ({"weights": {**RULES["weights"], "beauty": 1}}, "weights.beauty"),
    ])
    def test_weights_are_whole_and_add_up_to_100(self, world: World, change: dict[str, Any],
                                                  field: str) -> None:
        response = world.client.put(rules_path(2028), headers=world.province,
                                    json={**RULES, **change})
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]]


class TestRecognitionDecision:
    def decide(self, world: World, model_ids: list[str], *, level: str = "tenant",
               code: str = YEN_BAI) -> httpx.Response:
        body = {"level": level, "decision_number": "125-QĐ/ĐU", "decision_date": "2026-06-15",
                "model_ids": model_ids}
        if level == "province":
            return world.client.post(f"{API}/provinces/15/recognitions",
                                     headers=world.province, json=body)
        return world.client.post(f"{API}/tenants/{world.tenants[code].id}/recognitions",
                                 headers=world.as_("approver", code), json=body)

    def test_one_decision_recognizes_every_listed_model(self, world: World,
                                                        event_store: EventStore) -> None:
        proposed = [model_up_to(world, 5, f"Mô hình được đề nghị số {i}") for i in range(3)]
        answer = ok(self.decide(world, proposed))
        assert answer["decision_number"] == "125-QĐ/ĐU"
        assert {m["id"]: m["state"] for m in answer["models"]} == dict.fromkeys(
            proposed, "recognized_tenant")
        for model_id in proposed:
            last = events(event_store, model_id)[-1]
            assert (type(last).__name__, last.decision_number) == ("Recognized", "125-QĐ/ĐU")

    def test_one_model_in_the_wrong_state_recognizes_none_and_is_named(
            self, world: World, event_store: EventStore) -> None:
        proposed = [model_up_to(world, 5, f"Mô hình đủ điều kiện số {i}") for i in range(2)]
        draft = model_up_to(world, 0, "Mô hình còn là bản nháp")
        versions = {m: len(events(event_store, m)) for m in [*proposed, draft]}
        response = self.decide(world, [*proposed, draft])
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["code"] == "decision_refused"
        assert [(e["field"], e["model_id"]) for e in problem["errors"]] == [("model_ids", draft)]
        assert "công nhận cấp xã" in problem["errors"][0]["message"]
        assert {m: len(events(event_store, m)) for m in versions} == versions

    def test_a_model_outside_the_scope_is_a_bad_model_ids(self, world: World,
                                                          event_store: EventStore) -> None:
        mine = model_up_to(world, 5, "Mô hình của phường")
        theirs = model_up_to(world, 5, "Mô hình của xã", code=GIA_PHU)
        for listed in ([mine, theirs], [mine, str(uuid.uuid4())]):
            response = self.decide(world, listed)
            assert response.status_code == 422, response.text
            assert [e["field"] for e in response.json()["errors"]] == ["model_ids"]
        assert len(events(event_store, mine)) == 6

    def test_the_province_recognizes_nominees_of_its_tenants_at_once(
            self, world: World) -> None:
        nominees = []
        for code in (YEN_BAI, GIA_PHU):
            model_id = model_up_to(world, 5, f"Mô hình tiêu biểu của {code}", code=code)
            ok(self.decide(world, [model_id], code=code))
            ok(world.act(model_id, "nomination", "approver", code=code))
            nominees.append(model_id)
        answer = ok(self.decide(world, nominees, level="province"))
        assert [m["state"] for m in answer["models"]] == ["recognized_province"] * 2

    def test_a_route_decides_at_its_own_level(self, world: World) -> None:
        proposed = model_up_to(world, 5, "Mô hình cấp nào")
        body = {"level": "province", "decision_number": "1", "decision_date": "2026-06-15",
                "model_ids": [proposed]}
        response = world.client.post(f"{API}/tenants/{world.tenants[YEN_BAI].id}/recognitions",
                                     headers=world.as_("approver"), json=body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "level"
