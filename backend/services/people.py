"""People: user accounts in a tenant or a province, their roles.

Passwords are checked by the one rule (``domain.users.check_password``) and hashed here
(``hash_password``, argon2id by default), so the domain only ever sees hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.application import Application

from danvan.backend.services.repository import find, load, save_new, under_if_match
from danvan.backend.services.results import CommandResult
from danvan.domain.base import Context, InvalidInput
from danvan.domain.commands import ChangeGrants, RegisterUser
from danvan.domain.policies import NATIONAL_ROLES, PROVINCE_ROLES, Role, RoleGrant
from danvan.domain.tenants import Tenant
from danvan.domain.units import Unit
from danvan.domain.users import User, check_password
from danvan.domain.validation import Errors

Hasher = Callable[[str], str]


@dataclass(frozen=True)
class NewUser:
    """A user as an admin asks for one: roles by name, the unit for a unit user."""

    username: str
    password: str
    full_name: str
    roles: Sequence[Role]
    unit_id: str | None = None


def tenant_grants(store: Application, tenant: Tenant, roles: Sequence[Role],
                  unit_id: str | None) -> tuple[RoleGrant, ...]:
    """The grants ``roles`` give in ``tenant`` (a unit user's in its unit)."""
    if not roles:
        raise InvalidInput({"roles": "a non-empty list of roles"})
    if any(r in PROVINCE_ROLES or r in NATIONAL_ROLES for r in roles):
        raise InvalidInput({"roles": "province roles are not held in a tenant"})
    if unit_id is not None:
        unit = find(store, Unit, unit_id, str(tenant.id))
        if unit is None:
            raise InvalidInput({"unit_id": "no such unit in this tenant"})
        unit_id = str(unit.id)
    return tuple(RoleGrant(role=r, province_code=tenant.province_code,
                           tenant_id=str(tenant.id),
                           unit_id=unit_id if r == Role.UNIT_USER else None)
                 for r in dict.fromkeys(roles))


def province_grants(province_code: str, roles: Sequence[Role],
                    unit_id: str | None) -> tuple[RoleGrant, ...]:
    if not roles or any(r not in PROVINCE_ROLES for r in roles):
        raise InvalidInput({"roles": "province_admin or province_analyst"})
    if unit_id is not None:
        raise InvalidInput({"unit_id": "province users hold no unit"})
    return tuple(RoleGrant(role=r, province_code=province_code) for r in dict.fromkeys(roles))


def registered_user(ctx: Context, new: NewUser, grants: Sequence[RoleGrant],
                    hash_password: Hasher) -> User:
    """The new account (not stored yet): the password rule, then the hash, then the domain.
    ``ctx.tenant_id`` is the scope it is created in (a tenant, or a province's scope)."""
    errors = Errors()
    check_password(errors, new.password)
    errors.raise_if_any()
    return User.register(ctx, RegisterUser(username=new.username,
                                           password_hash=hash_password(new.password),
                                           full_name=new.full_name, grants=tuple(grants)))


def create_user(store: Application, ctx: Context, new: NewUser, grants: Sequence[RoleGrant],
                hash_password: Hasher) -> CommandResult:
    user = registered_user(ctx, new, grants, hash_password)
    save_new(store, user, "that username is taken")
    return CommandResult(str(user.id), user.version, "active", True,
                         {"username": user.username,
                          "roles": sorted({g.role for g in user.grants})},
                         command="user.create")


def create_tenant_user(store: Application, ctx: Context, tenant_id: str, new: NewUser,
                       hash_password: Hasher) -> CommandResult:
    tenant = load(store, Tenant, tenant_id)
    grants = tenant_grants(store, tenant, new.roles, new.unit_id)
    return create_user(store, ctx, new, grants, hash_password)


def create_province_user(store: Application, ctx: Context, province_code: str, new: NewUser,
                         hash_password: Hasher) -> CommandResult:
    grants = province_grants(province_code, new.roles, new.unit_id)
    return create_user(store, ctx, new, grants, hash_password)


def change_user_roles(store: Application, ctx: Context, user: User, roles: Sequence[Role],
                      unit_id: str | None, expected_version: int | None) -> CommandResult:
    """``user``: the path's user, loaded in the caller's tenant."""
    tenant = load(store, Tenant, ctx.tenant_id)
    grants = tenant_grants(store, tenant, roles, unit_id)
    under_if_match(user, expected_version,
                   lambda: user.change_grants(ctx, ChangeGrants(grants)))
    if user.pending_events:
        store.save(user)
    return CommandResult(str(user.id), user.version, "active" if user.active else "inactive",
                         extra={"roles": sorted({g.role for g in user.grants})},
                         command="user.change_roles")
