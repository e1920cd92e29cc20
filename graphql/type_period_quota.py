"""A tenant's quota for a multi-year period (e.g. the 2026–2030 term)."""

from __future__ import annotations

import strawberry

from danvan.graphql.enums import QuotaStatus
from danvan.graphql.rows import served_from
from danvan.projections.models.rows import PeriodQuotaRow


@served_from(PeriodQuotaRow)
@strawberry.type(name="PeriodQuota", description=(
    "Chỉ tiêu nhiệm kỳ: models of the period's years recognised at each level (not revoked) "
    "and models maintained into a year of the period, against the period's targets (those "
    "set with PUT …/period-targets, else the term's defaults: 10, 2 and 70 for a commune, "
    "ward or special zone)."))
class PeriodQuotaType:
    start: int
    end: int
    recognized_tenant_level: int
    recognized_tenant_level_target: int
    recognized_province_level: int
    recognized_province_level_target: int
    maintained_models: int = strawberry.field(
        description="Distinct models maintained into a year of the period.")
    maintained_models_target: int
    targets_set: bool = strawberry.field(
        description="The tenant set targets for this period (else the defaults apply).")
    status: QuotaStatus
    at_risk: bool = strawberry.field(
        description="In progress and, for a target, actual ÷ target below the share of the "
                    "period elapsed at asOf (default now).")
