"""What every aggregate of danvan shares: the command context, event metadata, errors.

Time, identity and the actor arrive on the command (``Context``); aggregates never read a
clock or invent an ID. Every event carries ``tenant_id`` at the top of its stored state
(the store's hash chain and the audit log key on it) and ``meta``, a flat mapping of strings.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

NAMESPACE = uuid.UUID("9b0c5a64-5d1e-4f0e-8f57-7f1c2d6a9e10")
"""Root namespace for deterministic aggregate IDs (uuid5 of tenant plus natural key)."""


def derive_id(*parts: object) -> uuid.UUID:
    """A stable aggregate ID from its natural key, so a duplicate create collides in the store."""
    key = "\x1f".join(normalize_key(str(p)) for p in parts)
    return uuid.uuid5(NAMESPACE, key)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def normalize_key(text: str) -> str:
    """NFC, case-folded, inner white space collapsed: how names compare for identity."""
    return " ".join(nfc(text).casefold().split())


class DomainError(Exception):
    """A refused command. ``code`` is stable and machine-readable; ``member`` names the input."""

    code = "domain_error"

    def __init__(self, message: str, *, member: str | None = None, code: str | None = None,
                 params: dict[str, object] | None = None):
        super().__init__(message)
        self.message = message
        self.member = member
        self.params = dict(params or {})
        """Values a translated message may quote (e.g. the action and the current state)."""
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid_input"

    def __init__(self, errors: dict[str, str]):
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1]}", member=first[0])
        self.errors = errors


class IllegalTransition(DomainError):
    code = "illegal_transition"


class NotPermitted(DomainError):
    code = "not_permitted"


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str


@dataclass(frozen=True)
class Context:
    """Who asks, for which tenant, when, and under which correlation."""

    tenant_id: str
    actor: Actor
    at: datetime
    correlation_id: str
    causation_id: str | None = None
    request_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Context.at must be timezone-aware")

    def meta(self, reason: str | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "actor_id": self.actor.user_id,
            "actor_role": self.actor.role,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "request_id": self.request_id,
        }
        if reason is not None:
            meta["reason"] = reason
        meta.update(self.extra)
        return meta


class TenantAggregate(Aggregate):
    """Base for every danvan aggregate: it belongs to one tenant (or a province for defaults)."""

    tenant_id: str

    class Event(Aggregate.Event):
        tenant_id: str
        meta: dict[str, Any]

    class Created(Event, Aggregate.Created):
        pass

    def _emit(self, event_class: type[Aggregate.Event], ctx: Context, reason: str | None = None,
              **fields: Any) -> None:
        self.trigger_event(event_class, tenant_id=self.tenant_id, meta=ctx.meta(reason),
                           timestamp=ctx.at, **fields)
