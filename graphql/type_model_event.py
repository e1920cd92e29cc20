"""One event of a model's history, read from the event store (``store.events``)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from danvan.graphql.type_actor import ActorType


@strawberry.type(name="ModelEvent", description="What happened to a model, by whom and "
                                                "why; the payload holds no personal data "
                                                "(an exemplar's details only as a sealed "
                                                "token).")
class ModelEventType:
    version: int
    at: datetime
    type: str
    actor: ActorType
    correlation_id: str | None
    causation_id: str | None
    reason: str | None
    payload: JSON
