"""Onboarding: tenants from the official catalogue, their units and users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application

from danvan.backend.errors import Problem, invalid
from danvan.backend.services.inputs import only
from danvan.backend.services.repository import decide, find, load, save_new
from danvan.backend.services.results import CommandResult
from danvan.domain.base import Context
from danvan.domain.limits import MAX_PASSWORD, MIN_PASSWORD
from danvan.domain.policies import PROVINCE_ROLES, Role
from danvan.domain.tenants import Tenant, TenantKind
from danvan.domain.units import Unit
from danvan.domain.users import RoleGrant, User
from danvan.infra.catalogue import Catalogue


def tenant_body(tenant: Tenant) -> dict[str, Any]:
    return {"id": str(tenant.id), "code": tenant.code, "name": tenant.name,
            "kind": tenant.kind, "province_code": tenant.province_code}


def resolve_tenant(catalogue: Catalogue, body: dict[str, Any]) -> dict[str, Any]:
    """``{code}`` from the catalogue, or ``{kind: agency, province_code, code, name}``."""
    if body.get("kind") == TenantKind.AGENCY:
        only(body, {"kind", "province_code", "code", "name"})
        province = body.get("province_code")
        if isinstance(province, str) and catalogue.province(province) is None:
            raise invalid("province_code", "no such province in the official catalogue")
        return dict(body)
    only(body, {"code", "kind", "province_code", "name"})
    code = body.get("code")
    if not isinstance(code, str):
        raise invalid("code", "required")
    entry = catalogue.unit(code)
    if entry is None:
        raise invalid("code", "no such unit in the official catalogue")
    derived = {"code": entry.code, "name": entry.name, "kind": entry.kind,
               "province_code": entry.province_code}
    for member in ("kind", "province_code", "name"):
        if body.get(member) is not None and body[member] != derived[member]:
            raise invalid(member, "does not match the official catalogue")
    return derived


def onboard_tenant(store: Application, catalogue: Catalogue, ctx: Context,
                   grants: list[RoleGrant], body: dict[str, Any]) -> CommandResult:
    values = resolve_tenant(catalogue, body)
    province = values.get("province_code")
    if not any(g.role == Role.PROVINCE_ADMIN and g.province_code == province for g in grants):
        raise Problem(403, "forbidden")
    tenant = Tenant.onboard(ctx, code=values.get("code"), name=values.get("name"),
                            kind=values.get("kind"), province_code=province)
    save_new(store, tenant, "this tenant is already onboarded")
    return CommandResult(str(tenant.id), tenant.version, None, True, tenant_body(tenant),
                         command="tenant.onboard")


def add_unit(store: Application, ctx: Context, body: dict[str, Any]) -> CommandResult:
    unit = Unit.add(ctx, name=body.get("name"), kind=body.get("kind"),
                    reports_to_vertical_line=body.get("reports_to_vertical_line", False))
    save_new(store, unit, "a unit of that name already exists")
    return CommandResult(str(unit.id), unit.version, "open", True,
                         {"name": unit.name, "kind": unit.kind,
                          "reports_to_vertical_line": unit.reports_to_vertical_line},
                         command="unit.add")


def close_unit(store: Application, ctx: Context, unit: Unit, body: dict[str, Any],
               expected_version: int | None) -> CommandResult:
    """``unit``: the path's unit, loaded in the caller's tenant (``load``: 404 if unknown)."""
    decide(unit, expected_version, lambda: unit.close(ctx, reason=body.get("reason")))
    store.save(unit)
    return CommandResult(str(unit.id), unit.version, "closed", command="unit.close")


def tenant_grants(store: Application, tenant: Tenant, body: dict[str, Any]) -> list[RoleGrant]:
    roles = body.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise invalid("roles", "a non-empty list of roles")
    if any(r in PROVINCE_ROLES for r in roles):
        raise invalid("roles", "province roles are not held in a tenant")
    unit_id = body.get("unit_id")
    if unit_id is not None:
        unit = find(store, Unit, str(unit_id), str(tenant.id))
        if unit is None:
            raise invalid("unit_id", "no such unit in this tenant")
        unit_id = str(unit.id)
    return [RoleGrant(role=r, province_code=tenant.province_code, tenant_id=str(tenant.id),
                      unit_id=unit_id if r == Role.UNIT_USER else None) for r in roles]


def check_password(password: Any) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise invalid("password", f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise invalid("password", f"at most {MAX_PASSWORD} characters")
    return password


def create_user(store: Application, ctx: Context, body: dict[str, Any],
                grants: list[RoleGrant], hash_password: Callable[[str], str]) -> CommandResult:
    only(body, {"username", "password", "full_name", "roles", "unit_id"})
    password = check_password(body.get("password"))
    user = User.register(ctx, username=body.get("username"),
                         password_hash=hash_password(password),
                         full_name=body.get("full_name"), grants=grants)
    save_new(store, user, "that username is taken")
    return CommandResult(str(user.id), user.version, "active", True,
                         {"username": user.username,
                          "roles": sorted({g.role for g in user.grants})},
                         command="user.create")


def create_tenant_user(store: Application, ctx: Context, tenant_id: str, body: dict[str, Any],
                       hash_password: Callable[[str], str]) -> CommandResult:
    tenant = load(store, Tenant, tenant_id)
    grants = tenant_grants(store, tenant, body)
    return create_user(store, ctx, body, grants, hash_password)


def create_province_user(store: Application, ctx: Context, province_code: str,
                         body: dict[str, Any],
                         hash_password: Callable[[str], str]) -> CommandResult:
    roles = body.get("roles")
    if not isinstance(roles, list) or not roles or any(r not in PROVINCE_ROLES for r in roles):
        raise invalid("roles", "province_admin or province_analyst")
    if body.get("unit_id") is not None:
        raise invalid("unit_id", "province users hold no unit")
    grants = [RoleGrant(role=r, province_code=province_code) for r in roles]
    return create_user(store, ctx, body, grants, hash_password)


def tenant_view(store: Application, tenant_id: str) -> dict[str, Any]:
    return tenant_body(load(store, Tenant, tenant_id))




def change_user_roles(store: Application, ctx: Context, user: User, body: dict[str, Any],
                      expected_version: int | None) -> CommandResult:
    """``user``: the path's user, loaded in the caller's tenant (404 if unknown there)."""
    only(body, {"roles", "unit_id"})
    tenant = load(store, Tenant, ctx.tenant_id)
    grants = tenant_grants(store, tenant, body)
    decide(user, expected_version, lambda: user.change_grants(ctx, grants=grants))
    if user.pending_events:
        store.save(user)
    return CommandResult(str(user.id), user.version, "active" if user.active else "inactive",
                         extra={"roles": sorted({g.role for g in user.grants})},
                         command="user.change_roles")
