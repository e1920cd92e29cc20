"""The work lists over GraphQL (API.md "Read API additions") equal what the commands issued
add up to, counted in the test: a tenant's period quota, its units' compliance, its years'
lists with their (supplementary) decisions, its reminders; a province's models across its
tenants (the recognition queue) and plan tasks; the national analyst, who reads every
province and writes nothing. ``asOf`` answers as the data stood; tenant and province walls
hold."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from danvan.backend.auth.tokens import Principal
from danvan.backend.services import reminders
from danvan.domain.clock import vietnam_date
from danvan.domain.policies import RoleGrant
from danvan.graphql.context import build_context
from danvan.graphql.figures import FiguresCache
from danvan.graphql.schema import build_schema
from danvan.graphql.sources import ReadSources
from danvan.infra.catalogue import official_catalogue
from danvan.infra.database import app_params
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.queries import scoped
from tests.e2e.conftest import MadeUser, login
from tests.e2e.graphql_support import YEAR, Story, catch_up, codes, data, gql, now
from tests.e2e.test_graphql_batching import CountingPool
from tests.e2e.world import API, GIA_PHU, YEN_BAI, World, ok

OWN_UNIT, WOMEN, POLICE = "Chi bộ Tổ dân phố 5", "Hội Phụ nữ", "Chi bộ Công an"
YOUTH = "Chi đoàn Thanh niên"
PERIOD = {"recognized_tenant_level": 4, "recognized_province_level": 1, "maintained_models": 3}
TERM_DEFAULTS = {"recognized_tenant_level": 10, "recognized_province_level": 2,
                 "maintained_models": 70}


@dataclass
class Worklists:
    """The story of ``graphql_support.Story`` and what this file adds to it, with the moments
    in between and the figures expected at each."""

    story: Story
    youth: str = ""
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    mid: datetime = field(default_factory=lambda: datetime.now(UTC))
    between: datetime = field(default_factory=lambda: datetime.now(UTC))
    first_lists: dict[str, list[str]] = field(default_factory=dict)
    late: str = ""
    maintained: dict[str, set[str]] = field(default_factory=dict)
    nominated: str = ""

    @property
    def world(self) -> World:
        return self.story.world

    def tenant_id(self, code: str) -> str:
        return self.world.tenants[code].id


def approve(world: World, code: str, number: str) -> httpx.Response:
    return world.client.post(f"{API}/tenants/{world.tenants[code].id}/lists/{YEAR}/approval",
                             headers=world.as_("approver", code),
                             json={"decision_number": number})


def stranger(world: World, role: str) -> dict[str, str]:
    """A province role of Hà Nội (01): another province."""
    assert world.make_user is not None
    return login(world.client, world.make_user(f"{role.replace('_', '.')}.hanoi", role=role,
                                                province="01"))


def events(conn: psycopg.Connection[TupleRow]) -> int:
    row = conn.execute("SELECT count(*) FROM danvan_events").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def lists(client: httpx.Client, make_user: Callable[..., MadeUser],
          settings: Settings) -> Worklists:
    world = World.build(client, make_user)
    story = Story(world)
    story.set_targets()
    w = Worklists(story)
    yen_bai = world.tenants[YEN_BAI]
    w.youth = ok(client.post(f"{API}/tenants/{yen_bai.id}/units",
                             headers=world.as_("tenant_admin"), json={
                                 "name": YOUTH, "kind": "mass_org",
                                 "reports_to_vertical_line": False}), 201)["id"]
    w.start = now()
    rng = random.Random(11)
    story.phase_one(rng)
    for code in world.tenants:  # the first decision: every model accepted so far
        first = ok(approve(world, code, "05-QĐ/ĐU"), 201)
        assert first["supplementary"] is False
        assert sorted(first["model_ids"]) == sorted(story.expected[code].accepted)
        w.first_lists[code] = sorted(first["model_ids"])
    w.mid = now()
    ok(client.post(f"{API}/tenants/{yen_bai.id}/units/{w.youth}/closure",
                   headers=world.as_("tenant_admin"), json={"reason": "Sáp nhập"}))
    ok(client.put(f"{API}/tenants/{yen_bai.id}/period-targets/2026/2030",
                  headers=world.as_("tenant_admin"), json=PERIOD), 201)
    story.phase_two(rng, behind=GIA_PHU)
    late = world.register(YEN_BAI, name="Mô hình bổ sung làm đường", field="economy")
    story.act(YEN_BAI, late["id"], "submit", "unit_user")
    story.act(YEN_BAI, late["id"], "accept", "reviewer")
    story.expected[YEN_BAI].accepted.add(late["id"])
    story.expected[YEN_BAI].submitted_units[OWN_UNIT] += 1
    story.models[YEN_BAI].append((late["id"], OWN_UNIT))
    w.late = late["id"]
    w.between = now()
    # maintained into 2027: two accepted models and the one recognised at province level;
    # in Gia Phú one model twice (2027, 2028), which counts once in the period
    accepted = sorted(m for m, _ in story.models[YEN_BAI] if m in story.expected[YEN_BAI].accepted)
    discontinued = _discontinued(story, YEN_BAI)
    keep = [m for m in accepted if m not in discontinued][:3]
    for mid in keep:
        story.act(YEN_BAI, mid, "maintenance", "reviewer", {"year": 2027})
    w.maintained[YEN_BAI] = set(keep)
    gia_phu = sorted(story.expected[GIA_PHU].accepted)[0]
    for year in (2027, 2028):
        story.act(GIA_PHU, gia_phu, "maintenance", "reviewer", {"year": year})
    w.maintained[GIA_PHU] = {gia_phu}
    # Gia Phú's way to the province: recognised at its level, then nominated (the queue)
    own = [m for m, unit in story.models[GIA_PHU]
           if unit == OWN_UNIT and m in story.expected[GIA_PHU].accepted and m != gia_phu]
    story.recognize_tenant_level(GIA_PHU, own[0])
    story.act(GIA_PHU, own[0], "nomination", "approver")
    w.nominated = own[0]
    catch_up(settings)
    return w


def _discontinued(story: Story, code: str) -> set[str]:
    """The model ``Story.phase_two`` discontinued in ``code`` (the first accepted one of
    another unit than the unit user's), if it recognised there."""
    exp = story.expected[code]
    accepted = [m for m, _ in story.models[code] if m in exp.accepted]
    own = [m for m in accepted if dict(story.models[code])[m] == OWN_UNIT]
    others = [m for m in accepted if m not in own]
    return {others[0]} if len(own) >= 2 and others else set()


# --- supplementary approvals over REST -------------------------------------------------------

def test_a_supplementary_approval_covers_only_the_models_accepted_since(
        lists: Worklists, owner_conn: psycopg.Connection[TupleRow]) -> None:
    world = lists.world
    supplement = approve(world, YEN_BAI, "12-QĐ/ĐU")
    assert supplement.status_code == 200, supplement.text
    body = supplement.json()
    assert body["supplementary"] is True and body["model_ids"] == [lists.late]
    assert body["decision_number"] == "12-QĐ/ĐU" and body["version"] == 2
    before = events(owner_conn)
    again = approve(world, YEN_BAI, "13-QĐ/ĐU")
    assert again.status_code == 409 and again.json()["code"] == "list_already_approved"
    nothing_new = approve(world, GIA_PHU, "14-QĐ/ĐU")  # no model accepted there since
    assert nothing_new.status_code == 409
    assert events(owner_conn) == before
    refused = world.client.post(
        f"{API}/tenants/{lists.tenant_id(YEN_BAI)}/lists/{YEAR}/approval",
        headers=world.as_("reviewer"), json={"decision_number": "15-QĐ/ĐU"})
    assert refused.status_code == 403 and events(owner_conn) == before


# --- a tenant's work lists -----------------------------------------------------------------

YEAR_LISTS = """query($id: ID!, $at: DateTime) { tenant(id: $id) {
  yearLists(asOf: $at) { year decisions { decisionNumber at supplementary models { id } } } } }"""


def test_year_lists_name_each_decision_and_its_models(lists: Worklists,
                                                      settings: Settings) -> None:
    world = lists.world
    ok(approve(world, YEN_BAI, "12-QĐ/ĐU"))
    catch_up(settings)
    tenant = lists.tenant_id(YEN_BAI)

    def decisions(headers: dict[str, str], at: datetime | None = None) -> list[Any]:
        found = data(gql(world.client, headers, YEAR_LISTS,
                         {"id": tenant, "at": at.isoformat() if at else None}))
        year_lists = found["tenant"]["yearLists"]
        assert [y["year"] for y in year_lists] == ([YEAR] if year_lists else [])
        return [] if not year_lists else [
            (d["decisionNumber"], d["supplementary"], sorted(m["id"] for m in d["models"]))
            for d in year_lists[0]["decisions"]]

    first = lists.first_lists[YEN_BAI]
    assert decisions(world.as_("approver")) == [("05-QĐ/ĐU", False, first),
                                                ("12-QĐ/ĐU", True, [lists.late])]
    assert decisions(world.as_("approver"), lists.between) == [("05-QĐ/ĐU", False, first)]
    assert decisions(world.as_("approver"), lists.start) == []
    own = {m for m, unit in lists.story.models[YEN_BAI] if unit == OWN_UNIT}
    assert decisions(world.as_("unit_user")) == [  # a unit user: its unit's models only
        ("05-QĐ/ĐU", False, sorted(own & set(first))), ("12-QĐ/ĐU", True, [lists.late])]


UNIT_COMPLIANCE = """query($id: ID!, $at: DateTime) { tenant(id: $id) {
  unitCompliance(year: 2026, asOf: $at) { unit { id name } submitted minimum compliant } } }"""


def test_unit_compliance_names_every_open_unit_as_it_stood(lists: Worklists) -> None:
    world, story = lists.world, lists.story
    tenant = world.tenants[YEN_BAI]
    minimum = story.targets[YEN_BAI]["per_unit_minimum"]

    def rows(at: datetime | None, headers: dict[str, str] | None = None) -> list[Any]:
        found = data(gql(world.client, headers or world.as_("tenant_admin"), UNIT_COMPLIANCE,
                         {"id": tenant.id, "at": at.isoformat() if at else None}))
        return [(r["unit"]["id"], r["unit"]["name"], r["submitted"], r["minimum"],
                 r["compliant"]) for r in found["tenant"]["unitCompliance"]]

    submitted = story.expected[YEN_BAI].submitted_units
    expected = sorted((tenant.units[name], name, submitted[name], minimum,
                       submitted[name] >= minimum) for name in tenant.units)
    assert sorted(rows(None)) == expected  # the closed unit is gone
    assert all(r[4] for r in expected) and len(expected) == 3
    at_start = sorted([*((tenant.units[n], n, 0, minimum, False) for n in tenant.units),
                       (lists.youth, YOUTH, 0, minimum, False)])
    assert sorted(rows(lists.start)) == at_start
    mine = rows(None, world.as_("unit_user"))  # a unit user: its own unit
    assert [r[1] for r in mine] == [OWN_UNIT]


PERIOD_QUOTAS = """query($id: ID!, $at: DateTime) { tenant(id: $id) {
  periodQuotas(start: 2026, end: 2030, asOf: $at) { start end recognizedTenantLevel
    recognizedTenantLevelTarget recognizedProvinceLevel recognizedProvinceLevelTarget
    maintainedModels maintainedModelsTarget targetsSet status atRisk } } }"""


def test_period_quotas_count_the_terms_recognitions_and_maintained_models(
        lists: Worklists) -> None:
    world, story = lists.world, lists.story

    def quota(code: str, at: datetime | None = None) -> dict[str, Any]:
        found = data(gql(world.client, world.as_("reviewer", code), PERIOD_QUOTAS,
                         {"id": lists.tenant_id(code), "at": at.isoformat() if at else None}))
        return found["tenant"]["periodQuotas"]

    for code, targets, targets_set in ((YEN_BAI, PERIOD, True),
                                       (GIA_PHU, TERM_DEFAULTS, False)):
        exp = story.expected[code]
        got = quota(code)
        actual = {"recognized_tenant_level": exp.count("recognized_tenant_level"),
                  "recognized_province_level": exp.count("recognized_province_level"),
                  "maintained_models": len(lists.maintained[code])}
        assert (got["start"], got["end"], got["targetsSet"]) == (2026, 2030, targets_set)
        for key, camel in (("recognized_tenant_level", "recognizedTenantLevel"),
                           ("recognized_province_level", "recognizedProvinceLevel"),
                           ("maintained_models", "maintainedModels")):
            assert got[camel] == actual[key], (code, key)
            assert got[f"{camel}Target"] == targets[key], (code, key)
        met = all(actual[k] >= targets[k] for k in targets)
        assert got["status"] == ("MET" if met else "IN_PROGRESS"), code
    assert quota(YEN_BAI)["maintainedModels"] == 3 and quota(GIA_PHU)["maintainedModels"] == 1
    earlier = quota(YEN_BAI, lists.mid)  # before the targets were set and anything recognised
    assert (earlier["targetsSet"], earlier["recognizedTenantLevelTarget"],
            earlier["maintainedModelsTarget"]) == (False, 10, 70)
    assert earlier["recognizedTenantLevel"] == earlier["maintainedModels"] == 0
    bad = gql(world.client, world.as_("reviewer"), "query($id: ID!) { tenant(id: $id) { "
              "periodQuotas(start: 2026, end: 2040) { start } } }",
              {"id": lists.tenant_id(YEN_BAI)})
    assert codes(bad) == ["BAD_USER_INPUT"]


# --- plan tasks per unit, and the province's --------------------------------------------------

TASKS = """query($id: ID!, $overdue: Boolean) { tenant(id: $id) { planTasks(overdue: $overdue) {
  id title dueDate overdue completedOn units { unit { id name } overdue completedOn } } } }"""


def test_a_task_assigned_to_units_is_overdue_per_unit(world: World, settings: Settings) -> None:
    tenant = world.tenants[YEN_BAI]
    admin = world.as_("tenant_admin")
    today = vietnam_date(datetime.now(UTC))
    path = f"{API}/tenants/{tenant.id}/plan-tasks"
    units = [tenant.units[OWN_UNIT], tenant.units[WOMEN]]
    bogus = world.tenants[GIA_PHU].units[OWN_UNIT]  # another tenant's unit
    refused = world.client.post(path, headers=admin, json={
        "year": YEAR, "title": "Ban hành kế hoạch", "due_date": "2026-04-30",
        "unit_ids": [*units, bogus]})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["unit_ids"]
    due = today - timedelta(days=3)
    task = ok(world.client.post(path, headers=admin, json={
        "year": YEAR, "title": "Ban hành kế hoạch", "due_date": due.isoformat(),
        "unit_ids": units}), 201)
    assert sorted(task["unit_ids"]) == sorted(units)
    whole = world.client.post(f"{path}/{task['id']}/completion", headers=admin,
                              json={"note": "Xong"})
    assert whole.status_code == 409 and whole.json()["code"] == "task_assigned_to_units"

    def part(unit: str) -> str:
        return f"{path}/{task['id']}/units/{unit}/completion"

    others = world.client.post(part(units[1]), headers=world.as_("unit_user"), json={})
    assert others.status_code == 403 and others.json()["code"] == "other_unit"
    unassigned = world.client.post(part(tenant.units[POLICE]), headers=admin, json={})
    assert unassigned.status_code == 404
    done = ok(world.client.post(part(units[0]), headers=world.as_("unit_user"),
                                json={"note": "Đã ban hành"}))
    assert done["state"] == "open" and done["unit_completed_on"] == today.isoformat()
    assert done["completed_on"] is None
    again = world.client.post(part(units[0]), headers=admin, json={})
    assert again.status_code == 409 and again.json()["code"] == "unit_task_completed"
    catch_up(settings)
    found = data(gql(world.client, world.as_("unit_user"), TASKS,
                     {"id": tenant.id, "overdue": True}))["tenant"]["planTasks"]
    assert [t["id"] for t in found] == [task["id"]]
    parts = {p["unit"]["id"]: p for p in found[0]["units"]}
    assert parts[units[0]]["overdue"] is False
    assert parts[units[0]]["completedOn"] == today.isoformat()
    assert parts[units[1]]["overdue"] is True and parts[units[1]]["completedOn"] is None
    assert parts[units[1]]["unit"]["name"] == WOMEN
    last = ok(world.client.post(part(units[1]), headers=world.as_("reviewer"), json={}))
    assert (last["state"], last["completed_on"]) == ("completed", today.isoformat())
    catch_up(settings)
    after = data(gql(world.client, admin, TASKS, {"id": tenant.id, "overdue": None}))
    (only,) = after["tenant"]["planTasks"]
    assert only["overdue"] is False and only["completedOn"] == today.isoformat()
    assert data(gql(world.client, admin, TASKS, {"id": tenant.id, "overdue": True})
                )["tenant"]["planTasks"] == []


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


PROVINCE_TASKS = """query($overdue: Boolean) { province(code: "15") {
  planTasks(overdue: $overdue) { id overdue tenant { code } } } }"""


def test_the_province_lists_its_tenants_overdue_tasks(world: World, settings: Settings) -> None:
    today = vietnam_date(datetime.now(UTC))
    made: dict[str, bool] = {}
    for code, days in ((YEN_BAI, -2), (YEN_BAI, 5), (GIA_PHU, -9), (GIA_PHU, 20)):
        tenant = world.tenants[code]
        task = ok(world.client.post(f"{API}/tenants/{tenant.id}/plan-tasks",
                                    headers=world.as_("tenant_admin", code), json={
                                        "year": YEAR, "title": f"Sơ kết {days}",
                                        "due_date": (today + timedelta(days=days)).isoformat()}),
                  201)
        made[task["id"]] = days < 0
    catch_up(settings)
    for headers in (world.province, world.analyst, world.as_("national_analyst")):
        overdue = data(gql(world.client, headers, PROVINCE_TASKS, {"overdue": True}))
        assert sorted(t["id"] for t in overdue["province"]["planTasks"]) == sorted(
            t for t, late in made.items() if late)
        every = data(gql(world.client, headers, PROVINCE_TASKS, {"overdue": None}))
        assert {t["id"]: t["overdue"] for t in every["province"]["planTasks"]} == made
    hanoi = stranger(world, "province_admin")
    refused = gql(world.client, hanoi, PROVINCE_TASKS, {"overdue": True})
    assert refused["data"]["province"] is None and codes(refused) == ["FORBIDDEN"]


# --- the province's models across tenants: the recognition queue -----------------------------

PROVINCE_MODELS = """query($code: ID!, $state: ModelState, $search: String, $first: Int!,
                          $after: String) {
  province(code: $code) { models(year: 2026, state: $state, search: $search, first: $first,
                                 after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id state tenantId } } } } }"""


def test_the_province_reads_its_recognition_queue_in_one_query(lists: Worklists) -> None:
    world, story = lists.world, lists.story
    queue = data(gql(world.client, world.province, PROVINCE_MODELS,
                     {"code": "15", "state": "NOMINATED", "first": 100}))
    models = queue["province"]["models"]
    assert models["totalCount"] == 1
    assert [(e["node"]["id"], e["node"]["tenantId"]) for e in models["edges"]] == [
        (lists.nominated, lists.tenant_id(GIA_PHU))]
    expected = {m for code in world.tenants for m, _ in story.models[code]}  # "đường" in each
    walked, after = [], None
    while True:
        page = data(gql(world.client, world.analyst, PROVINCE_MODELS,
                        {"code": "15", "search": "duong", "first": 4, "after": after}))
        part = page["province"]["models"]
        assert part["totalCount"] == len(expected)
        walked += [e["node"]["id"] for e in part["edges"]]
        if not part["pageInfo"]["hasNextPage"]:
            break
        after = part["pageInfo"]["endCursor"]
    assert sorted(walked) == sorted(expected)
    hanoi = stranger(world, "province_admin")
    refused = gql(world.client, hanoi, PROVINCE_MODELS,
                  {"code": "15", "state": "NOMINATED", "first": 100})
    assert refused["data"]["province"] is None and codes(refused) == ["FORBIDDEN"]


# --- walls -----------------------------------------------------------------------------------

WORK_LISTS = """query($id: ID!) { tenant(id: $id) {
  yearLists { year } unitCompliance(year: 2026) { submitted }
  periodQuotas(start: 2026, end: 2030) { maintainedModels } reminders { totalCount } } }"""


def test_a_tenant_user_cannot_read_another_tenants_work_lists(lists: Worklists) -> None:
    world = lists.world
    for role in ("tenant_admin", "reviewer", "approver", "unit_user", "inspector"):
        body = gql(world.client, world.as_(role, GIA_PHU), WORK_LISTS,
                   {"id": lists.tenant_id(YEN_BAI)})
        assert body["data"]["tenant"] is None and codes(body) == ["FORBIDDEN"], role
        own = data(gql(world.client, world.as_(role, GIA_PHU), WORK_LISTS,
                       {"id": lists.tenant_id(GIA_PHU)}))
        assert own["tenant"]["periodQuotas"]["maintainedModels"] == 1, role
    hanoi = stranger(world, "province_analyst")
    body = gql(world.client, hanoi, WORK_LISTS, {"id": lists.tenant_id(YEN_BAI)})
    assert body["data"]["tenant"] is None and codes(body) == ["FORBIDDEN"]


def test_the_national_analyst_reads_every_province_and_writes_nothing(
        lists: Worklists, owner_conn: psycopg.Connection[TupleRow]) -> None:
    world = lists.world
    national = world.as_("national_analyst")
    provinces = data(gql(world.client, national, "{ provinces { code name } }"))["provinces"]
    catalogue = official_catalogue().provinces()
    assert [(p["code"], p["name"]) for p in provinces] == [(p.code, p.name) for p in catalogue]
    assert len(provinces) == 34
    assert [p["code"] for p in data(gql(world.client, world.province, "{ provinces { code } }")
                                    )["provinces"]] == ["15"]
    queue = {"code": "15", "state": "NOMINATED", "first": 100}
    assert data(gql(world.client, national, PROVINCE_MODELS, queue)) == data(
        gql(world.client, world.province, PROVINCE_MODELS, queue))
    other = data(gql(world.client, national, PROVINCE_MODELS,
                     {"code": "01", "state": "NOMINATED", "first": 100}))
    assert other["province"]["models"]["totalCount"] == 0
    mine = data(gql(world.client, national, WORK_LISTS, {"id": lists.tenant_id(YEN_BAI)}))
    assert mine["tenant"]["periodQuotas"]["maintainedModels"] == 3
    tenant = world.client.get(f"{API}/tenants/{lists.tenant_id(YEN_BAI)}", headers=national)
    assert tenant.status_code == 200
    before = events(owner_conn)
    yen_bai = lists.tenant_id(YEN_BAI)
    for method, path, body in (
            ("POST", f"/tenants/{yen_bai}/lists/{YEAR}/approval", {"decision_number": "9"}),
            ("POST", f"/tenants/{yen_bai}/plan-tasks",
             {"year": YEAR, "title": "Hội nghị", "due_date": "2026-12-30"}),
            ("PUT", f"/tenants/{yen_bai}/period-targets/2026/2030", PERIOD),
            ("PUT", "/provinces/15/targets/2026", {"commune": {
                "new_models": 1, "recognized_tenant_level": 1,
                "recognized_province_level": 1, "per_unit_minimum": 1}}),
            ("POST", f"/tenants/{yen_bai}/models/{lists.nominated}/recognition",
             {"level": "province", "decision_number": "1-QĐ/TU",
              "decision_date": "2026-11-20"}),
            ("POST", "/provinces/15/users", {"username": "ai.do", "password": "mat-khau-du-dai",
                                             "full_name": "Ai Đó",
                                             "roles": ["province_analyst"]})):
        refused = world.client.request(method, API + path, headers=national, json=body)
        assert refused.status_code == 403, (path, refused.text)
    for path, headers in (("/provinces/15/users", world.province),
                          (f"/tenants/{yen_bai}/users", world.as_("tenant_admin"))):
        made = world.client.post(API + path, headers=headers, json={
            "username": "quoc.gia", "password": "mat-khau-du-dai", "full_name": "Quốc Gia",
            "roles": ["national_analyst"]})  # only `danvan admin create` makes one
        assert made.status_code == 422 and made.json()["errors"][0]["field"] == "roles", path
    audit = gql(world.client, national, "query($id: ID!) { auditTrail(tenantId: $id) { "
                "totalCount } }", {"id": yen_bai})
    assert codes(audit) == ["FORBIDDEN"]
    assert events(owner_conn) == before


# --- reminders -------------------------------------------------------------------------------

REMINDERS = """query($id: ID!, $first: Int!, $after: String) { tenant(id: $id) {
  reminders(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id day subject sentAt items { ref title due overdue actual target } } } } } }"""


def test_reminders_show_what_each_day_named(world: World, settings: Settings,
                                            event_store: EventStore,
                                            app_conn: psycopg.Connection[TupleRow]) -> None:
    tenant = world.tenants[YEN_BAI]
    at = datetime.now(UTC)
    today = vietnam_date(at)
    path = f"{API}/tenants/{tenant.id}/plan-tasks"
    admin = world.as_("tenant_admin")
    due: dict[str, tuple[str, date, bool]] = {}
    for title, days, done in (("Tập huấn cán bộ", 3, False), ("Sơ kết quý", -5, False),
                              ("Tổng kết năm", 30, False), ("Quán triệt chỉ thị", -10, True)):
        made = ok(world.client.post(path, headers=admin, json={
            "year": YEAR, "title": title,
            "due_date": (today + timedelta(days=days)).isoformat()}), 201)
        if done:
            ok(world.client.post(f"{path}/{made['id']}/completion", headers=admin, json={}))
        elif days <= 7:
            due[made["id"]] = (title, today + timedelta(days=days), days < 0)
    # units without a registration: every open unit, none has submitted anything
    units = {uid: name for name, uid in tenant.units.items()}
    catch_up(settings)
    with scoped(app_conn, tenant_ids=[tenant.id], province_codes=["15"]):
        asked = reminders.due_reminders(app_conn, tenant.id, at, deadline=(3, 31))
    sent = reminders.send_reminders(event_store, reminders.reminder_context(
        tenant.id, at, "job-reminders-test"), asked, [])
    assert {r.subject for r in sent} >= {"plan_tasks", "units_without_registration"}
    catch_up(settings)
    found = data(gql(world.client, admin, REMINDERS, {"id": tenant.id, "first": 100}))
    page = found["tenant"]["reminders"]
    assert page["totalCount"] == len(sent)
    by_subject = {e["node"]["subject"]: e["node"] for e in page["edges"]}
    assert sorted(by_subject) == sorted(r.subject.upper() for r in sent)
    tasks = by_subject["PLAN_TASKS"]
    assert tasks["day"] == today.isoformat()
    assert {i["ref"]: (i["title"], i["due"], i["overdue"]) for i in tasks["items"]} == {
        ref: (title, day.isoformat(), late) for ref, (title, day, late) in due.items()}
    lacking = by_subject["UNITS_WITHOUT_REGISTRATION"]
    assert {i["ref"]: (i["title"], i["actual"], i["target"]) for i in lacking["items"]} == {
        uid: (name, 0, 1) for uid, name in units.items()}
    first = data(gql(world.client, admin, REMINDERS, {"id": tenant.id, "first": 1}))
    assert first["tenant"]["reminders"]["pageInfo"]["hasNextPage"] is (len(sent) > 1)
    other = gql(world.client, world.as_("tenant_admin", GIA_PHU), REMINDERS,
                {"id": tenant.id, "first": 10})
    assert other["data"]["tenant"] is None and codes(other) == ["FORBIDDEN"]


def test_admin_create_makes_a_national_analyst_who_reads_every_province(
        client: httpx.Client, settings: Settings,
        owner_conn: psycopg.Connection[TupleRow]) -> None:
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "DANVAN_APP_DB_ROLE": settings.app_db_role,
           "DANVAN_APP_DB_PASSWORD": settings.app_db_password,
           "DANVAN_ENV": "test", "DANVAN_SECRET_KEY": settings.secret_key}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "danvan"), "admin", "create",
         "--username", "phantich.quocgia", "--role", "national_analyst"],
        input="Mật-khẩu-quốc-gia\n", capture_output=True, text=True, env=env, timeout=60,
        check=False)
    assert done.returncode == 0, done.stderr
    assert "as national_analyst in national" in done.stdout
    national = login(client, MadeUser(None, "phantich.quocgia", "Mật-khẩu-quốc-gia"))  # type: ignore[arg-type]
    provinces = data(gql(client, national, "{ provinces { code } }"))["provinces"]
    assert len(provinces) == 34 and {"01", "15", "79"} <= {p["code"] for p in provinces}
    before = events(owner_conn)
    refused = client.post(f"{API}/tenants", headers=national, json={"code": "04252"})
    assert refused.status_code == 403 and events(owner_conn) == before


# --- batching --------------------------------------------------------------------------------

EVERY_PROVINCE_QUEUE = """{ provinces { code
  models(state: NOMINATED, first: 5) { totalCount edges { node { id tenant { code } } } }
  planTasks(overdue: true) { id tenant { code } } } }"""
EVERY_TENANT_LISTS = """{ province(code: "15") { quotas(year: 2026, first: 5) { edges { node {
  tenant { code periodQuotas(start: 2026, end: 2030) { maintainedModels }
    unitCompliance(year: 2026) { unit { name } submitted }
    yearLists { year decisions { decisionNumber models { id unit { name } } } }
    planTasks(overdue: true) { id units { overdue } }
    reminders(first: 3) { totalCount } } } } } } }"""


def test_work_lists_cost_one_query_per_level_however_many_provinces_and_tenants(
        lists: Worklists, settings: Settings) -> None:
    """34 provinces with their queues and overdue tasks, or every tenant with its work
    lists: a fixed number of round trips (the loaders batch each level)."""
    world = lists.world
    today = vietnam_date(datetime.now(UTC))
    for code in world.tenants:  # an overdue task given to units in each tenant
        tenant = world.tenants[code]
        ok(world.client.post(f"{API}/tenants/{tenant.id}/plan-tasks",
                             headers=world.as_("tenant_admin", code), json={
                                 "year": YEAR, "title": "Ban hành kế hoạch",
                                 "due_date": (today - timedelta(days=1)).isoformat(),
                                 "unit_ids": sorted(tenant.units.values())}), 201)
    catch_up(settings)
    catalogue = official_catalogue()
    codes_ = tuple(p.code for p in catalogue.provinces())
    national = Principal("u", "analyst.national", (RoleGrant("national_analyst", "*"),))
    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=2,
                        kwargs={"autocommit": True}) as raw:
        pool = CountingPool(raw)
        def name_of(code: str) -> str | None:
            province = catalogue.province(code)
            return province.name if province is not None else None

        sources = ReadSources(pool=pool, figures=FiguresCache(enabled=False),
                              province_name=name_of, province_codes=lambda: codes_)
        schema = build_schema(production=False)

        def run(query: str) -> dict[str, Any]:
            result = asyncio.run(schema.execute(query,
                                                context_value=build_context(sources, national)))
            assert not result.errors, result.errors
            assert isinstance(result.data, dict)
            return result.data

        found = run(EVERY_PROVINCE_QUEUE)
        # tasks, models, their tenants (a loader may take two ticks): not one per province
        assert pool.checkouts <= 4, pool.checkouts
        provinces = {p["code"]: p for p in found["provinces"]}
        assert len(provinces) == 34
        assert [e["node"]["id"] for e in provinces["15"]["models"]["edges"]] == [lists.nominated]
        assert len(provinces["15"]["planTasks"]) == 2
        assert all(not p["planTasks"] and not p["models"]["totalCount"]
                   for code, p in provinces.items() if code != "15")
        pool.checkouts = 0
        tenants = run(EVERY_TENANT_LISTS)["province"]["quotas"]["edges"]
        assert len(tenants) == 2
        assert all(len(t["node"]["tenant"]["planTasks"]) == 1 for t in tenants)
        # figures; period quotas, compliance, lists, tasks, reminders; units, models, their
        # units, the tasks' units: about ten, whether there are 2 tenants or 200
        assert pool.checkouts <= 12, pool.checkouts
