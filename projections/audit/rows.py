"""Rows of the audit read model (``reading.row``: the fields are the SELECT list of the
readers' view ``audit_log``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from danvan.projections.reading import column, row


@row
class AuditEntry:
    position: int
    tenant_id: str
    aggregate_id: str = column("aggregate_id::text")
    aggregate_type: str
    type: str
    version: int
    at: datetime
    actor_id: str | None
    actor_role: str | None
    correlation_id: str | None
    causation_id: str | None
    request_id: str | None
    reason: str | None
    payload: dict[str, Any]
    hash: bytes
    prev_hash: bytes


@row
class EncodedEntry:
    """An event as the JSON text of a reader's selection, which the query built
    (``graphql/encoded.py``); None where the database could not encode it exactly."""

    position: int
    json: str | None
    size: int | None
    """The text's length in UTF-8 bytes."""


@row
class SealedPerson:
    """An individual exemplar's details as its registration recorded them: sealed (the key's
    id and the token; the personal-data vault opens them)."""

    model_id: str = column("aggregate_id::text")
    key_id: str = column("payload ->> 'person_key_id'")
    token: str = column("payload ->> 'person_token'")
