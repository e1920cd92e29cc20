"""Counts of one field (``projections.read_quota.FieldBreakdown``)."""

from __future__ import annotations

import strawberry

from danvan.graphql.enums import ModelField
from danvan.graphql.type_progress import ProgressType


@strawberry.type(name="FieldBreakdown")
class FieldBreakdownType:
    field: ModelField
    new_models: int
    recognized_tenant_level: int
    recognized_province_level: int
    progress: ProgressType
