"""A province's totals for a year; every count
is the sum of the province's quota rows."""

from __future__ import annotations

import strawberry

from danvan.graphql.rows import served_from
from danvan.graphql.type_field_breakdown import FieldBreakdownType
from danvan.graphql.type_progress import ProgressType
from danvan.projections.models.rows import ProvinceSummary


@served_from(ProvinceSummary)
@strawberry.type(name="ProvinceSummary")
class ProvinceSummaryType:
    province_code: str
    year: int
    tenant_count: int = strawberry.field(description="Tenants onboarded, of every kind.")
    new_models: int = strawberry.field(
        description="Models of the year whose registration was accepted.")
    recognized_tenant_level: int
    recognized_province_level: int
    maintained_models: int
    tenants_met: int
    tenants_at_risk: int
    by_field: list[FieldBreakdownType]
    progress: ProgressType
