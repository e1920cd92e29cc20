"""An entry of the recognition registry."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from danvan.graphql.enums import ModelField, RecognitionLevel
from danvan.graphql.rows import served_from
from danvan.projections.models.rows import RecognitionRow


@served_from(RecognitionRow)
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
