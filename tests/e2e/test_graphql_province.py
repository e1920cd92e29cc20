"""The province's consolidation over GraphQL equals what the commands issued add up to."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from danvan.domain.clock import VIETNAM, year_fraction_elapsed
from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser
from tests.e2e.graphql_support import (
    FIELDS,
    YEAR,
    Expected,
    Story,
    catch_up,
    data,
    gql,
    now,
    onboard_third_tenant,
    operation,
)
from tests.e2e.world import GIA_PHU, YEN_BAI, World

CONSOLIDATION = operation("ProvinceConsolidation")


@pytest.fixture
def story(client: httpx.Client, make_user: Callable[..., MadeUser],
          settings: Settings) -> Story:
    world = World.build(client, make_user)
    onboard_third_tenant(world)
    story = Story(world)
    story.set_targets()
    rng = random.Random(7)
    story.phase_one(rng)
    story.mid_year = now()  # type: ignore[attr-defined]
    story.mid_figures = story.snapshot()  # type: ignore[attr-defined]
    story.phase_two(rng, behind=GIA_PHU)
    catch_up(settings)
    return story


def expected_row(story: Story, code: str, figures: Expected, at: datetime) -> dict[str, Any]:
    targets = story.targets[code]
    counts = {k: figures.count(k) for k in
              ("new_models", "recognized_tenant_level", "recognized_province_level")}
    without = story.units_without_registration(code)
    pairs = [(counts[k], targets[k]) for k in counts]
    met = all(t <= 0 or a >= t for a, t in pairs) and without == 0
    over = at >= datetime(YEAR + 1, 1, 1, tzinfo=VIETNAM)
    fraction = year_fraction_elapsed(YEAR, at)
    status = "MET" if met else "MISSED" if over else "IN_PROGRESS"
    at_risk = status == "IN_PROGRESS" and any(t > 0 and a / t < fraction for a, t in pairs)
    return {"newModels": counts["new_models"], "newModelsTarget": targets["new_models"],
            "recognizedTenantLevel": counts["recognized_tenant_level"],
            "recognizedTenantLevelTarget": targets["recognized_tenant_level"],
            "recognizedProvinceLevel": counts["recognized_province_level"],
            "recognizedProvinceLevelTarget": targets["recognized_province_level"],
            "unitsWithoutRegistration": without, "status": status, "atRisk": at_risk}


def test_the_province_totals_equal_the_commands_and_the_sum_of_their_rows(story: Story
                                                                          ) -> None:
    world = story.world
    province = data(gql(world.client, world.analyst, CONSOLIDATION,
                        {"code": "15", "year": YEAR}))["province"]
    summary, page = province["summary"], province["quotas"]
    assert (province["code"], province["name"]) == ("15", "Tỉnh Lào Cai")
    assert summary["tenantCount"] == len(world.tenants) == page["totalCount"] == 3
    for key, what in (("newModels", "new_models"),
                      ("recognizedTenantLevel", "recognized_tenant_level"),
                      ("recognizedProvinceLevel", "recognized_province_level")):
        assert summary[key] == story.total(what), key
        assert summary[key] == sum(e["node"][key] for e in page["edges"]), key
    assert story.total("new_models") == 12 and story.total("recognized_province_level") == 2
    by_field = {f["field"].lower(): f for f in summary["byField"]}
    assert sorted(by_field) == sorted(FIELDS)
    for field_ in FIELDS:
        assert by_field[field_]["newModels"] == story.total("new_models", field_)
        assert by_field[field_]["recognizedTenantLevel"] == story.total(
            "recognized_tenant_level", field_)
        assert by_field[field_]["recognizedProvinceLevel"] == story.total(
            "recognized_province_level", field_)
    assert {k: Decimal(str(v)) for k, v in summary["progress"].items()} == story.progress()
    asked_at = datetime.now(UTC)
    rows = {e["node"]["tenant"]["code"]: e["node"] for e in page["edges"]}
    assert list(rows) == sorted(rows)  # by official code
    for code, tenant in world.tenants.items():
        row = rows[code]
        assert row["tenant"]["id"] == tenant.id
        expected = expected_row(story, code, story.expected[code], asked_at)
        assert {k: row[k] for k in expected} == expected, code
    assert summary["tenantsMet"] == sum(1 for r in rows.values() if r["status"] == "MET")
    assert summary["tenantsAtRisk"] == sum(1 for r in rows.values() if r["atRisk"])
    assert rows[GIA_PHU]["status"] == "IN_PROGRESS" and rows[YEN_BAI]["status"] == "MET"


def test_as_of_answers_as_the_figures_stood_then(story: Story) -> None:
    world = story.world
    mid_year: datetime = story.mid_year  # type: ignore[attr-defined]
    before: dict[str, Expected] = story.mid_figures  # type: ignore[attr-defined]
    province = data(gql(world.client, world.province, CONSOLIDATION,
                        {"code": "15", "year": YEAR, "asOf": mid_year.isoformat()}))["province"]
    summary = province["summary"]
    assert summary["newModels"] == sum(e.count("new_models") for e in before.values()) == 12
    assert summary["recognizedTenantLevel"] == summary["recognizedProvinceLevel"] == 0
    assert summary["progress"]["participants"] == 0
    for edge in province["quotas"]["edges"]:
        row = edge["node"]
        code = row["tenant"]["code"]
        expected = expected_row(story, code, before[code], mid_year)
        assert {k: row[k] for k in expected} == expected, code
    for code, tenant in world.tenants.items():  # the same through each tenant's quota
        quota = data(gql(world.client, world.as_("reviewer", code),
                         "query($id: ID!, $y: Int!, $at: DateTime) { tenant(id: $id) {"
                         " quota(year: $y, asOf: $at) { newModels recognizedTenantLevel } } }",
                         {"id": tenant.id, "y": YEAR, "at": mid_year.isoformat()}))
        assert quota["tenant"]["quota"] == {"newModels": before[code].count("new_models"),
                                            "recognizedTenantLevel": 0}
    naive = gql(world.client, world.province, CONSOLIDATION,
                {"code": "15", "year": YEAR, "asOf": "2026-06-01T00:00:00"})
    assert naive["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_quota_pages_filter_sort_and_follow_their_cursors(story: Story) -> None:
    world = story.world
    query = """query($first: Int!, $after: String, $status: QuotaStatus, $kind: TenantKind,
                     $risk: Boolean, $order: QuotaOrder) {
      province(code: "15") { quotas(year: 2026, first: $first, after: $after, status: $status,
                                    kind: $kind, atRisk: $risk, orderBy: $order) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { tenant { code name kind } newModels status atRisk } } } } }"""

    def page(**variables: Any) -> dict[str, Any]:
        found = data(gql(world.client, world.province, query, {"first": 100, **variables}))
        return found["province"]["quotas"]  # type: ignore[no-any-return]

    everything = [e["node"]["tenant"]["code"] for e in page()["edges"]]
    walked, after = [], None
    while True:
        part = page(first=1, after=after)
        assert part["totalCount"] == 3
        walked += [e["node"]["tenant"]["code"] for e in part["edges"]]
        if not part["pageInfo"]["hasNextPage"]:
            break
        after = part["pageInfo"]["endCursor"]
    assert walked == everything == sorted(everything)
    assert [e["node"]["tenant"]["code"] for e in page(status="IN_PROGRESS")["edges"]] == [GIA_PHU]
    assert page(status="MET")["totalCount"] == 2
    assert {e["node"]["tenant"]["kind"] for e in page(kind="COMMUNE")["edges"]} == {"COMMUNE"}
    assert [e["node"]["atRisk"] for e in page(risk=True)["edges"]] == [True]
    by_name = page(order={"field": "NAME", "direction": "DESC"})["edges"]
    names = [e["node"]["tenant"]["name"] for e in by_name]
    assert names == sorted(names, reverse=True) and len(names) == 3
    desc = page(order={"field": "NEW_MODELS", "direction": "DESC"}, first=2)
    assert desc["pageInfo"]["hasNextPage"]
    rest = page(order={"field": "NEW_MODELS", "direction": "DESC"}, first=2,
                after=desc["pageInfo"]["endCursor"])
    counts = [e["node"]["newModels"] for e in desc["edges"] + rest["edges"]]
    assert counts == sorted(counts, reverse=True) and len(counts) == 3
    wrong = gql(world.client, world.province, query, {"first": 10, "after": "bm9wZQ"})
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_national_view_shows_only_the_callers_provinces(story: Story) -> None:
    world = story.world
    found = data(gql(world.client, world.province, operation("NationalOverview"),
                     {"year": YEAR}))
    assert [p["code"] for p in found["provinces"]] == ["15"]
    assert found["provinces"][0]["summary"]["newModels"] == story.total("new_models")
    tenant_user = data(gql(world.client, world.as_("reviewer"), operation("NationalOverview"),
                           {"year": YEAR}))
    assert tenant_user["provinces"] == []
