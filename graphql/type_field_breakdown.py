"""Counts of one field."""

from __future__ import annotations

import strawberry

from danvan.graphql.enums import ModelField
from danvan.graphql.rows import served_from
from danvan.graphql.type_progress import ProgressType
from danvan.projections.models.rows import FieldBreakdown


@served_from(FieldBreakdown)
@strawberry.type(name="FieldBreakdown")
class FieldBreakdownType:
    field: ModelField
    new_models: int
    recognized_tenant_level: int
    recognized_province_level: int
    progress: ProgressType
