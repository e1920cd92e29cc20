"""A model's history and its state at a moment, from the event store (the only reads that
touch it: the read models keep the present, the log keeps every step).

``stateAsOf(at)`` folds the model's events whose timestamps are at or before ``at`` (the
repository cannot cut by time, only by version), exactly as loading the aggregate does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "tenant_id", "meta"})


def model_events(store: Any, model_ids: Sequence[str]) -> list[list[Any]]:
    """Each model's domain events in version order (blocking: run on a worker thread)."""
    found: list[list[Any]] = []
    for model_id in model_ids:
        try:
            key = uuid.UUID(model_id)
        except ValueError:
            found.append([])
            continue
        found.append(list(store.events.get(key)))
    return found


def plain(value: Any) -> Any:
    """A JSON-ready copy: decimals, dates, ids and enums as strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | date | datetime | uuid.UUID):
        return value.isoformat() if isinstance(value, date | datetime) else str(value)
    return value


def event_type(event: Any) -> str:
    return type(event).__qualname__


def payload(event: Any) -> dict[str, Any]:
    """The event's own fields (as the audit trail shows them: no envelope)."""
    return {k: plain(v) for k, v in vars(event).items() if k not in ENVELOPE}


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    at: datetime
    type: str
    actor_id: str | None
    actor_role: str | None
    correlation_id: str | None
    causation_id: str | None
    reason: str | None
    payload: dict[str, Any]


def history(events: Sequence[Any]) -> list[HistoryEntry]:
    entries = []
    for e in events:
        meta = getattr(e, "meta", None) or {}
        entries.append(HistoryEntry(
            e.originator_version, e.timestamp, event_type(e), meta.get("actor_id"),
            meta.get("actor_role"), meta.get("correlation_id"), meta.get("causation_id"),
            meta.get("reason"), payload(e)))
    return entries


def state_as_of(events: Sequence[Any], at: datetime) -> Any | None:
    """The aggregate rebuilt from the events stamped at or before ``at`` (None before its
    registration). Events are in version order, and their timestamps never go back."""
    aggregate = None
    for e in events:
        if e.timestamp > at:
            break
        aggregate = e.mutate(aggregate)
    return aggregate
