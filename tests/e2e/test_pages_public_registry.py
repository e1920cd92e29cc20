"""The public registry, as JSON (``GET /api/v1/public/recognized-models``) and as the page
``/cong-khai``: no login, recognised and not revoked models only, never an exemplar's
personal details, bad parameters named, rate limited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from danvan.domain.clock import vietnam_date
from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser
from tests.e2e.graphql_support import catch_up
from tests.e2e.pages_story import EXEMPLAR, PERSONAL, recognized
from tests.e2e.world import GIA_PHU, World, ok

REGISTRY = "/api/v1/public/recognized-models"


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings
          ) -> World:
    world = World.build(client, make_user)
    recognized(world, "Dân vận khéo hiến đất làm đường", decision="12-QĐ/ĐU")
    recognized(world, "Điển hình bà Mai nuôi ong", kind="individual", person=EXEMPLAR,
               decision="13-QĐ/ĐU")
    revoked = recognized(world, "Mô hình đã bị thu hồi", decision="14-QĐ/ĐU")
    ok(world.act(revoked, "revocation", "approver", {"level": "tenant",
                                                     "reason": "Không còn hiệu quả"}))
    accepted = world.register(name="Mô hình mới tiếp nhận")["id"]
    ok(world.act(accepted, "submit", "unit_user"))
    ok(world.act(accepted, "accept", "reviewer"))
    recognized(world, "Gia Phú chung sức", code=GIA_PHU, decision="7-QĐ/ĐU",
               field="culture_society")
    catch_up(settings)
    return world


def names(body: dict) -> set[str]:
    return {item["name"] for item in body["items"]}


def test_the_registry_lists_recognised_models_without_personal_data(world: World) -> None:
    anonymous = httpx.Client(base_url=str(world.client.base_url), timeout=30)
    answer = anonymous.get(REGISTRY, params={"province": "15", "year": 2026})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert names(body) == {"Dân vận khéo hiến đất làm đường", "Điển hình bà Mai nuôi ong",
                           "Gia Phú chung sức"}
    assert body["total"] == 3 and body["page"] == 1 and body["pages"] == 1
    road = next(i for i in body["items"] if i["name"].startswith("Dân vận khéo hiến đất"))
    assert road["level"] == "tenant" and road["decision_number"] == "12-QĐ/ĐU"
    assert road["decision_date"] == "2026-06-15" and road["tenant_code"] == "04252"
    assert road["unit_name"] == "Chi bộ Tổ dân phố 5" and road["field"] == "economy"
    assert road["summary"]["problem"] == "Đường liên thôn xuống cấp"
    for personal in PERSONAL:
        assert personal not in answer.text
    page = anonymous.get("/cong-khai", params={"province": "15", "year": "2026"})
    assert page.status_code == 200
    assert "Dân vận khéo hiến đất làm đường" in page.text and "12-QĐ/ĐU" in page.text
    assert "Mô hình đã bị thu hồi" not in page.text
    assert "Mô hình mới tiếp nhận" not in page.text
    for personal in PERSONAL:
        assert personal not in page.text


def test_filters_by_tenant_and_field(world: World) -> None:
    by_tenant = world.client.get(REGISTRY, params={"province": "15", "tenant": GIA_PHU})
    assert names(ok(by_tenant)) == {"Gia Phú chung sức"}
    by_field = world.client.get(REGISTRY, params={"year": 2026, "field": "culture_society"})
    assert names(ok(by_field)) == {"Gia Phú chung sức"}
    page = world.client.get("/cong-khai", params={"tenant": GIA_PHU, "year": "2026"})
    assert "Gia Phú chung sức" in page.text and "Dân vận khéo hiến đất" not in page.text


def test_without_parameters_the_page_shows_the_current_year_of_every_province(
        world: World) -> None:
    year = vietnam_date(datetime.now(UTC)).year
    page = world.client.get("/cong-khai")
    assert page.status_code == 200
    assert f"được công nhận năm {year}" in page.text
    assert ok(world.client.get(REGISTRY))["year"] == year


def test_a_bad_parameter_is_a_problem_naming_it(world: World) -> None:
    for params, member in (({"year": "1800"}, "year"), ({"field": "bóng đá"}, "field"),
                           ({"province": "99"}, "province"), ({"page": "0"}, "page")):
        answer = world.client.get(REGISTRY, params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in answer.json()["errors"]] == [member]
    assert world.client.get("/cong-khai", params={"year": "abc"}).status_code == 422


def test_one_address_is_limited(world: World) -> None:
    statuses = [world.client.get(REGISTRY, params={"province": "15"}).status_code
                for _ in range(125)]
    assert statuses[0] == 200 and statuses[-1] == 429
    limited = world.client.get(REGISTRY)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert world.client.get("/cong-khai").status_code == 429
