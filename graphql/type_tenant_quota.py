"""A tenant's quota for a year."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from danvan.graphql.enums import QuotaStatus
from danvan.graphql.rows import served_from
from danvan.projections.models.rows import TenantQuota

if TYPE_CHECKING:
    from danvan.graphql.type_tenant import TenantType


@served_from(TenantQuota)
@strawberry.type(name="TenantQuota", description="Chỉ tiêu: counts of the year against the "
                                                 "targets in force, with status and risk.")
class TenantQuotaType:
    tenant: Annotated[TenantType, strawberry.lazy("danvan.graphql.type_tenant")]
    year: int
    new_models: int
    new_models_target: int
    recognized_tenant_level: int
    recognized_tenant_level_target: int
    recognized_province_level: int
    recognized_province_level_target: int
    per_unit_minimum: int
    units_without_registration: int = strawberry.field(
        description="Open units with fewer models of the year submitted than the minimum.")
    maintained_models: int
    discontinued_models: int
    submitted_models: int
    status: QuotaStatus
    at_risk: bool = strawberry.field(
        description="In progress and, for a count target, actual ÷ target below the share "
                    "of the year elapsed at asOf (default now).")
