"""Loading one tenant's aggregates, and acting on one under an ``If-Match`` precondition."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from danvan.backend.services.errors import AlreadyExists, NotFound, StaleVersion
from danvan.domain.base import DomainError, InvalidInput, TenantAggregate

A = TypeVar("A", bound=TenantAggregate)
R = TypeVar("R")


def find(store: Application, kind: type[A], aggregate_id: uuid.UUID | str,
         tenant_id: str | None = None) -> A | None:
    """The aggregate if it exists, is a ``kind`` and belongs to ``tenant_id``; else None:
    another tenant's (or another type's) id is simply unknown."""
    try:
        ident = aggregate_id if isinstance(aggregate_id, uuid.UUID) else uuid.UUID(aggregate_id)
        aggregate: object = store.repository.get(ident)
    except (AggregateNotFoundError, ValueError):
        return None
    if not isinstance(aggregate, kind):
        return None
    if tenant_id is not None and aggregate.tenant_id != tenant_id:
        return None
    return aggregate


def load(store: Application, kind: type[A], aggregate_id: uuid.UUID | str,
         tenant_id: str | None = None) -> A:
    """Like ``find``, but an unknown id is ``NotFound``."""
    aggregate = find(store, kind, aggregate_id, tenant_id)
    if aggregate is None:
        raise NotFound()
    return aggregate


def check_version(expected: int | None, current: int) -> None:
    """``StaleVersion`` when the caller expected another version than ``current``."""
    if expected is not None and expected != current:
        raise StaleVersion(expected, current)


def under_if_match(aggregate: TenantAggregate, expected_version: int | None,
                   call: Callable[[], R]) -> R:
    """Runs a domain call in the contract's order of answers: bad input (422) first, then a
    stale ``If-Match`` (412), then a refused transition (409)."""
    before = aggregate.version
    try:
        result = call()
    except InvalidInput:
        raise
    except DomainError:
        check_version(expected_version, before)
        raise
    check_version(expected_version, before)
    return result


def save_new(store: Application, aggregate: TenantAggregate, already: str) -> None:
    """Stores a created aggregate. Its id derives from its natural key, so the store itself
    refuses a duplicate: ``AlreadyExists`` (``already`` says what exists), no read first."""
    try:
        store.save(aggregate)
    except IntegrityError as exc:
        raise AlreadyExists(already) from exc
