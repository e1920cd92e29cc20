"""A model's history and its state at a moment, from the event store (the only reads that
touch it: the read models keep the present, the log keeps every step).

Both read the model's stored events in one statement (``store.streams``). ``history`` shows
them as the library decodes them (``store.mapper``). ``stateAsOf(at)`` folds those whose
timestamps are at or before ``at`` (the repository cannot cut by time, only by version) with
the domain's ``evolve``, the very function the aggregate applies, over the events decoded as
the projections decode them (``projections.event_types``: typed, upcast to the current class
version, renamed topics followed): what loading the aggregate at that version gives, several
times cheaper than building the library's event objects and aggregate.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from eventsourcing.persistence import StoredEvent

from danvan.domain.model import Lifecycle, evolve
from danvan.projections.event_types import decodings
from danvan.projections.events import decode_row
from danvan.projections.models.fold import MODEL_EVENTS

ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "tenant_id", "meta"})


Stream = list[tuple[int, uuid.UUID, int, str, bytes]]
"""A model's stored events in version order: ``(position, model id, version, topic, state)``
(``infra.event_store.StreamRow``)."""


def model_events(store: Any, model_ids: Sequence[str]) -> list[Stream]:
    """Each model's stored events in version order, one statement for all of them
    (blocking: run on a worker thread)."""
    keys: dict[str, uuid.UUID] = {}
    for model_id in model_ids:
        try:
            keys[model_id] = uuid.UUID(model_id)
        except ValueError:
            continue
    streams: dict[uuid.UUID, Stream] = {key: [] for key in keys.values()}
    if streams:
        for row in store.streams(list(streams)):
            streams[row[1]].append(row)
    return [streams[keys[m]] if m in keys else [] for m in model_ids]


def domain_events(store: Any, stream: Stream) -> list[Any]:
    """The stream's events as the library decodes them (its event objects)."""
    to_domain_event = store.mapper.to_domain_event
    return [to_domain_event(StoredEvent(originator_id=model_id, originator_version=version,
                                        topic=topic, state=state))
            for _, model_id, version, topic, state in stream]


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


@dataclass(frozen=True)
class ModelAsOf:
    """A model as its events up to a moment made it: what ``Model`` loaded at ``version``
    holds (its registration's members and its ``Lifecycle``)."""

    id: uuid.UUID
    version: int
    last_event_at: datetime
    tenant_id: str
    unit_id: str
    year: int
    kind: str
    vertical_line: bool
    lifecycle: Lifecycle


def state_as_of(stream: Stream, at: datetime) -> ModelAsOf | None:
    """The model as its events stamped at or before ``at`` made it (None before its
    registration). Events are in version order, and their timestamps never go back."""
    created: Any = None
    lifecycle: Lifecycle | None = None
    version, last_at = 0, at
    model_id = str(stream[0][1]) if stream else ""
    current = decodings()
    for position, _, stored_version, topic, state in stream:
        try:  # the usual case, a current topic: its decoding alone, no envelope
            decoding = current[topic]
            data = decoding.decode(state)
            topic = decoding.topic
        except Exception:  # a former topic, or a state refused: as the projections read it
            event = decode_row((position, model_id, stored_version, topic, state))
            data, topic = event.data, event.topic  # Undecodable: EventNotDecoded
        stamp = datetime.fromisoformat(data.timestamp._data_)
        if stamp > at:
            break
        if created is None:
            created = data  # Registered or Imported: the members that never change
        lifecycle = evolve(lifecycle, MODEL_EVENTS[topic], data)
        version, last_at = stored_version, stamp
    if lifecycle is None:
        return None
    return ModelAsOf(id=stream[0][1], version=version, last_event_at=last_at,
                     tenant_id=created.tenant_id, unit_id=created.unit_id, year=created.year,
                     kind=created.kind, vertical_line=created.vertical_line,
                     lifecycle=lifecycle)
