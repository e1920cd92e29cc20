"""Who reads what: province roles their provinces, tenant roles their tenants, a unit user
its unit's models, inspectors the audit trail of the tenants they were created in."""

from __future__ import annotations

from dataclasses import dataclass

from danvan.domain.policies import Action, RoleGrant
from danvan.graphql.access import Access

T1, T2 = "tenant-1", "tenant-2"


@dataclass(frozen=True)
class Caller:
    user_id: str
    grants: tuple[RoleGrant, ...]


def access(*grants: RoleGrant) -> Access:
    return Access(Caller("u", grants))


def test_a_province_role_reads_every_tenant_of_its_province_only() -> None:
    analyst = access(RoleGrant("province_analyst", "15"))
    assert analyst.may_read_province("15") and not analyst.may_read_province("01")
    assert analyst.may(Action.TENANT_READ, tenant_id=T1, province_code="15")
    assert not analyst.may(Action.TENANT_READ, tenant_id=T1, province_code="01")
    assert not analyst.may(Action.AUDIT_READ, tenant_id=T1, province_code="15")
    assert not analyst.may(Action.PERSONAL_DATA_READ, tenant_id=T1, province_code="15")
    assert analyst.province_codes() == ("15",) and analyst.tenant_ids() == ()
    admin = access(RoleGrant("province_admin", "15"))
    assert admin.may(Action.AUDIT_READ, tenant_id="province:15")
    assert admin.may(Action.PERSONAL_DATA_READ, tenant_id=T1, province_code="15")
    assert admin.unit_scope(T1, "15") is None


def test_tenant_roles_read_their_tenant_and_no_other() -> None:
    reviewer = access(RoleGrant("reviewer", "15", T1))
    assert reviewer.holds_tenant_role(T1) and not reviewer.holds_tenant_role(T2)
    assert reviewer.may(Action.TENANT_READ, tenant_id=T1)
    assert not reviewer.may(Action.TENANT_READ, tenant_id=T2, province_code="15")
    assert not reviewer.may_read_province("15")
    assert reviewer.may(Action.PERSONAL_DATA_READ, tenant_id=T1)
    assert reviewer.tenant_ids() == (T1,) and reviewer.province_codes() == ()


def test_an_inspector_audits_the_tenants_it_was_created_in() -> None:
    inspector = access(RoleGrant("inspector", "15", T1))
    assert inspector.may(Action.AUDIT_READ, tenant_id=T1)
    assert not inspector.may(Action.AUDIT_READ, tenant_id=T2, province_code="15")
    assert not inspector.may(Action.PERSONAL_DATA_READ, tenant_id=T1)


def test_a_unit_user_reads_only_its_units_models_unless_it_holds_another_role() -> None:
    unit_user = access(RoleGrant("unit_user", "15", T1, "unit-a"))
    assert unit_user.unit_scope(T1, "15") == frozenset({"unit-a"})
    assert unit_user.unit_scope(T2, "15") == frozenset()  # no grant: nothing at all
    assert not unit_user.may(Action.PERSONAL_DATA_READ, tenant_id=T1)
    both = access(RoleGrant("unit_user", "15", T1, "unit-a"), RoleGrant("reviewer", "15", T1))
    assert both.unit_scope(T1, "15") is None


def test_a_caller_without_grants_reads_nothing() -> None:
    nobody = access()
    assert nobody.province_codes() == () and nobody.tenant_ids() == ()
    assert not nobody.may(Action.TENANT_READ, tenant_id=T1, province_code="15")
    assert nobody.unit_scope(T1, "15") == frozenset()
