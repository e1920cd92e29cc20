"""A recognition in force on a model at some moment (time travel)."""

from __future__ import annotations

import strawberry

from danvan.graphql.enums import RecognitionLevel


@strawberry.type(name="RecognitionDecision")
class RecognitionDecisionType:
    level: RecognitionLevel
    decision_number: str
    decision_date: str
