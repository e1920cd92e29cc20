"""The one table of which role may do what. Guards and GraphQL permissions both ask it."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PROVINCE_ADMIN = "province_admin"
    PROVINCE_ANALYST = "province_analyst"
    INSPECTOR = "inspector"
    TENANT_ADMIN = "tenant_admin"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    UNIT_USER = "unit_user"


ROLES: frozenset[str] = frozenset(r.value for r in Role)
PROVINCE_ROLES: frozenset[str] = frozenset({Role.PROVINCE_ADMIN, Role.PROVINCE_ANALYST})
TENANT_ROLES: frozenset[str] = ROLES - PROVINCE_ROLES


class Action(StrEnum):
    TENANT_ONBOARD = "tenant.onboard"
    TENANT_READ = "tenant.read"
    UNIT_ADD = "unit.add"
    UNIT_CLOSE = "unit.close"
    USER_CREATE = "user.create"
    INSPECTOR_CREATE = "user.create_inspector"
    TARGETS_SET_PROVINCE = "targets.set_province"
    TARGETS_SET_TENANT = "targets.set_tenant"
    LIST_APPROVE = "list.approve"
    PLAN_SCHEDULE = "plan.schedule"
    PLAN_COMPLETE = "plan.complete"
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


_EVERY_READER = {Action.TENANT_READ}

POLICY: dict[Role, frozenset[Action]] = {
    Role.PROVINCE_ADMIN: frozenset({
        *_EVERY_READER,
        Action.TENANT_ONBOARD, Action.USER_CREATE, Action.INSPECTOR_CREATE,
        Action.TARGETS_SET_PROVINCE, Action.TARGETS_SET_TENANT,
        Action.MODEL_RECOGNITION_PROVINCE, Action.MODEL_REVOCATION_PROVINCE,
        Action.PERSONAL_DATA_ERASE, Action.PERSONAL_DATA_READ, Action.AUDIT_READ,
    }),
    Role.PROVINCE_ANALYST: frozenset(_EVERY_READER),
    Role.INSPECTOR: frozenset({*_EVERY_READER, Action.AUDIT_READ}),
    Role.TENANT_ADMIN: frozenset({
        *_EVERY_READER,
        Action.UNIT_ADD, Action.UNIT_CLOSE, Action.USER_CREATE, Action.TARGETS_SET_TENANT,
        Action.PLAN_SCHEDULE, Action.PLAN_COMPLETE,
        Action.PERSONAL_DATA_ERASE, Action.PERSONAL_DATA_READ,
    }),
    Role.REVIEWER: frozenset({
        *_EVERY_READER,
        Action.MODEL_REGISTER, Action.MODEL_AMEND, Action.MODEL_SUBMIT,
        Action.MODEL_RETURN, Action.MODEL_REJECT, Action.MODEL_ACCEPT,
        Action.MODEL_COPY_RECEIVED, Action.MODEL_INSPECTION, Action.MODEL_EVALUATION,
        Action.MODEL_PROPOSAL, Action.MODEL_DISCONTINUATION, Action.MODEL_MAINTENANCE,
        Action.PLAN_COMPLETE, Action.PERSONAL_DATA_READ,
    }),
    Role.APPROVER: frozenset({
        *_EVERY_READER,
        Action.LIST_APPROVE, Action.MODEL_RECOGNITION_TENANT, Action.MODEL_NOMINATION,
        Action.MODEL_REVOCATION_TENANT, Action.PERSONAL_DATA_READ,
    }),
    Role.UNIT_USER: frozenset({
        *_EVERY_READER,
        Action.MODEL_REGISTER, Action.MODEL_AMEND, Action.MODEL_SUBMIT,
        Action.MODEL_PROGRESS, Action.MODEL_SELF_ASSESSMENT,
    }),
}

UNIT_SCOPED_ROLES: frozenset[str] = frozenset({Role.UNIT_USER})
"""Roles that act only on their own unit's models."""


def may(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action`` in a scope it holds."""
    try:
        return Action(action) in POLICY[Role(role)]
    except ValueError:
        return False


def roles_allowed(action: str) -> frozenset[str]:
    return frozenset(r.value for r, actions in POLICY.items() if Action(action) in actions)
