"""Tenants, users and their role grants, targets, year lists, plan tasks and the policy table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from danvan.domain.base import IllegalTransition, InvalidInput, NotPermitted
from danvan.domain.commands import (
    MODEL_ACTIONS,
    ApproveList,
    ChangeGrants,
    CompletePlanTask,
    CompleteUnitTask,
    OnboardTenant,
    RegisterUser,
    SchedulePlanTask,
    SetPeriodTargets,
    SetProvinceTargets,
    SetTenantTargets,
)
from danvan.domain.plans import PlanTask
from danvan.domain.policies import POLICY, Action, Role, RoleGrant, may
from danvan.domain.targets import (
    BUILT_IN_DEFAULTS,
    PeriodTargets,
    ProvinceTargets,
    TenantTargets,
    YearTargets,
    effective_targets,
)
from danvan.domain.tenants import Tenant, TenantKind
from danvan.domain.users import User
from danvan.domain.year_lists import YearList
from tests.unit.builders import TENANT, ctx

TARGETS = YearTargets(new_models=12, recognized_tenant_level=3, recognized_province_level=1,
                      per_unit_minimum=1)


def user(username: str = "user1", grants: list[RoleGrant] | None = None,
         role: str = "tenant_admin") -> User:
    return User.register(ctx(role), RegisterUser(username, "h", "Nguyễn Văn A",
                                                 tuple(grants or [])))


class TestTenants:
    def test_a_ward_is_onboarded_under_its_official_code(self) -> None:
        tenant = Tenant.onboard(ctx("province_admin", tenant="province:15"), OnboardTenant(
            "02647", "Phường Lào Cai", TenantKind.WARD, "15"))
        assert tenant.id == Tenant.id_for("ward", "15", "02647")
        assert str(tenant.id) == tenant.tenant_id

    def test_an_agency_is_keyed_by_province_and_its_own_code(self) -> None:
        agency = Tenant.onboard(ctx("province_admin"), OnboardTenant(
            "SNV", "Sở Nội vụ", TenantKind.AGENCY, "15"))
        assert agency.id == Tenant.id_for("agency", "15", "SNV") != Tenant.id_for(
            "agency", "08", "SNV")

    @pytest.mark.parametrize(("values", "field"), [
        ({"code": "2647"}, "code"),
        ({"province_code": "x"}, "province_code"),
        ({"name": "\x00"}, "name"),
    ])
    def test_bad_tenant_input_names_the_field(self, values: dict[str, Any], field: str) -> None:
        body: dict[str, Any] = {"code": "02647", "name": "Phường Lào Cai",
                                "kind": TenantKind.WARD, "province_code": "15"} | values
        with pytest.raises(InvalidInput) as caught:
            Tenant.onboard(ctx("province_admin"), OnboardTenant(**body))
        assert field in caught.value.errors


class TestUsers:
    def grant(self, role: str = "unit_user", unit: str | None = "unit-1") -> RoleGrant:
        return RoleGrant(role=role, province_code="15", tenant_id=TENANT, unit_id=unit)

    def test_a_user_holds_scoped_roles(self) -> None:
        made = user("bithu.to5", [self.grant()])
        assert made.id == User.id_for("BiThu.To5 ") and made.grants[0].unit_id == "unit-1"

    @pytest.mark.parametrize(("grants", "field"), [
        ([], "roles"),
        ([RoleGrant("mayor", "15", TENANT)], "roles"),
        ([RoleGrant("unit_user", "15", TENANT)], "unit_id"),
        ([RoleGrant("reviewer", "15", None)], "roles"),
        ([RoleGrant("province_analyst", "15", TENANT)], "roles"),
    ])
    def test_grants_must_fit_their_scope(self, grants: list[RoleGrant], field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            user("user1", grants)
        assert field in caught.value.errors

    def test_only_a_province_admin_creates_inspectors(self) -> None:
        inspector = [self.grant("inspector", None)]
        with pytest.raises(NotPermitted):
            user("thanhtra", inspector)
        user("thanhtra", inspector, role="province_admin")

    def test_failed_logins_and_grant_changes_are_events(self) -> None:
        made = user("user1", [self.grant()])
        made.record_failed_login(ctx("anonymous"), address="203.0.113.9")
        made.change_grants(ctx("tenant_admin"), ChangeGrants((self.grant("reviewer", None),)))
        kinds = [type(e).__name__ for e in made.collect_events()]
        assert kinds == ["Registered", "LoginFailed", "GrantsChanged"]
        assert made.failed_logins == 1 and made.grants[0].role == "reviewer"

    @pytest.mark.parametrize("username", ["ab", "Có dấu", "a" * 65, "-dash"])
    def test_usernames_are_plain(self, username: str) -> None:
        with pytest.raises(InvalidInput):
            user(username, [self.grant()])


class TestTargets:
    def test_built_in_defaults_follow_the_province_plan(self) -> None:
        assert BUILT_IN_DEFAULTS["ward"] == YearTargets(10, 2, 1, 1)
        assert BUILT_IN_DEFAULTS["agency"] == YearTargets(1, 0, 0, 1)

    def test_tenant_targets_override_province_defaults_which_override_built_ins(self) -> None:
        province = {"ward": YearTargets(8, 2, 1, 1)}
        own = YearTargets(15, 3, 2, 1)
        assert effective_targets("ward", None, None) == YearTargets(10, 2, 1, 1)
        assert effective_targets("ward", province, None) == YearTargets(8, 2, 1, 1)
        assert effective_targets("commune", province, None) == YearTargets(10, 2, 1, 1)
        assert effective_targets("ward", province, own) == own

    def test_setting_the_same_targets_again_appends_nothing(self) -> None:
        targets = TenantTargets.set_first(ctx("tenant_admin"), SetTenantTargets(2026, TARGETS))
        targets.collect_events()
        assert targets.change(ctx("tenant_admin"), SetTenantTargets(2026, TARGETS)) is False
        more = replace(TARGETS, new_models=15)
        assert targets.change(ctx("tenant_admin"), SetTenantTargets(2026, more))
        assert len(targets.collect_events()) == 1 and targets.targets.new_models == 15

    @pytest.mark.parametrize(("targets", "field"), [
        (replace(TARGETS, new_models=-1), "new_models"),
        (replace(TARGETS, per_unit_minimum=10**9), "per_unit_minimum"),
    ])
    def test_bad_targets_name_the_field(self, targets: YearTargets, field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            TenantTargets.set_first(ctx("tenant_admin"), SetTenantTargets(2026, targets))
        assert field in caught.value.errors

    def test_province_defaults_per_kind(self) -> None:
        defaults = ProvinceTargets.set_first(ctx("province_admin"), SetProvinceTargets(
            "15", 2026, {TenantKind.WARD: TARGETS}))
        assert defaults.tenant_id == "province:15" and defaults.defaults["ward"].new_models == 12
        with pytest.raises(InvalidInput) as caught:
            ProvinceTargets.check(SetProvinceTargets(
                "15", 2026, {TenantKind.WARD: replace(TARGETS, new_models=-5)}))
        assert "ward.new_models" in caught.value.errors

    def test_period_targets_span_years(self) -> None:
        period = PeriodTargets.set_first(ctx("tenant_admin"), SetPeriodTargets(
            2026, 2030, recognized_tenant_level=10, recognized_province_level=2,
            maintained_models=70))
        assert period.targets["maintained_models"] == 70
        with pytest.raises(InvalidInput):
            PeriodTargets.set_first(ctx("tenant_admin"), SetPeriodTargets(2030, 2026, 1, 1, 1))


def test_a_years_list_is_approved_then_supplemented_with_the_models_accepted_since() -> None:
    at = datetime(2026, 4, 1, tzinfo=UTC)
    first = {"m1": at, "m2": at}
    approved = YearList.approve(ctx("approver"), ApproveList(2026, "05-QĐ/ĐU"), first)
    assert approved.decision_number == "05-QĐ/ĐU"
    assert approved.decisions[0].model_ids == ("m1", "m2")
    with pytest.raises(IllegalTransition) as nothing_new:
        approved.supplement(ctx("approver"), ApproveList(2026, "06-QĐ/ĐU"), first)
    assert nothing_new.value.code == "list_already_approved"
    later = {**first, "m3": at + timedelta(days=30)}
    assert approved.supplement(ctx("approver"), ApproveList(2026, "06-QĐ/ĐU"), later) == ["m3"]
    assert [d.model_ids for d in approved.decisions] == [("m1", "m2"), ("m3",)]
    with pytest.raises(IllegalTransition) as repeated:
        approved.supplement(ctx("approver"), ApproveList(2026, "06-QĐ/ĐU"),
                            {**later, "m4": at + timedelta(days=40)})
    assert repeated.value.code == "list_decision_repeated"


def test_a_list_approved_without_naming_models_covers_those_accepted_by_then() -> None:
    approved = YearList.approve(ctx("approver"), ApproveList(2026, "05-QĐ/ĐU"))
    when = approved.decisions[0].at
    accepted = {"old": when - timedelta(days=1), "new": when + timedelta(days=1)}
    assert approved.not_yet_approved(accepted) == ["new"]


def test_a_plan_task_assigned_to_units_is_overdue_per_unit() -> None:
    task = PlanTask.schedule(ctx("tenant_admin"), SchedulePlanTask(
        2026, "Ban hành kế hoạch của đơn vị", date(2026, 4, 30), ("u1", "u2")))
    with pytest.raises(IllegalTransition) as whole:
        task.complete(ctx("tenant_admin"), CompletePlanTask("Xong"))
    assert whole.value.code == "task_assigned_to_units"
    with pytest.raises(InvalidInput):
        task.complete_unit(ctx("tenant_admin"), CompleteUnitTask("u9", "Xong"))
    task.complete_unit(ctx("unit_user"), CompleteUnitTask("u1", "Đã ban hành"))
    may = date(2026, 5, 1)
    assert not task.is_overdue(may, "u1") and task.is_overdue(may, "u2")
    assert task.is_overdue(may) and task.completed_on is None
    with pytest.raises(IllegalTransition):
        task.complete_unit(ctx("tenant_admin"), CompleteUnitTask("u1"))
    task.complete_unit(ctx("tenant_admin"), CompleteUnitTask("u2"))
    assert task.completed_on == "2026-06-01" and not task.is_overdue(may)


def test_a_plan_task_is_overdue_until_completed() -> None:
    task = PlanTask.schedule(ctx("tenant_admin"), SchedulePlanTask(
        2026, "Quán triệt Chỉ thị 10-CT/TU", date(2026, 3, 31)))
    assert task.is_overdue(date(2026, 4, 1)) and not task.is_overdue(date(2026, 3, 31))
    task.complete(ctx("tenant_admin"), CompletePlanTask("Đã tổ chức hội nghị"))
    assert task.completed_on == "2026-06-01" and not task.is_overdue(date(2026, 12, 1))
    with pytest.raises(IllegalTransition):
        task.complete(ctx("tenant_admin"), CompletePlanTask())


class TestPolicy:
    @pytest.mark.parametrize(("role", "action", "allowed"), [
        ("unit_user", Action.MODEL_SUBMIT, True),
        ("unit_user", Action.MODEL_ACCEPT, False),
        ("reviewer", Action.MODEL_ACCEPT, True),
        ("reviewer", Action.MODEL_RECOGNITION_TENANT, False),
        ("approver", Action.MODEL_RECOGNITION_TENANT, True),
        ("approver", Action.MODEL_RECOGNITION_PROVINCE, False),
        ("province_admin", Action.MODEL_RECOGNITION_PROVINCE, True),
        ("province_analyst", Action.MODEL_ACCEPT, False),
        ("inspector", Action.AUDIT_READ, True),
        ("tenant_admin", Action.INSPECTOR_CREATE, False),
        ("nobody", Action.TENANT_READ, False),
    ])
    def test_the_table_answers(self, role: str, action: Action, allowed: bool) -> None:
        assert may(role, action) is allowed

    def test_every_role_reads_and_every_model_action_has_a_role(self) -> None:
        assert all(Action.TENANT_READ in actions for actions in POLICY.values())
        for command, action in MODEL_ACTIONS.items():
            for rule in action.rules():
                assert any(may(r, rule.policy) for r in Role), command.__name__
