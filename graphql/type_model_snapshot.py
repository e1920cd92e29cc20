"""A model as it stood at a moment, rebuilt from its events up to then."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from danvan.graphql.enums import ModelField, ModelKind, ModelState
from danvan.graphql.type_model_form import ModelFormType
from danvan.graphql.type_recognition_decision import RecognitionDecisionType


@strawberry.type(name="ModelSnapshot")
class ModelSnapshotType:
    id: strawberry.ID
    at: datetime = strawberry.field(description="The moment asked for.")
    version: int = strawberry.field(description="Events applied up to that moment.")
    last_event_at: datetime
    tenant_id: strawberry.ID
    unit_id: strawberry.ID
    year: int
    kind: ModelKind
    name: str | None
    field: ModelField | None
    state: ModelState
    vertical_line: bool
    form: ModelFormType
    submitted_ever: bool
    accepted: bool
    passed: bool
    total_score: Decimal | None
    recognitions: list[RecognitionDecisionType]
    list_years: list[int]
    person_erased: bool
