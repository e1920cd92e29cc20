"""A user account: credentials (hashed outside the domain) and scoped role grants.

A user's *credentials generation* is the version of its latest ``CredentialsChanged`` event
(roles, password, deactivation; 0 before any): an access token carries the generation it was
issued at, and one issued before a later change no longer stands. Re-hashing the same
password with today's parameters (``PasswordRehashed``) is not such a change.

A user registered with a one-time password (``must_change_password``) may sign in, but only
to change it (the HTTP layer refuses every other route); changing it clears the mark.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, IllegalTransition, NotPermitted, TenantAggregate, derive_id
from danvan.domain.limits import MAX_NAME, MAX_PASSWORD, MAX_USERNAME, MIN_PASSWORD
from danvan.domain.policies import (
    NATIONAL_ROLES,
    PROVINCE_ROLES,
    ROLES,
    Role,
    RoleGrant,
    SpecialRole,
)
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import (
        ChangeGrants,
        ChangePassword,
        DeactivateUser,
        RegisterUser,
        ResetPassword,
    )

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
USERNAME_RULE = "3-64 lowercase letters, digits, '.', '_' or '-'"


def check_password(errors: Errors, password: str, member: str = "password") -> None:
    """The one password rule (API, command line, demo): at least ``MIN_PASSWORD``
    characters. Checked before hashing: the domain never stores a password."""
    if len(password) < MIN_PASSWORD:
        errors.add(member, f"at least {MIN_PASSWORD} characters")
    elif len(password) > MAX_PASSWORD:
        errors.add(member, f"at most {MAX_PASSWORD} characters")


def check_grants(grants: list[RoleGrant], errors: Errors, field: str = "roles") -> None:
    if not grants:
        errors.add(field, "at least one role is required")
    for grant in grants:
        if grant.role not in ROLES:
            errors.add(field, f"unknown role {grant.role!r}")
        elif grant.role in NATIONAL_ROLES:
            if grant.tenant_id is not None or grant.unit_id is not None:
                errors.add(field, f"{grant.role} is held for the whole country")
        elif grant.role in PROVINCE_ROLES and grant.tenant_id is not None:
            errors.add(field, f"{grant.role} is held for a province, not a tenant")
        elif grant.role not in PROVINCE_ROLES and grant.tenant_id is None:
            errors.add(field, f"{grant.role} must be held in a tenant")
        elif grant.role == Role.UNIT_USER and grant.unit_id is None:
            errors.add("unit_id", "a unit user needs its unit")


class CredentialsChanged(TenantAggregate.Event):
    """A ``User`` event after which tokens issued earlier no longer stand: what they assert
    (the roles, or that the bearer knew the password of an active account) may have stopped
    holding. New kinds of such events derive from it, and nothing else does."""

    def mutate(self, aggregate: Any) -> Any:
        user: Any = super().mutate(aggregate)
        user.credentials_generation = self.originator_version
        return user


class User(TenantAggregate):
    username: str
    password_hash: str
    full_name: str
    grants: list[RoleGrant]
    active: bool
    failed_logins: int
    credentials_generation: int
    must_change_password: bool

    @staticmethod
    def id_for(username: str) -> uuid.UUID:
        return derive_id("user", username)

    class Registered(TenantAggregate.Created):
        username: str
        password_hash: str
        full_name: str
        grants: list[dict[str, Any]]
        must_change_password: bool

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 was recorded before one-time passwords existed."""
            state["must_change_password"] = False

    class LoginFailed(TenantAggregate.Event):
        address: str

        def apply(self, user: User) -> None:
            user.failed_logins += 1

    class LoggedIn(TenantAggregate.Event):
        def apply(self, user: User) -> None:
            user.failed_logins = 0

    class GrantsChanged(CredentialsChanged):
        grants: list[dict[str, Any]]

        def apply(self, user: User) -> None:
            user.grants = [RoleGrant.from_dict(g) for g in self.grants]

    class PasswordChanged(CredentialsChanged):
        """The user's own new password (or, in events recorded before ``PasswordReset``
        existed, one set for them)."""

        password_hash: str

        def apply(self, user: User) -> None:
            user.password_hash = self.password_hash
            user.must_change_password = False

    class PasswordReset(CredentialsChanged):
        """A password an admin set for the user: a one-time password stays one."""

        password_hash: str

        def apply(self, user: User) -> None:
            user.password_hash = self.password_hash

    class PasswordRehashed(TenantAggregate.Event):
        """The same password, stored with today's hashing parameters (at a good login)."""

        password_hash: str

        def apply(self, user: User) -> None:
            user.password_hash = self.password_hash

    class Deactivated(CredentialsChanged):
        """(The reason is in the event's ``meta``, as for every action that takes one.)"""

        def apply(self, user: User) -> None:
            user.active = False

    @classmethod
    def register(cls, ctx: Context, command: RegisterUser) -> User:
        """``ctx.tenant_id`` is the scope the user is created in (a tenant or a province)."""
        errors = Errors()
        name = errors.text("username", command.username, max_length=MAX_USERNAME)
        if name is not None and not USERNAME.match(name):
            errors.add("username", USERNAME_RULE)
        full = errors.text("full_name", command.full_name, max_length=MAX_NAME)
        grants = list(command.grants)
        check_grants(grants, errors)
        errors.raise_if_any()
        assert name and full
        if any(g.role == Role.INSPECTOR for g in grants) and ctx.actor.role not in (
                Role.PROVINCE_ADMIN, SpecialRole.SYSTEM):
            raise NotPermitted("only a province admin creates inspectors",
                               code="inspector_needs_province_admin")
        return cls._create(cls.Registered, id=cls.id_for(name), tenant_id=ctx.tenant_id,
                           meta=ctx.meta(), timestamp=ctx.at, username=name,
                           password_hash=command.password_hash, full_name=full,
                           grants=[g.as_dict() for g in grants],
                           must_change_password=bool(command.must_change_password))

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], username: str,
                 password_hash: str, full_name: str, grants: list[dict[str, Any]],
                 must_change_password: bool = False) -> None:
        self.tenant_id = tenant_id
        self.username = username
        self.password_hash = password_hash
        self.full_name = full_name
        self.grants = [RoleGrant.from_dict(g) for g in grants]
        self.active = True
        self.failed_logins = 0
        self.credentials_generation = 0
        self.must_change_password = must_change_password

    def record_failed_login(self, ctx: Context, *, address: str) -> None:
        self._emit(self.LoginFailed, ctx, address=address[:100])

    def record_login(self, ctx: Context) -> None:
        if self.failed_logins:
            self._emit(self.LoggedIn, ctx)

    def change_grants(self, ctx: Context, command: ChangeGrants) -> bool:
        """Replaces the user's roles; answers False (no event) when nothing changes."""
        grants = list(command.grants)
        errors = Errors()
        check_grants(grants, errors)
        errors.raise_if_any()
        gains_inspector = any(g.role == Role.INSPECTOR for g in grants) and not any(
            g.role == Role.INSPECTOR for g in self.grants)
        if gains_inspector and ctx.actor.role not in (Role.PROVINCE_ADMIN, SpecialRole.SYSTEM):
            raise NotPermitted("only a province admin makes someone an inspector",
                               code="inspector_needs_province_admin")
        if grants == self.grants:
            return False
        self._check_active()
        self._emit(self.GrantsChanged, ctx, grants=[g.as_dict() for g in grants])
        return True

    def change_password(self, ctx: Context, command: ChangePassword) -> None:
        """The user's own new password (the caller checked the current one): tokens issued
        before it no longer stand, and a one-time password is one no more."""
        self._check_active()
        self._emit(self.PasswordChanged, ctx, password_hash=command.password_hash)

    def reset_password(self, ctx: Context, command: ResetPassword) -> None:
        """An admin sets the user's password: tokens issued before it no longer stand."""
        self._check_active()
        self._check_inspector_left_to_province(ctx, "resets an inspector's password")
        self._emit(self.PasswordReset, ctx, password_hash=command.password_hash)

    def rehash_password(self, ctx: Context, *, password_hash: str) -> None:
        """The same password under new hashing parameters: tokens stand."""
        self._emit(self.PasswordRehashed, ctx, password_hash=password_hash)

    def deactivate(self, ctx: Context, command: DeactivateUser) -> None:
        """The account stops: it cannot sign in, and tokens issued before no longer stand."""
        errors = Errors()
        reason = errors.text("reason", command.reason)
        errors.raise_if_any()
        self._check_active()
        self._check_inspector_left_to_province(ctx, "deactivates an inspector")
        self._emit(self.Deactivated, ctx, reason=reason)

    def _check_active(self) -> None:
        if not self.active:
            raise IllegalTransition("the account is deactivated", code="user_inactive")

    def _check_inspector_left_to_province(self, ctx: Context, what: str) -> None:
        """Inspectors check their tenant: only the province (which made them) takes over or
        stops their account, never the tenant's own admin."""
        if any(g.role == Role.INSPECTOR for g in self.grants) and ctx.actor.role not in (
                Role.PROVINCE_ADMIN, SpecialRole.SYSTEM):
            raise NotPermitted(f"only a province admin {what}",
                               code="inspector_needs_province_admin")


def credentials_changes() -> tuple[type[CredentialsChanged], ...]:
    """The ``User`` events that change a user's credentials generation (as stored: the
    aggregate's own event classes)."""
    return tuple(value for value in vars(User).values()
                 if isinstance(value, type) and issubclass(value, CredentialsChanged))
