"""The read models' rows serve the GraphQL types as they are: every field a type declares
without a resolver must be an attribute of the row class it is served from."""

from __future__ import annotations

import dataclasses

import pytest
from strawberry.types.base import get_object_definition

from danvan.graphql.type_audit_event import AuditEventType
from danvan.graphql.type_field_breakdown import FieldBreakdownType
from danvan.graphql.type_model import ModelType
from danvan.graphql.type_plan_task import PlanTaskType
from danvan.graphql.type_progress import ProgressType
from danvan.graphql.type_province_summary import ProvinceSummaryType
from danvan.graphql.type_recognition import RecognitionType
from danvan.graphql.type_tenant import TenantType
from danvan.graphql.type_tenant_quota import TenantQuotaType
from danvan.graphql.type_unit import UnitType
from danvan.projections.read_audit import AuditEntry
from danvan.projections.read_quota import (
    FieldBreakdown,
    Progress,
    ProvinceSummary,
    TenantQuota,
    TenantRef,
)
from danvan.projections.read_registry import ModelSummary, PlanTaskRow, RecognitionRow, UnitRow


@pytest.mark.parametrize(("graphql_type", "row"), [
    (TenantQuotaType, TenantQuota), (ProvinceSummaryType, ProvinceSummary),
    (FieldBreakdownType, FieldBreakdown), (ProgressType, Progress), (TenantType, TenantRef),
    (UnitType, UnitRow), (ModelType, ModelSummary), (RecognitionType, RecognitionRow),
    (PlanTaskType, PlanTaskRow), (AuditEventType, AuditEntry)])
def test_each_plain_field_is_an_attribute_of_its_row(graphql_type: type, row: type) -> None:
    definition = get_object_definition(graphql_type, strict=True)
    attributes = {f.name for f in dataclasses.fields(row)}
    plain = [f.python_name for f in definition.fields if f.base_resolver is None]
    missing = [name for name in plain if name not in attributes]
    assert not missing, f"{graphql_type.__name__} fields not on {row.__name__}: {missing}"
