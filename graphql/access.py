"""What the caller may read, from its role grants and the one policy table.

    access = Access(principal)                      # the token's Principal (request.user)
    access.may("tenant.read", tenant_id=t.id, province_code=t.province_code)
    access.unit_scope(t.id, t.province_code)        # None: whole tenant; else its units

Rules (DESIGN §4, API.md "Who reads"): a tenant role applies in its own tenant, a province
role in its province and every tenant of it, a national role (``national_analyst``) in every
province; an inspector is a tenant role of the tenants it was created in; a unit user reads
only its unit's models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from danvan.domain.policies import (
    NATIONAL_ROLES,
    PROVINCE_ROLES,
    TENANT_ROLES,
    Action,
    RoleGrant,
    grants_allowing,
    may,
    unit_scope,
)


class Caller(Protocol):
    """Who calls (``backend.auth.tokens.Principal`` fits)."""

    @property
    def user_id(self) -> str: ...

    @property
    def grants(self) -> Sequence[RoleGrant]: ...


@dataclass(frozen=True)
class Access:
    caller: Caller
    every_province: Sequence[str] = ()
    """Every province's code (the catalogue's): what a national role reads."""
    _read: tuple[RoleGrant, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        read = tuple(g for g in self.caller.grants if may(g.role, Action.TENANT_READ))
        object.__setattr__(self, "_read", read)

    @property
    def user_id(self) -> str:
        return self.caller.user_id

    @property
    def grants_held(self) -> Sequence[RoleGrant]:
        return self.caller.grants

    def grants(self, action: str, *, tenant_id: str | None = None,
               province_code: str | None = None) -> list[RoleGrant]:
        """Grants allowing ``action`` on a tenant (of ``province_code``) or on a province."""
        return grants_allowing(self.caller.grants, action, tenant_id=tenant_id,
                               province_code=province_code)

    def may(self, action: str, *, tenant_id: str | None = None,
            province_code: str | None = None) -> bool:
        return bool(self.grants(action, tenant_id=tenant_id, province_code=province_code))

    @property
    def national(self) -> bool:
        """Whether a national role lets the caller read every province."""
        return any(g.role in NATIONAL_ROLES for g in self._read)

    def may_read_province(self, code: str) -> bool:
        return self.national or any(g.role in PROVINCE_ROLES and g.province_code == code
                                    for g in self._read)

    def holds_tenant_role(self, tenant_id: str) -> bool:
        """Whether a tenant role (no province lookup needed) lets the caller read it."""
        return any(g.tenant_id == tenant_id and g.role in TENANT_ROLES for g in self._read)

    def unit_scope(self, tenant_id: str, province_code: str | None) -> frozenset[str] | None:
        """The units whose models the caller may read in this tenant: None for all of them
        (any grant that is not unit-scoped), else the units of its unit-scoped grants (none
        at all without a grant)."""
        return unit_scope(self.grants(Action.TENANT_READ, tenant_id=tenant_id,
                                      province_code=province_code))

    def province_codes(self) -> tuple[str, ...]:
        """Provinces read whole (province roles; every province for a national role), in
        order."""
        if self.national:
            return tuple(sorted(self.every_province))
        return tuple(sorted({g.province_code for g in self._read
                             if g.role in PROVINCE_ROLES}))

    def tenant_ids(self) -> tuple[str, ...]:
        """Tenants read through tenant roles, in order."""
        return tuple(sorted({g.tenant_id for g in self._read
                             if g.role in TENANT_ROLES and g.tenant_id}))
