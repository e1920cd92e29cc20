"""The bench data generator's simulation (no database): the five-year national shape, and
every event one the service could have written (the acting role may do it, a unit's user
acts on its own unit's models, sign-ins as ``backend/auth`` records them)."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bench import data_generator
from bench.data_generator import YEARS, simulate
from danvan.domain.policies import TENANT_ROLES, may

CUTOFF = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TENANTS = 3

ACTIONS = {
    "Tenant.Onboarded": "tenant.onboard", "Unit.Added": "unit.add", "Unit.Closed": "unit.close",
    "User.Registered": "user.create", "ProvinceTargets.Set": "targets.set_province",
    "TenantTargets.Set": "targets.set_tenant", "YearList.Approved": "list.approve",
    "PlanTask.Scheduled": "plan.schedule", "PlanTask.Completed": "plan.complete",
    "Model.Registered": "model.register", "Model.Amended": "model.amend",
    "Model.Submitted": "model.submit", "Model.Returned": "model.return",
    "Model.Rejected": "model.reject", "Model.Accepted": "model.accept",
    "Model.CopyReceived": "model.copy_received", "Model.ProgressReported": "model.progress",
    "Model.Inspected": "model.inspection", "Model.SelfAssessed": "model.self_assessment",
    "Model.Evaluated": "model.evaluation", "Model.Proposed": "model.proposal",
    "Model.Nominated": "model.nomination", "Model.Discontinued": "model.discontinuation",
    "Model.Maintained": "model.maintenance",
}


def name(event: Any) -> str:
    return type(event).__qualname__


@pytest.fixture(scope="module")
def events() -> Iterator[list[Any]]:
    """Every event of the catalogue's first three tenants through all five years."""
    first = list(itertools.islice(data_generator.tenants_in_order(), TENANTS))
    collected: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data_generator, "tenants_in_order", lambda: iter(first))
        simulate(lambda aggregate: collected.extend(aggregate.collect_events()),
                 group=TENANTS, cutoff=CUTOFF)
    yield collected


def by_tenant(events: list[Any]) -> dict[str, list[Any]]:
    tenants: dict[str, list[Any]] = defaultdict(list)
    for e in events:
        if not e.tenant_id.startswith("province:"):
            tenants[e.tenant_id].append(e)
    return tenants


def test_five_years_of_a_merged_commune_about_three_thousand_events_a_tenant(
        events: list[Any]) -> None:
    tenants = by_tenant(events)
    assert len(tenants) == TENANTS
    for tenant_events in tenants.values():
        counts = Counter(name(e) for e in tenant_events)
        assert 25 <= counts["Unit.Added"] <= 60
        years = {e.year for e in tenant_events if name(e) == "Model.Registered"}
        assert years == set(YEARS)
        assert {e.period[:4] for e in tenant_events if name(e) == "Model.ProgressReported"} \
            == {str(y) for y in YEARS}
        assert 2_000 <= len(tenant_events) <= 4_500  # ~3,000 x 3,321 tenants: ~10 million
        assert counts["User.LoginFailed"] and counts["User.LoggedIn"]
        assert counts["Model.Recognized"] >= 2 * len(YEARS)
    assert max(e.timestamp for e in events) <= CUTOFF


def test_every_unit_is_expected_to_register_each_year(events: list[Any]) -> None:
    for tenant_events in by_tenant(events).values():
        units = {str(e.originator_id) for e in tenant_events if name(e) == "Unit.Added"}
        closed: set[str] = set()
        for year in YEARS:
            registering = {e.unit_id for e in tenant_events
                           if name(e) == "Model.Registered" and e.year == year}
            open_units = units - closed
            assert registering <= open_units
            assert len(registering) >= 0.8 * len(open_units), year  # ~8% skip
            closed |= {str(e.originator_id) for e in tenant_events
                       if name(e) == "Unit.Closed" and e.timestamp.year == year}


def test_each_unit_has_a_user_and_every_act_is_allowed(events: list[Any]) -> None:
    users: dict[str, dict[str, Any]] = {}
    for e in events:
        if name(e) == "User.Registered":
            users[str(e.originator_id)] = {"tenant": e.tenant_id, "grants": e.grants}
    model_unit = {e.originator_id: e.unit_id for e in events if name(e) == "Model.Registered"}
    for tenant, tenant_events in by_tenant(events).items():
        units = {str(e.originator_id) for e in tenant_events if name(e) == "Unit.Added"}
        granted = {g["unit_id"] for u in users.values() if u["tenant"] == tenant
                   for g in u["grants"] if g["role"] == "unit_user"}
        assert units <= granted
        own = [u for u in users.values() if u["tenant"] == tenant and len(u["grants"]) == 1
               and u["grants"][0]["role"] == "unit_user"]
        assert len(own) >= len(units) // 2  # most units have an account of their own
    for e in events:
        role, actor = e.meta["actor_role"], e.meta["actor_id"]
        if name(e) == "User.LoginFailed":
            assert (role, actor) == ("anonymous", "anonymous")
            continue
        if name(e) == "User.LoggedIn":
            assert (role, actor) == ("self", str(e.originator_id))
            continue
        action = ACTIONS.get(name(e))
        if name(e) in ("Model.Recognized", "Model.Revoked"):
            verb = "recognition" if name(e) == "Model.Recognized" else "revocation"
            action = f"model.{verb}.{e.level}"
        assert action is not None, name(e)
        assert may(role, action), (name(e), role)
        if role in TENANT_ROLES:
            user = users[actor]
            assert user["tenant"] == e.tenant_id
            assert role in {g["role"] for g in user["grants"]}
        if role == "unit_user" and name(e).startswith("Model."):
            unit_id = model_unit[e.originator_id]
            assert unit_id in {g["unit_id"] for g in users[actor]["grants"]}


def test_each_aggregates_events_go_forward_in_time(events: list[Any]) -> None:
    """As the service records them: a model's report never predates its acceptance, the
    year's closing never predates December's report."""
    last: dict[Any, datetime] = {}
    backwards = []
    for event in events:
        previous = last.get(event.originator_id)
        if previous is not None and event.timestamp < previous:
            backwards.append((name(event), previous, event.timestamp))
        last[event.originator_id] = max(event.timestamp, previous or event.timestamp)
    assert backwards == []
