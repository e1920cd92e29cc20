"""One event of a tenant's audit trail: metadata in columns, the event's own fields as
``payload`` (personal data only as its sealed token), and the hash chain links as hex."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from danvan.graphql.encoded import Encoding, row_encoding
from danvan.graphql.execution import row_resolver
from danvan.graphql.rows import served_from
from danvan.graphql.type_actor import ActorType
from danvan.projections.audit.rows import AuditEntry


@row_resolver
def _actor(root: AuditEntry) -> ActorType:
    return ActorType(id=strawberry.ID(root.actor_id) if root.actor_id else None,
                     role=root.actor_role)


@row_resolver
def _hash(root: AuditEntry) -> str:
    return bytes(root.hash).hex()


@row_resolver
def _prev_hash(root: AuditEntry) -> str:
    return bytes(root.prev_hash).hex()


@served_from(AuditEntry)
@strawberry.type(name="AuditEvent")
class AuditEventType:
    position: int = strawberry.field(description="The global order of the log.")
    tenant_id: strawberry.ID
    aggregate_id: strawberry.ID
    aggregate_type: str
    type: str = strawberry.field(description="e.g. Model.Accepted")
    version: int
    at: datetime
    actor: ActorType = strawberry.field(resolver=_actor)
    correlation_id: str | None
    causation_id: str | None
    request_id: str | None
    reason: str | None
    payload: JSON
    hash: str = strawberry.field(resolver=_hash, description="SHA-256, hex.")
    prev_hash: str = strawberry.field(resolver=_prev_hash)


ENCODING = row_encoding(AuditEntry, {
    "actor": Encoding({"id": "NULLIF(actor_id, '')", "role": "actor_role"}),
    "hash": "encode(hash, 'hex')",
    "prev_hash": "encode(prev_hash, 'hex')",
})
"""How PostgreSQL answers an ``AuditEvent`` over ``audit_log``'s columns (``encoded.py``): the
resolvers above, in SQL."""
