"""Onboarding: tenants from the official catalogue, and their units."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application

from danvan.backend.services.errors import Forbidden
from danvan.backend.services.repository import load, save_new, under_if_match
from danvan.backend.services.results import CommandResult
from danvan.domain.base import Context, InvalidInput
from danvan.domain.commands import AddUnit, CloseUnit, OnboardTenant
from danvan.domain.policies import Role, RoleGrant
from danvan.domain.tenants import Tenant, TenantKind
from danvan.domain.units import Unit
from danvan.infra.catalogue import Catalogue


def tenant_body(tenant: Tenant) -> dict[str, Any]:
    return {"id": str(tenant.id), "code": tenant.code, "name": tenant.name,
            "kind": tenant.kind, "province_code": tenant.province_code}


def from_catalogue(catalogue: Catalogue, code: str, *, kind: TenantKind | None = None,
                   province_code: str | None = None, name: str | None = None) -> OnboardTenant:
    """The tenant an official unit code names; members also given must agree with it."""
    entry = catalogue.unit(code)
    if entry is None:
        raise InvalidInput({"code": "no such unit in the official catalogue"})
    command = OnboardTenant(code=entry.code, name=entry.name, kind=TenantKind(entry.kind),
                            province_code=entry.province_code)
    for member, given in (("kind", kind), ("province_code", province_code), ("name", name)):
        if given is not None and given != getattr(command, member):
            raise InvalidInput({member: "does not match the official catalogue"})
    return command


def agency(catalogue: Catalogue, *, province_code: str, code: str, name: str) -> OnboardTenant:
    """A provincial agency (sở, ban, ngành): not in the catalogue, named by the province."""
    if catalogue.province(province_code) is None:
        raise InvalidInput({"province_code": "no such province in the official catalogue"})
    return OnboardTenant(code=code, name=name, kind=TenantKind.AGENCY,
                         province_code=province_code)


def onboarded_tenant(ctx: Context, grants: list[RoleGrant], command: OnboardTenant) -> Tenant:
    """The new tenant (not stored yet), onboarded by an admin of its province."""
    if not any(g.role == Role.PROVINCE_ADMIN and g.province_code == command.province_code
               for g in grants):
        raise Forbidden("only the province's admins onboard its tenants")
    return Tenant.onboard(ctx, command)


def onboard_tenant(store: Application, ctx: Context, grants: list[RoleGrant],
                   command: OnboardTenant) -> CommandResult:
    tenant = onboarded_tenant(ctx, grants, command)
    save_new(store, tenant, "this tenant is already onboarded")
    return CommandResult(str(tenant.id), tenant.version, None, True, tenant_body(tenant),
                         command="tenant.onboard")


def tenant_view(store: Application, tenant_id: str) -> dict[str, Any]:
    return tenant_body(load(store, Tenant, tenant_id))


def new_unit(ctx: Context, command: AddUnit) -> Unit:
    """The new unit of ``ctx.tenant_id`` (not stored yet)."""
    return Unit.add(ctx, command)


def add_unit(store: Application, ctx: Context, command: AddUnit) -> CommandResult:
    unit = new_unit(ctx, command)
    save_new(store, unit, "a unit of that name already exists")
    return CommandResult(str(unit.id), unit.version, "open", True,
                         {"name": unit.name, "kind": unit.kind,
                          "reports_to_vertical_line": unit.reports_to_vertical_line},
                         command="unit.add")


def close_unit(store: Application, ctx: Context, unit: Unit, command: CloseUnit,
               expected_version: int | None) -> CommandResult:
    """``unit``: the path's unit, loaded in the caller's tenant."""
    under_if_match(unit, expected_version, lambda: unit.close(ctx, command))
    store.save(unit)
    return CommandResult(str(unit.id), unit.version, "closed", command="unit.close")
