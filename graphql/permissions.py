"""Permission classes: each asks the one policy table (``domain.policies``) through ``Access``.

A refused field answers ``null`` with a ``FORBIDDEN`` error. The tenant's province (needed
when a province role asks) comes from the per-request tenant loader, so checking many rows
costs one query; once found it is kept for the process: a tenant's province is part of its
identity (``Tenant.id_for``), so it never changes, and knowing it grants nothing by itself.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from danvan.domain.policies import Action, province_needed, province_of_scope
from danvan.graphql import inputs
from danvan.graphql.context import Info
from danvan.graphql.errors import FORBIDDEN


async def tenant_province(info: Info, tenant_id: str) -> str | None:
    """The tenant's province code (``province:15`` is province 15's own scope), or None
    when there is no such tenant, as far as the caller's scope shows. Only the access check
    asks: a province code found once by a caller in another scope grants nothing to one
    who holds no role in that province."""
    code = province_of_scope(tenant_id) or _provinces.get(tenant_id)
    if code is not None:
        return code
    ref = await info.context.loaders.tenant.load(tenant_id)
    if ref is None:
        return None
    if len(_provinces) >= MAX_KEPT:
        _provinces.clear()
    code = _provinces[tenant_id] = str(ref.province_code)
    return code


MAX_KEPT = 50_000
"""Tenants whose province is kept (the country has 3,321 communes and wards)."""
_provinces: dict[str, str] = {}


async def may_in_tenant(info: Info, action: str, tenant_id: str) -> bool:
    access = info.context.access
    if access.may(action, tenant_id=tenant_id):
        return True  # a tenant role there: no lookup needed
    if not province_needed(access.grants_held, action, tenant_id=tenant_id):
        return False
    province = await tenant_province(info, tenant_id)
    return province is not None and access.may(action, tenant_id=tenant_id,
                                               province_code=province)


def only(*permissions: BasePermission) -> list[FieldExtension]:
    """A field's extensions that refuse it unless the caller has ``permissions``."""
    return [PermissionExtension(list(permissions), use_directives=False)]


class _Refusal(BasePermission):
    message = "not allowed to read this"
    error_extensions = {"code": FORBIDDEN}  # noqa: RUF012


class ReadsProvince(_Refusal):
    message = "not allowed to read this province"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.access.may_read_province(str(kwargs["code"]))


class ReadsAuditTrail(_Refusal):
    """Inspectors of the tenant (those created in it) and its province's admins."""

    message = "not allowed to read this tenant's audit trail"

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        tenant_id = inputs.identifier(kwargs["tenant_id"], "tenantId")  # before any lookup
        return await may_in_tenant(info, Action.AUDIT_READ, tenant_id)


class ReadsPersonalData(_Refusal):
    """Roles holding ``PERSONAL_DATA_READ`` in the model's tenant (or its province)."""

    message = "not allowed to read personal data in this tenant"

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return await may_in_tenant(info, Action.PERSONAL_DATA_READ, str(source.tenant_id))
