"""Tenants, users and their role grants, targets, year lists, plan tasks and the policy table."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from danvan.domain.base import IllegalTransition, InvalidInput, NotPermitted
from danvan.domain.commands import MODEL_ACTIONS
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
from danvan.domain.tenants import Tenant
from danvan.domain.users import User
from danvan.domain.year_lists import YearList
from tests.unit.builders import TENANT, ctx

TARGETS = {"new_models": 12, "recognized_tenant_level": 3, "recognized_province_level": 1,
           "per_unit_minimum": 1}


class TestTenants:
    def test_a_ward_is_onboarded_under_its_official_code(self) -> None:
        tenant = Tenant.onboard(ctx("province_admin", tenant="province:15"), code="02647",
                                name="Phường Lào Cai", kind="ward", province_code="15")
        assert tenant.id == Tenant.id_for("ward", "15", "02647")
        assert str(tenant.id) == tenant.tenant_id

    def test_an_agency_is_keyed_by_province_and_its_own_code(self) -> None:
        agency = Tenant.onboard(ctx("province_admin"), code="SNV", name="Sở Nội vụ",
                                kind="agency", province_code="15")
        assert agency.id == Tenant.id_for("agency", "15", "SNV") != Tenant.id_for(
            "agency", "08", "SNV")

    @pytest.mark.parametrize(("values", "field"), [
        ({"code": "2647", "kind": "ward"}, "code"),
        ({"code": "02647", "kind": "village"}, "kind"),
        ({"code": "02647", "kind": "ward", "province_code": "x"}, "province_code"),
    ])
    def test_bad_tenant_input_names_the_field(self, values: dict[str, Any], field: str) -> None:
        body = {"name": "Phường Lào Cai", "province_code": "15"} | values
        with pytest.raises(InvalidInput) as caught:
            Tenant.onboard(ctx("province_admin"), **body)
        assert field in caught.value.errors


class TestUsers:
    def grant(self, role: str = "unit_user", unit: str | None = "unit-1") -> RoleGrant:
        return RoleGrant(role=role, province_code="15", tenant_id=TENANT, unit_id=unit)

    def test_a_user_holds_scoped_roles(self) -> None:
        user = User.register(ctx("tenant_admin"), username="bithu.to5", password_hash="h",
                             full_name="Nguyễn Văn A", grants=[self.grant()])
        assert user.id == User.id_for("BiThu.To5 ") and user.grants[0].unit_id == "unit-1"

    @pytest.mark.parametrize(("grants", "field"), [
        ([], "roles"),
        ([RoleGrant("mayor", "15", TENANT)], "roles"),
        ([RoleGrant("unit_user", "15", TENANT)], "unit_id"),
        ([RoleGrant("reviewer", "15", None)], "roles"),
        ([RoleGrant("province_analyst", "15", TENANT)], "roles"),
    ])
    def test_grants_must_fit_their_scope(self, grants: list[RoleGrant], field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            User.register(ctx("tenant_admin"), username="user1", password_hash="h",
                          full_name="A", grants=grants)
        assert field in caught.value.errors

    def test_only_a_province_admin_creates_inspectors(self) -> None:
        inspector = [self.grant("inspector", None)]
        with pytest.raises(NotPermitted):
            User.register(ctx("tenant_admin"), username="thanhtra", password_hash="h",
                          full_name="B", grants=inspector)
        User.register(ctx("province_admin"), username="thanhtra", password_hash="h",
                      full_name="B", grants=inspector)

    def test_failed_logins_and_grant_changes_are_events(self) -> None:
        user = User.register(ctx("tenant_admin"), username="user1", password_hash="h",
                             full_name="A", grants=[self.grant()])
        user.record_failed_login(ctx("anonymous"), address="203.0.113.9")
        user.change_grants(ctx("tenant_admin"), grants=[self.grant("reviewer", None)])
        kinds = [type(e).__name__ for e in user.collect_events()]
        assert kinds == ["Registered", "LoginFailed", "GrantsChanged"]
        assert user.failed_logins == 1 and user.grants[0].role == "reviewer"

    @pytest.mark.parametrize("username", ["ab", "Có dấu", "a" * 65, "-dash"])
    def test_usernames_are_plain(self, username: str) -> None:
        with pytest.raises(InvalidInput):
            User.register(ctx("tenant_admin"), username=username, password_hash="h",
                          full_name="A", grants=[self.grant()])


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
        targets = TenantTargets.set_first(ctx("tenant_admin"), year=2026, body=TARGETS)
        targets.collect_events()
        assert targets.change(ctx("tenant_admin"), body=TARGETS) is False
        assert targets.change(ctx("tenant_admin"), body=TARGETS | {"new_models": 15})
        assert len(targets.collect_events()) == 1 and targets.targets.new_models == 15

    @pytest.mark.parametrize(("body", "field"), [
        (TARGETS | {"new_models": -1}, "new_models"),
        (TARGETS | {"bonus": 1}, "bonus"),
        ({k: v for k, v in TARGETS.items() if k != "per_unit_minimum"}, "per_unit_minimum"),
    ])
    def test_bad_targets_name_the_field(self, body: dict[str, Any], field: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            TenantTargets.set_first(ctx("tenant_admin"), year=2026, body=body)
        assert field in caught.value.errors

    def test_province_defaults_per_kind(self) -> None:
        defaults = ProvinceTargets.set_first(ctx("province_admin"), province_code="15",
                                             year=2026, body={"ward": TARGETS})
        assert defaults.tenant_id == "province:15" and defaults.defaults["ward"].new_models == 12
        with pytest.raises(InvalidInput) as caught:
            ProvinceTargets.parse({"ward": TARGETS | {"new_models": "many"}})
        assert "ward.new_models" in caught.value.errors

    def test_period_targets_span_years(self) -> None:
        period = PeriodTargets.set_first(ctx("tenant_admin"), start_year=2026, end_year=2030,
                                         body={"recognized_tenant_level": 10,
                                               "recognized_province_level": 2,
                                               "maintained_models": 70})
        assert period.targets["maintained_models"] == 70
        with pytest.raises(InvalidInput):
            PeriodTargets.set_first(ctx("tenant_admin"), start_year=2030, end_year=2026,
                                    body={})


def test_a_years_list_is_approved_once() -> None:
    approved = YearList.approve(ctx("approver"), year=2026, decision_number="05-QĐ/ĐU")
    assert approved.decision_number == "05-QĐ/ĐU"
    with pytest.raises(IllegalTransition):
        YearList.approve(ctx("approver"), year=2026, decision_number="06", already_approved=True)


def test_a_plan_task_is_overdue_until_completed() -> None:
    task = PlanTask.schedule(ctx("tenant_admin"), year=2026,
                             title="Quán triệt Chỉ thị 10-CT/TU", due_date="2026-03-31")
    assert task.is_overdue(date(2026, 4, 1)) and not task.is_overdue(date(2026, 3, 31))
    task.complete(ctx("tenant_admin"), note="Đã tổ chức hội nghị")
    assert task.completed_on == "2026-06-01" and not task.is_overdue(date(2026, 12, 1))
    with pytest.raises(IllegalTransition):
        task.complete(ctx("tenant_admin"))


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
        for name, action in MODEL_ACTIONS.items():
            bodies = [{"level": "tenant"}, {"level": "province"}] if name in (
                "recognition", "revocation") else [{}]
            for body in bodies:
                assert any(may(r, action.action_for(body)) for r in Role), name
