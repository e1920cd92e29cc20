"""An entry of the recognition registry (``projections.read_registry.RecognitionRow``)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from danvan.graphql.enums import ModelField, RecognitionLevel


@strawberry.type(name="Recognition", description="A recognition decision and, if it was "
                                                 "revoked, when and why.")
class RecognitionType:
    position: int
    model_id: strawberry.ID
    model_name: str
    year: int
    field: ModelField | None
    level: RecognitionLevel
    decision_number: str
    decision_date: date
    recognized_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
