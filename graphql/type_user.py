"""An account of a tenant (the users read model): who it is, its roles, where it is managed,
whether it may sign in and whether a one-time password is pending. Never a password hash."""

from __future__ import annotations

from datetime import datetime

import strawberry

from danvan.graphql.context import Info
from danvan.graphql.enums import Role
from danvan.graphql.rows import served_from, view
from danvan.graphql.type_unit import UnitType
from danvan.projections.users.rows import GrantRow, UserRow


@served_from(GrantRow)
@strawberry.type(name="RoleGrant", description=(
    "A role held in one scope: a province (province roles), a tenant, maybe one unit (a unit "
    "user)."))
class RoleGrantType:
    role: Role
    province_code: str
    tenant_id: strawberry.ID | None
    unit_id: strawberry.ID | None


def resolve_roles(root: strawberry.Parent[UserRow]) -> list[RoleGrantType]:
    return [view(RoleGrantType, GrantRow.of(g)) for g in root.grants]


async def resolve_user_unit(root: strawberry.Parent[UserRow], info: Info) -> UnitType | None:
    """The unit of a unit user (its first unit-scoped role), from the directory."""
    if root.unit_id is None:
        return None
    return view(UnitType, await info.context.loaders.unit.load(root.unit_id))


@served_from(UserRow)
@strawberry.type(name="User", description=(
    "Tài khoản: an account created in the tenant or holding a role in it, as its events left "
    "it (the scope it was created in, its roles, active until deactivated)."))
class UserType:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.field(description=(
        "The scope the account was created in: a tenant's id, or `province:<code>` for an "
        "account the province created (such as an inspector, listed in the tenant it "
        "inspects). Only an account created in a tenant has its password reset, is "
        "deactivated or given roles through that tenant's commands."))
    username: str
    full_name: str
    active: bool
    must_change_password: bool = strawberry.field(description=(
        "A one-time password is pending: its holder may sign in only to change it."))
    registered_at: datetime
    deactivated_at: datetime | None
    deactivated_reason: str | None
    credentials_changed_at: datetime | None = strawberry.field(description=(
        "The latest change of roles, password or deactivation (null: none since "
        "registration)."))
    unit_id: strawberry.ID | None
    roles: list[RoleGrantType] = strawberry.field(resolver=resolve_roles)
    unit: UnitType | None = strawberry.field(resolver=resolve_user_unit)
