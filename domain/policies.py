"""Who may do what, where: the one table of roles × actions, and the scope rules.

Guards (REST) and GraphQL's ``Access`` both ask this module:

- ``may(role, action)``: the table;
- ``grants_allowing(grants, action, tenant_id=, province_code=)``: which of a caller's grants
  apply there (a tenant role in its own tenant; a province role in its province and every
  tenant of it; a national role everywhere; ``province:<code>``, the scope of a province's
  own aggregates, is that province);
- ``province_needed(...)``: whether only the tenant's province could still let the caller
  in (then the adapter looks the tenant up, and asks again with its province);
- ``unit_scope(grants)``: the units a caller is confined to (unit users).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    NATIONAL_ANALYST = "national_analyst"
    PROVINCE_ADMIN = "province_admin"
    PROVINCE_ANALYST = "province_analyst"
    INSPECTOR = "inspector"
    TENANT_ADMIN = "tenant_admin"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    UNIT_USER = "unit_user"


class SpecialRole(StrEnum):
    """What an event's actor is when no role of the table acts: these grant nothing."""

    SYSTEM = "system"
    """The command line, the demo, jobs: acting for the operator."""
    SELF = "self"
    """A user's own bookkeeping (a successful sign-in after failed ones)."""
    ANONYMOUS = "anonymous"
    """Nobody signed in (a failed sign-in)."""
    NONE = "none"
    """A signed-in caller whose grants do not reach the scope (reads only)."""


ROLES: frozenset[str] = frozenset(r.value for r in Role)
NATIONAL_ROLES: frozenset[str] = frozenset({Role.NATIONAL_ANALYST})
"""Roles held for the whole country: they apply in every province and every tenant."""
PROVINCE_ROLES: frozenset[str] = frozenset({Role.PROVINCE_ADMIN, Role.PROVINCE_ANALYST})
TENANT_ROLES: frozenset[str] = ROLES - PROVINCE_ROLES - NATIONAL_ROLES
NATIONAL_SCOPE = "national"
"""The ``tenant_id`` of national users' own aggregates (their accounts)."""
EVERY_PROVINCE = "*"
"""The ``province_code`` of a national role's grant."""


class Action(StrEnum):
    TENANT_ONBOARD = "tenant.onboard"
    TENANT_READ = "tenant.read"
    UNIT_ADD = "unit.add"
    UNIT_CLOSE = "unit.close"
    USER_CREATE = "user.create"
    """Also changes a user's roles."""
    USER_PASSWORD_RESET = "user.password_reset"
    USER_DEACTIVATE = "user.deactivate"
    USER_READ = "user.read"
    """List a tenant's accounts (personal data: names, roles): those who manage them, and the
    tenant's inspectors, whose audit trail already shows every account event."""
    INSPECTOR_CREATE = "user.create_inspector"
    TARGETS_SET_PROVINCE = "targets.set_province"
    TARGETS_SET_TENANT = "targets.set_tenant"
    EVALUATION_RULES_SET = "evaluation_rules.set"
    LIST_APPROVE = "list.approve"
    PLAN_SCHEDULE = "plan.schedule"
    PLAN_COMPLETE = "plan.complete"
    PLAN_COMPLETE_UNIT = "plan.complete_unit"
    MODEL_REGISTER = "model.register"
    MODEL_AMEND = "model.amend"
    MODEL_SUBMIT = "model.submit"
    MODEL_RETURN = "model.return"
    MODEL_REJECT = "model.reject"
    MODEL_ACCEPT = "model.accept"
    MODEL_COPY_RECEIVED = "model.copy_received"
    MODEL_PROGRESS = "model.progress"
    MODEL_INSPECTION = "model.inspection"
    MODEL_SELF_ASSESSMENT = "model.self_assessment"
    MODEL_EVALUATION = "model.evaluation"
    MODEL_PROPOSAL = "model.proposal"
    MODEL_RECOGNITION_TENANT = "model.recognition.tenant"
    MODEL_RECOGNITION_PROVINCE = "model.recognition.province"
    MODEL_NOMINATION = "model.nomination"
    MODEL_REVOCATION_TENANT = "model.revocation.tenant"
    MODEL_REVOCATION_PROVINCE = "model.revocation.province"
    MODEL_DISCONTINUATION = "model.discontinuation"
    MODEL_MAINTENANCE = "model.maintenance"
    PERSONAL_DATA_ERASE = "model.personal_data_erasure"
    PERSONAL_DATA_READ = "model.personal_data_read"
    AUDIT_READ = "audit.read"
    AUDIT_EXPORT = "audit.export"
    REBUILD = "operation.rebuild"
    REPORT = "report"
    """Ask for an official report of a scope, list and download its reports: every reader
    of the whole scope (a unit user reads only its unit's models, so not a tenant's lists)."""
    JOBS_DEAD_READ = "jobs.dead_read"
    IMPORT_TENANT_DATA = "import.tenant_data"
    """Import a tenant's units, users or models of earlier years from a file."""
    IMPORT_TENANTS = "import.tenants"
    """Onboard a province's communes and wards from the catalogue, in one job."""


_EVERY_READER = {Action.TENANT_READ}
_SCOPE_READER = {*_EVERY_READER, Action.REPORT}

POLICY: dict[Role, frozenset[Action]] = {
    Role.PROVINCE_ADMIN: frozenset({
        *_SCOPE_READER,
        Action.TENANT_ONBOARD, Action.USER_CREATE, Action.INSPECTOR_CREATE,
        Action.USER_PASSWORD_RESET, Action.USER_DEACTIVATE, Action.USER_READ,
        Action.TARGETS_SET_PROVINCE, Action.TARGETS_SET_TENANT, Action.EVALUATION_RULES_SET,
        Action.MODEL_RECOGNITION_PROVINCE, Action.MODEL_REVOCATION_PROVINCE,
        Action.PERSONAL_DATA_ERASE, Action.PERSONAL_DATA_READ, Action.AUDIT_READ,
        Action.AUDIT_EXPORT, Action.REBUILD, Action.JOBS_DEAD_READ, Action.IMPORT_TENANTS,
    }),
    Role.PROVINCE_ANALYST: frozenset(_SCOPE_READER),
    Role.NATIONAL_ANALYST: frozenset(_EVERY_READER),
    Role.INSPECTOR: frozenset({*_SCOPE_READER, Action.AUDIT_READ, Action.USER_READ}),
    Role.TENANT_ADMIN: frozenset({
        *_SCOPE_READER,
        Action.UNIT_ADD, Action.UNIT_CLOSE, Action.USER_CREATE, Action.USER_PASSWORD_RESET,
        Action.USER_DEACTIVATE, Action.USER_READ, Action.TARGETS_SET_TENANT,
        Action.PLAN_SCHEDULE, Action.PLAN_COMPLETE, Action.PLAN_COMPLETE_UNIT,
        Action.PERSONAL_DATA_ERASE, Action.PERSONAL_DATA_READ, Action.IMPORT_TENANT_DATA,
    }),
    Role.REVIEWER: frozenset({
        *_SCOPE_READER,
        Action.MODEL_REGISTER, Action.MODEL_AMEND, Action.MODEL_SUBMIT,
        Action.MODEL_RETURN, Action.MODEL_REJECT, Action.MODEL_ACCEPT,
        Action.MODEL_COPY_RECEIVED, Action.MODEL_INSPECTION, Action.MODEL_EVALUATION,
        Action.MODEL_PROPOSAL, Action.MODEL_DISCONTINUATION, Action.MODEL_MAINTENANCE,
        Action.PLAN_COMPLETE, Action.PLAN_COMPLETE_UNIT, Action.PERSONAL_DATA_READ,
    }),
    Role.APPROVER: frozenset({
        *_SCOPE_READER,
        Action.LIST_APPROVE, Action.MODEL_RECOGNITION_TENANT, Action.MODEL_NOMINATION,
        Action.MODEL_REVOCATION_TENANT, Action.PERSONAL_DATA_READ,
    }),
    Role.UNIT_USER: frozenset({
        *_EVERY_READER,
        Action.MODEL_REGISTER, Action.MODEL_AMEND, Action.MODEL_SUBMIT,
        Action.MODEL_PROGRESS, Action.MODEL_SELF_ASSESSMENT, Action.PLAN_COMPLETE_UNIT,
    }),
}

UNIT_SCOPED_ROLES: frozenset[str] = frozenset({Role.UNIT_USER})
"""Roles that act only on their own unit's models (and their unit's part of a plan task)."""


def may(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action`` in a scope it holds."""
    try:
        return Action(action) in POLICY[Role(role)]
    except ValueError:
        return False


def roles_allowed(action: str) -> frozenset[str]:
    return frozenset(r.value for r, actions in POLICY.items() if Action(action) in actions)


# --- scopes ------------------------------------------------------------------------------

PROVINCE_SCOPE_PREFIX = "province:"


def province_scope(province_code: str) -> str:
    """The ``tenant_id`` of a province's own aggregates (its defaults, its users)."""
    return f"{PROVINCE_SCOPE_PREFIX}{province_code}"


def province_of_scope(tenant_id: str) -> str | None:
    """``"15"`` for the province scope ``"province:15"``, else None."""
    if tenant_id.startswith(PROVINCE_SCOPE_PREFIX):
        return tenant_id[len(PROVINCE_SCOPE_PREFIX):]
    return None


@dataclass(frozen=True)
class RoleGrant:
    """A role held in one scope: a province (province roles) or a tenant, maybe one unit."""

    role: str
    province_code: str
    tenant_id: str | None = None
    unit_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoleGrant:
        return cls(role=data["role"], province_code=data["province_code"],
                   tenant_id=data.get("tenant_id"), unit_id=data.get("unit_id"))


def grants_allowing(grants: Iterable[RoleGrant], *actions: str, tenant_id: str | None = None,
                    province_code: str | None = None) -> list[RoleGrant]:
    """The grants that allow one of ``actions`` on a tenant (of ``province_code``, when
    known) or on a province, each once, in the order of ``actions``."""
    if province_code is None and tenant_id is not None:
        province_code = province_of_scope(tenant_id)
    found: list[RoleGrant] = []
    for action in actions:
        for grant in grants:
            if grant in found or not may(grant.role, action):
                continue
            if grant.role in NATIONAL_ROLES:
                found.append(grant)
            elif grant.role in PROVINCE_ROLES:
                if province_code is not None and grant.province_code == province_code:
                    found.append(grant)
            elif tenant_id is not None and grant.tenant_id == tenant_id:
                found.append(grant)
    return found


def province_needed(grants: Iterable[RoleGrant], *actions: str, tenant_id: str) -> bool:
    """Whether no tenant role allows ``actions`` in ``tenant_id`` but a province role might:
    the caller must find the tenant's province and ask ``grants_allowing`` again with it."""
    held = list(grants)
    return (province_of_scope(tenant_id) is None
            and not grants_allowing(held, *actions, tenant_id=tenant_id)
            and any(g.role in PROVINCE_ROLES and may(g.role, a) for g in held for a in actions))


def unit_scope(grants: Iterable[RoleGrant]) -> frozenset[str] | None:
    """The units whose models the holder of ``grants`` (those applying in one tenant) may
    act on or read: None for every unit (any grant not confined to a unit), else the units
    of its unit-scoped grants (empty without any grant)."""
    held = list(grants)
    if not held:
        return frozenset()
    if any(g.role not in UNIT_SCOPED_ROLES for g in held):
        return None
    return frozenset(g.unit_id for g in held if g.unit_id)
