"""Resolvers of the inspector's tools: ``auditTrail`` (a tenant's events by position, from the
audit read model) and ``verifyAuditChain`` (the tenant's hash chain recomputed). Both need
``AUDIT_READ`` in the tenant (``permissions.ReadsAuditTrail``)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, cast

import strawberry

from danvan.domain.limits import MAX_CODE
from danvan.graphql import inputs
from danvan.graphql.context import Info
from danvan.graphql.encoded_connection import connection_json
from danvan.graphql.errors import BadInput, Unavailable
from danvan.graphql.limits import DEFAULT_PAGE, check_page
from danvan.graphql.type_audit_event import ENCODING, AuditEventType
from danvan.graphql.type_chain_verification import AuditChainVerificationType
from danvan.graphql.type_connection import (
    Connection,
    asks_total_count,
    connection,
    encoded_connection,
)
from danvan.projections.audit.read import audit_trail
from danvan.projections.audit.rows import EncodedEntry
from danvan.projections.paging import BadCursor


async def resolve_audit_trail(
        info: Info, tenant_id: strawberry.ID,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None, actor: strawberry.ID | None = None,
        aggregate_id: strawberry.ID | None = None, type: str | None = None,
        first: int = DEFAULT_PAGE, after: str | None = None
) -> Connection[AuditEventType] | None:
    """The tenant's events oldest first (``from`` inclusive, ``to`` exclusive); ``type`` is
    an event type (``Model.Accepted``) or an aggregate type (``Model``)."""
    check_page(first)
    tenant = inputs.identifier(tenant_id, "tenantId")
    since, until = inputs.optional_moment(from_, "from"), inputs.optional_moment(to, "to")
    actor_id = inputs.identifier(actor, "actor") if actor else None
    aggregate = inputs.optional_uuid_id(aggregate_id, "aggregateId")
    type_ = inputs.text(type, "type", MAX_CODE)
    # The nodes as JSON text the database builds for the query's selection, and the page
    # around them as one text, when the answer is encoded with msgspec (POST /graphql): no
    # Python per node (encoded.py, encoded_connection.py).
    encoded = connection_json(info, ENCODING) if info.context.raw_json else None
    try:
        page = await info.context.reader.run(
            audit_trail, tenant, from_=since, to=until, actor_id=actor_id,
            aggregate_id=aggregate, type_=type_, first=first, after=inputs.cursor(after),
            count=encoded.counts if encoded else asks_total_count(info),
            node_json=encoded.node_sql if encoded else None)
    except BadCursor as exc:
        raise BadInput(str(exc)) from exc
    if encoded is not None and page.items and isinstance(page.items[0], EncodedEntry):
        text = encoded.render(page)
        return cast(Connection[AuditEventType], text) if text is not None \
            else encoded_connection(page)
    return connection(page)


async def resolve_verify_audit_chain(info: Info, tenant_id: strawberry.ID
                                     ) -> AuditChainVerificationType | None:
    """Recompute the tenant's hash chain from the event store's rows and check its head and
    seals: ``ok``, how many events, and the first position where it breaks."""
    verify = info.context.sources.verify_chain
    if verify is None:
        raise Unavailable("audit chain verification is not available")
    verdict = await asyncio.to_thread(verify, inputs.identifier(tenant_id, "tenantId"))
    return AuditChainVerificationType(
        tenant_id=tenant_id, ok=verdict.ok, events_checked=verdict.events_checked,
        first_broken_position=verdict.first_broken_position,
        last_position=verdict.last_position, head_position=verdict.head_position,
        seals_checked=verdict.seals_checked, seals_unverified=verdict.seals_unverified,
        problems=list(verdict.problems), warnings=list(verdict.warnings))
