"""People: user accounts in a tenant or a province, their roles, passwords and deactivation.

Passwords are checked by the one rule (``domain.users.check_password``) and hashed here
(``hash_password``, argon2id by default), so the domain only ever sees hashes. A change of
roles or password, a reset and a deactivation each move the user's credentials generation
(``domain/users.py``), so tokens issued before it are refused from then on
(``backend/auth/credentials.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.application import Application

from danvan.backend.auth.passwords import verify_password
from danvan.backend.services.repository import find, load, save_new, under_if_match
from danvan.backend.services.results import CommandResult
from danvan.domain.base import Actor, Context, InvalidInput
from danvan.domain.commands import (
    ChangeGrants,
    ChangePassword,
    DeactivateUser,
    RegisterUser,
    ResetPassword,
)
from danvan.domain.policies import NATIONAL_ROLES, PROVINCE_ROLES, Role, RoleGrant, SpecialRole
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
    must_change_password: bool = False
    """The password is a one-time one (made up for the user): they must change it first."""


@dataclass(frozen=True)
class PasswordChange:
    """A user changing their own password: the current one, then the new one."""

    current_password: str
    new_password: str


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
                                           full_name=new.full_name, grants=tuple(grants),
                                           must_change_password=new.must_change_password))


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


def user_result(user: User, command: str) -> CommandResult:
    return CommandResult(str(user.id), user.version, "active" if user.active else "inactive",
                         command=command)


def change_own_password(store: Application, ctx: Context, user_id: str,
                        change: PasswordChange, hash_password: Hasher) -> CommandResult:
    """The signed-in user's new password, given the current one (a wrong one is refused as
    bad input naming ``current_password``). Also ends a one-time password."""
    user = load(store, User, user_id)
    errors = Errors()
    if not verify_password(user.password_hash, change.current_password):
        errors.add("current_password", "is not the current password")
    check_password(errors, change.new_password, "new_password")
    errors.raise_if_any()
    if verify_password(user.password_hash, change.new_password):
        raise InvalidInput({"new_password": "must differ from the current password"})
    own = dataclasses.replace(ctx, tenant_id=user.tenant_id,
                              actor=Actor(user_id=str(user.id), role=SpecialRole.SELF))
    user.change_password(own, ChangePassword(hash_password(change.new_password)))
    store.save(user)
    return user_result(user, "user.change_password")


def reset_password(store: Application, ctx: Context, user: User, new_password: str,
                   hash_password: Hasher, expected_version: int | None) -> CommandResult:
    """An admin sets ``user``'s password (the path's user, loaded in the caller's tenant)."""
    errors = Errors()
    check_password(errors, new_password, "new_password")
    errors.raise_if_any()
    password_hash = hash_password(new_password)
    under_if_match(user, expected_version,
                   lambda: user.reset_password(ctx, ResetPassword(password_hash)))
    store.save(user)
    return user_result(user, "user.reset_password")


def deactivate_user(store: Application, ctx: Context, user: User, command: DeactivateUser,
                    expected_version: int | None) -> CommandResult:
    """``user``: the path's user, loaded in the caller's tenant."""
    under_if_match(user, expected_version, lambda: user.deactivate(ctx, command))
    store.save(user)
    return user_result(user, "user.deactivate")
