"""A tenant: a commune, ward, special zone or provincial agency taking part in the movement."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, TenantAggregate, derive_id
from danvan.domain.limits import MAX_NAME, MAX_PROVINCE_CODE, MAX_TENANT_CODE
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import OnboardTenant


class TenantKind(StrEnum):
    COMMUNE = "commune"
    WARD = "ward"
    SPECIAL_ZONE = "special_zone"
    AGENCY = "agency"


LOCAL_KINDS = frozenset({TenantKind.COMMUNE, TenantKind.WARD, TenantKind.SPECIAL_ZONE})


class Tenant(TenantAggregate):
    code: str
    name: str
    kind: str
    province_code: str

    @staticmethod
    def id_for(kind: str, province_code: str, code: str) -> uuid.UUID:
        if kind == TenantKind.AGENCY:
            return derive_id("tenant", province_code, "agency", code)
        return derive_id("tenant", code)

    class Onboarded(TenantAggregate.Created):
        code: str
        name: str
        kind: str
        province_code: str

    @classmethod
    def onboard(cls, ctx: Context, command: OnboardTenant) -> Tenant:
        errors = Errors()
        kind_ = command.kind
        code_ = errors.text("code", command.code, max_length=MAX_TENANT_CODE)
        name_ = errors.text("name", command.name, max_length=MAX_NAME)
        province_ = errors.text("province_code", command.province_code,
                                max_length=MAX_PROVINCE_CODE)
        if code_ and kind_ in LOCAL_KINDS and not (code_.isdigit() and len(code_) == 5):
            errors.add("code", "must be the 5-digit official unit code")
        if province_ and not province_.isdigit():
            errors.add("province_code", "must be the official province code")
        errors.raise_if_any()
        assert code_ and name_ and kind_ and province_
        tenant_id = cls.id_for(kind_, province_, code_)
        return cls._create(cls.Onboarded, id=tenant_id, tenant_id=str(tenant_id),
                           meta=ctx.meta(), timestamp=ctx.at, code=code_, name=name_,
                           kind=kind_.value, province_code=province_)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], code: str, name: str,
                 kind: str, province_code: str) -> None:
        self.tenant_id = tenant_id
        self.code = code
        self.name = name
        self.kind = kind
        self.province_code = province_code
