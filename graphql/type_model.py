"""A model (mô hình) or individual exemplar (điển hình): the registry's row, its form, its
unit and tenant, the person (for roles allowed), its history and its state at any moment."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from danvan.graphql.enums import ModelField, ModelKind, ModelState, RecognitionLevel
from danvan.graphql.permissions import ReadsPersonalData, only
from danvan.graphql.resolve_model import (
    resolve_form,
    resolve_history,
    resolve_person,
    resolve_state_as_of,
    resolve_tenant_of,
    resolve_unit,
)
from danvan.graphql.rows import served_from
from danvan.projections.models.rows import ModelSummary


@served_from(ModelSummary)
@strawberry.type(name="Model")
class ModelType:
    id: strawberry.ID
    tenant_id: strawberry.ID
    unit_id: strawberry.ID
    year: int = strawberry.field(description="The registration's year: counts belong to it.")
    kind: ModelKind
    name: str
    field: ModelField | None
    state: ModelState
    vertical_line: bool = strawberry.field(
        description="Registered by a unit reporting to its own chain of command.")
    registered_at: datetime
    submitted_at: datetime | None
    accepted_at: datetime | None
    copy_received_at: datetime | None
    discontinued_at: datetime | None
    evaluation_total: Decimal | None
    passed: bool
    person_erased: bool
    list_years: list[int]
    recognized_levels: list[RecognitionLevel]
    version: int
    updated_at: datetime
    form = strawberry.field(resolver=resolve_form)
    unit = strawberry.field(resolver=resolve_unit)
    tenant = strawberry.field(resolver=resolve_tenant_of)
    person = strawberry.field(
        resolver=resolve_person,
        extensions=only(ReadsPersonalData()),
        description="The exemplar's details (null for a collective model); only for roles "
                    "that may read personal data in this tenant.")
    history = strawberry.field(resolver=resolve_history)
    state_as_of = strawberry.field(resolver=resolve_state_as_of)
