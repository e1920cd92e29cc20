"""What the GraphQL end-to-end tests share: a client call, the projector's catch-up, and a
``Story``: a year of commands issued over HTTP in several tenants whose expected figures are
counted from the commands themselves (never read back from the read models).

    story = Story(world).play(seed=7)          # registrations, reviews, recognitions, ...
    catch_up(settings)
    body = gql(world.client, world.province, PROVINCE_CONSOLIDATION, {"code": "15", ...})
    assert body["data"]["province"]["summary"]["newModels"] == story.total("new_models")
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from danvan.graphql.persisted import OPERATIONS_DIR
from danvan.infra.settings import Settings
from danvan.projections.embedded import make_runner
from danvan.projections.sharding import Shard
from tests.e2e.world import API, FORM, World, ok

YEAR = 2026
FIELDS = ("party_building", "economy", "culture_society", "defense_security",
          "digital_transformation")
SCORES_PASS = {"effectiveness": 85, "creativity": 80, "participation": 90, "replicability": 75,
               "political_tie": 80, "planning": 70}


def operation(name: str) -> str:
    return (Path(OPERATIONS_DIR) / f"{name}.graphql").read_text(encoding="utf-8")


def gql(client: httpx.Client, headers: dict[str, str], query: str,
        variables: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """POST /graphql; the JSON answer (``data`` and maybe ``errors``)."""
    response = client.post("/graphql", headers=headers,
                           json={"query": query, "variables": variables or {}, **extra})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def data(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    result = body["data"]
    assert isinstance(result, dict)
    return result


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def catch_up(settings: Settings, shard: Shard | None = None) -> None:
    runner = make_runner(settings, shard=shard)
    try:
        runner.catch_up()
    finally:
        runner.close()


def now() -> datetime:
    time.sleep(0.01)  # a moment strictly between the commands before and after it
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


@dataclass
class Expected:
    """One tenant's figures for the year, counted from the commands issued."""

    accepted: set[str] = field(default_factory=set)
    submitted_units: Counter[str] = field(default_factory=Counter)
    recognized: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    field_of: dict[str, str] = field(default_factory=dict)
    progress: dict[str, list[Decimal]] = field(default_factory=lambda: defaultdict(
        lambda: [Decimal(0)] * 4))

    def count(self, what: str, field_: str | None = None) -> int:
        def keep(mid: str) -> bool:
            return field_ is None or self.field_of.get(mid) == field_
        if what == "new_models":
            return sum(1 for m in self.accepted if keep(m))
        level = {"recognized_tenant_level": "tenant",
                 "recognized_province_level": "province"}[what]
        return sum(1 for m in self.recognized[level] if keep(m))


class Story:
    """A year in the tenants of ``world``, played over HTTP, expected figures kept aside."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.expected: dict[str, Expected] = {code: Expected() for code in world.tenants}
        self.targets: dict[str, dict[str, int]] = {}
        self.models: dict[str, list[tuple[str, str]]] = defaultdict(list)

    def act(self, code: str, mid: str, action: str, role: str,
            body: dict[str, Any] | None = None) -> None:
        ok(self.world.act(mid, action, role, body, code=code))

    def set_targets(self) -> None:
        world = self.world
        response = world.client.put(
            f"{API}/provinces/15/targets/{YEAR}", headers=world.province, json={
                kind: {"new_models": 3, "recognized_tenant_level": 1,
                       "recognized_province_level": 1, "per_unit_minimum": 1}
                for kind in ("commune", "ward", "special_zone", "agency")})
        assert response.status_code in (200, 201), response.text
        codes_ = sorted(world.tenants)
        for code in codes_:
            self.targets[code] = {"new_models": 3, "recognized_tenant_level": 1,
                                  "recognized_province_level": 1, "per_unit_minimum": 1}
        own = {"new_models": 2, "recognized_tenant_level": 0, "recognized_province_level": 0,
               "per_unit_minimum": 1}
        tenant = world.tenants[codes_[-1]]
        response = world.client.put(f"{API}/tenants/{tenant.id}/targets/{YEAR}",
                                    headers=world.province, json=own)
        assert response.status_code in (200, 201), response.text
        self.targets[codes_[-1]] = own

    def register(self, code: str, rng: random.Random, n: int) -> list[str]:
        units = ["Chi bộ Tổ dân phố 5", "Hội Phụ nữ"]
        made = []
        for i in range(n):
            unit = units[i % len(units)]
            field_ = rng.choice(FIELDS)
            role = "unit_user" if unit == "Chi bộ Tổ dân phố 5" else "reviewer"
            model = self.world.register(code, name=f"Mô hình {code} số {i} đường", unit=unit,
                                        role=role, field=field_)
            self.expected[code].field_of[model["id"]] = field_
            self.models[code].append((model["id"], unit))
            made.append(model["id"])
        return made

    def phase_one(self, rng: random.Random) -> None:
        """Registrations, submissions, reviews (accept, return, reject), a received copy."""
        for code in self.world.tenants:
            exp = self.expected[code]
            for i, mid in enumerate(self.register(code, rng, 6)):
                unit = dict(self.models[code])[mid]
                submitter = "unit_user" if unit == "Chi bộ Tổ dân phố 5" else "reviewer"
                if i == 5:
                    continue  # stays a draft
                self.act(code, mid, "submit", submitter)
                exp.submitted_units[unit] += 1
                if i == 4:
                    self.act(code, mid, "reject", "reviewer", {"reason": "Chưa phù hợp"})
                    continue
                self.act(code, mid, "accept", "reviewer")
                exp.accepted.add(mid)
            copy = self.world.register(code, unit="Chi bộ Công an", role="reviewer",
                                       name=f"Công an {code} vì dân", field="defense_security")
            self.act(code, copy["id"], "copy-received", "reviewer")
            exp.submitted_units["Chi bộ Công an"] += 1

    def phase_two(self, rng: random.Random, *, behind: str | None = None) -> None:
        """Progress, evaluations, recognitions at both levels, a revocation, a
        discontinuation; the tenant ``behind`` gets progress reports only."""
        for code in self.world.tenants:
            exp = self.expected[code]
            accepted = [m for m, _ in self.models[code] if m in exp.accepted]
            for j, mid in enumerate(accepted):
                unit = dict(self.models[code])[mid]
                reporter = "unit_user" if unit == "Chi bộ Tổ dân phố 5" else None
                if reporter:
                    figures = [rng.randrange(10, 200), rng.randrange(5, 90),
                               Decimal(rng.randrange(1, 900)) * 1000, Decimal("12.5") * (j + 1)]
                    self.act(code, mid, "progress", reporter, {
                        "period": f"{YEAR}-Q3", "participants": figures[0],
                        "workdays": figures[1], "money_vnd": str(figures[2]),
                        "land_m2": str(figures[3]), "note": "Tiến độ tốt"})
                    totals = exp.progress[exp.field_of[mid]]
                    exp.progress[exp.field_of[mid]] = [a + Decimal(b)
                                                       for a, b in zip(totals, figures,
                                                                       strict=True)]
            own_unit = [m for m in accepted
                        if dict(self.models[code])[m] == "Chi bộ Tổ dân phố 5"]
            others = [m for m in accepted if m not in own_unit]
            if code != behind and len(own_unit) >= 2 and others:
                first, second, third = own_unit[0], own_unit[1], others[0]
                for mid in (first, second):
                    self.recognize_tenant_level(code, mid)
                self.act(code, first, "nomination", "approver")
                self.act(code, first, "recognition", "province_admin", {
                    "level": "province", "decision_number": f"{code}-QĐ/TU",
                    "decision_date": "2026-09-02"})
                exp.recognized["province"].add(first)
                self.act(code, second, "revocation", "approver", {
                    "level": "tenant", "reason": "Không còn hiệu quả"})
                exp.recognized["tenant"].discard(second)
                self.act(code, third, "discontinuation", "reviewer", {"reason": "Dừng"})

    def recognize_tenant_level(self, code: str, mid: str) -> None:
        unit = dict(self.models[code])[mid]
        assessor = "unit_user" if unit == "Chi bộ Tổ dân phố 5" else None
        if assessor is None:
            raise AssertionError("only the unit user's unit models are recognized here")
        self.act(code, mid, "self-assessment", assessor, {"summary": "Đạt mục tiêu"})
        self.act(code, mid, "evaluation", "reviewer", {"scores": SCORES_PASS})
        self.act(code, mid, "proposal", "reviewer")
        self.act(code, mid, "recognition", "approver", {
            "level": "tenant", "decision_number": f"{mid[:4]}-QĐ/ĐU",
            "decision_date": "2026-06-15"})
        self.expected[code].recognized["tenant"].add(mid)

    def total(self, what: str, field_: str | None = None) -> int:
        return sum(e.count(what, field_) for e in self.expected.values())

    def units_without_registration(self, code: str) -> int:
        minimum = self.targets[code]["per_unit_minimum"]
        units = self.world.tenants[code].units
        return sum(1 for name in units if self.expected[code].submitted_units[name] < minimum)

    def progress(self) -> dict[str, Decimal]:
        totals = [Decimal(0)] * 4
        for exp in self.expected.values():
            for values in exp.progress.values():
                totals = [a + b for a, b in zip(totals, values, strict=True)]
        return dict(zip(("participants", "workdays", "moneyVnd", "landM2"), totals,
                        strict=True))

    def snapshot(self) -> dict[str, Expected]:
        """A copy of the expected figures as they stand (for asOf checks)."""
        copied = {}
        for code, exp in self.expected.items():
            copy = Expected(set(exp.accepted), Counter(exp.submitted_units),
                            defaultdict(set, {k: set(v) for k, v in exp.recognized.items()}),
                            dict(exp.field_of))
            copied[code] = copy
        return copied


def onboard_third_tenant(world: World, code: str = "02647") -> None:
    """Phường Lào Cai with the same three units and an admin, reviewer, approver, unit user."""
    from tests.e2e.conftest import PASSWORD, MadeUser, login
    from tests.e2e.world import Tenant

    created = ok(world.client.post(f"{API}/tenants", headers=world.province,
                                   json={"code": code}), 201)
    tenant = Tenant(created["id"], code)
    world.tenants[code] = tenant
    admin = f"admin.{code}"
    ok(world.client.post(f"{API}/tenants/{tenant.id}/users", headers=world.province, json={
        "username": admin, "password": PASSWORD, "full_name": "Quản trị",
        "roles": ["tenant_admin"]}), 201)
    tenant.headers["tenant_admin"] = login(world.client, MadeUser(None, admin, PASSWORD))  # type: ignore[arg-type]
    for name, kind, vertical in (("Chi bộ Tổ dân phố 5", "party_cell", False),
                                 ("Chi bộ Công an", "police", True),
                                 ("Hội Phụ nữ", "mass_org", False)):
        unit = ok(world.client.post(f"{API}/tenants/{tenant.id}/units",
                                    headers=tenant.headers["tenant_admin"], json={
                                        "name": name, "kind": kind,
                                        "reports_to_vertical_line": vertical}), 201)
        tenant.units[name] = unit["id"]
    for role in ("reviewer", "approver", "unit_user"):
        username = f"{role.replace('_', '.')}.{code}"
        body: dict[str, Any] = {"username": username, "password": PASSWORD,
                                "full_name": "Cán bộ", "roles": [role]}
        if role == "unit_user":
            body["unit_id"] = tenant.units["Chi bộ Tổ dân phố 5"]
        ok(world.client.post(f"{API}/tenants/{tenant.id}/users",
                             headers=tenant.headers["tenant_admin"], json=body), 201)
        tenant.headers[role] = login(world.client, MadeUser(None, username, PASSWORD))  # type: ignore[arg-type]


__all__ = [
    "FORM",
    "YEAR",
    "Story",
    "catch_up",
    "codes",
    "data",
    "gql",
    "now",
    "onboard_third_tenant",
    "operation",
]
