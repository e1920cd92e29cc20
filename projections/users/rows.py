"""Rows of the users read model (``reading.row``: the fields are the SELECT list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from danvan.projections.reading import column, row


@row
class UserRow:
    """An account as its events left it (``domain.users.User``): ``tenant_id`` is the scope it
    was created in (a tenant, ``province:<code>`` or ``national``); ``grants`` its roles as
    recorded (each ``{role, province_code, tenant_id, unit_id}``); ``unit_id`` the unit of its
    first unit-scoped grant; ``credentials_changed_at`` its latest change of roles, password
    or deactivation."""

    id: str = column("u.user_id::text")
    tenant_id: str
    username: str
    full_name: str
    grants: list[dict[str, Any]]
    unit_id: str | None = column("u.unit_id::text")
    active: bool
    must_change_password: bool
    registered_at: datetime
    deactivated_at: datetime | None
    deactivated_reason: str | None
    credentials_changed_at: datetime | None


@dataclass(frozen=True)
class GrantRow:
    """One role an account holds, as recorded (``domain.policies.RoleGrant``)."""

    role: str
    province_code: str
    tenant_id: str | None = None
    unit_id: str | None = None

    @classmethod
    def of(cls, grant: dict[str, Any]) -> GrantRow:
        return cls(str(grant.get("role", "")), str(grant.get("province_code", "")),
                   grant.get("tenant_id"), grant.get("unit_id"))
