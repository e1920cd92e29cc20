"""Resolvers of the inspector's tools: ``auditTrail`` (a tenant's events by position, from the
audit read model) and ``verifyAuditChain`` (the tenant's hash chain recomputed). Both need
``AUDIT_READ`` in the tenant (``permissions.ReadsAuditTrail``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, cast

import msgspec
import strawberry

from danvan.domain.limits import MAX_CODE
from danvan.graphql import inputs
from danvan.graphql.context import Info
from danvan.graphql.encoded_connection import ConnectionJson, connection_json
from danvan.graphql.errors import Unavailable
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
from danvan.projections.audit.rows import AuditEntry, EncodedEntry
from danvan.projections.paging import MAX_BATCH, BadCursor, Page

STREAM_BATCH = MAX_BATCH
"""Events read at a time for the ``auditTrail`` subscription (the queries' pages stop at 100)."""
MESSAGE_BUDGET = 512 * 1024
"""Bytes in a message of the subscription (an event larger than that goes alone). Half the
smallest default a common client sets (Python's ``websockets``: ``max_size`` 1 MiB), so that
an estimate a little short (``_node_size``, for nodes graphql-core answers) still gets
through; at some 500 events a message, what a message costs beyond its events stays small."""
ENVELOPE = 1024
"""Of the budget, for the message around the edges: its id and type, ``pageInfo``,
``totalCount``, the field names."""
EDGE = 64
"""An edge's text around its node, for nodes graphql-core answers: ``{"node":``,
``,"cursor":"…"}`` (some 30 bytes), a comma. Where the database encodes the connection, the
edge the query selects is measured instead (``ConnectionJson.item_bytes``)."""
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class TrailQuestion:
    """The trail's filters as the caller gave them, checked."""

    tenant_id: str
    since: datetime | None
    until: datetime | None
    actor_id: str | None
    aggregate_id: str | None
    type_: str | None

    @classmethod
    def checked(cls, tenant_id: strawberry.ID, from_: datetime | None, to: datetime | None,
                actor: strawberry.ID | None, aggregate_id: strawberry.ID | None,
                type: str | None) -> TrailQuestion:
        return cls(tenant_id=inputs.identifier(tenant_id, "tenantId"),
                   since=inputs.optional_moment(from_, "from"),
                   until=inputs.optional_moment(to, "to"),
                   actor_id=inputs.identifier(actor, "actor") if actor else None,
                   aggregate_id=inputs.optional_uuid_id(aggregate_id, "aggregateId"),
                   type_=inputs.text(type, "type", MAX_CODE))


async def read_trail(info: Info, question: TrailQuestion, first: int, after: str | None
                     ) -> tuple[Page[Any], ConnectionJson | None]:
    """One page of the trail, and how its connection is encoded (None: graphql-core answers
    its nodes)."""
    # The nodes as JSON text the database builds for the query's selection, and the page
    # around them as one text, when the answer is encoded with msgspec (POST /graphql, the
    # subscriptions): no Python per node (encoded.py, encoded_connection.py).
    encoded = connection_json(info, ENCODING) if info.context.raw_json else None
    try:
        page = await info.context.reader.run(
            audit_trail, question.tenant_id, from_=question.since, to=question.until,
            actor_id=question.actor_id, aggregate_id=question.aggregate_id,
            type_=question.type_, first=first, after=inputs.cursor(after),
            count=encoded.counts if encoded else asks_total_count(info),
            node_json=encoded.node_sql if encoded else None)
    except BadCursor as exc:
        raise inputs.bad_cursor(exc) from exc
    return page, encoded


def answered(page: Page[Any], encoded: ConnectionJson | None) -> Connection[AuditEventType]:
    """The connection that answers ``page``: one text if the database encoded its nodes."""
    if encoded is not None and page.items and isinstance(page.items[0], EncodedEntry):
        text = encoded.render(page)
        return (cast(Connection[AuditEventType], text) if text is not None
                else encoded_connection(page))
    return connection(page)


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
    question = TrailQuestion.checked(tenant_id, from_, to, actor, aggregate_id, type)
    return answered(*await read_trail(info, question, first, after))


async def stream_audit_trail(
        info: Info, tenant_id: strawberry.ID,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None, actor: strawberry.ID | None = None,
        aggregate_id: strawberry.ID | None = None, type: str | None = None,
        after: str | None = None) -> AsyncGenerator[Connection[AuditEventType], None]:
    """The trail from ``after`` to its end, read ``STREAM_BATCH`` events at a time and sent
    in messages of at most ``MESSAGE_BUDGET`` bytes (``within_budget``), each message a page
    of the query's connection (its ``endCursor`` resumes a dropped stream). The first batch is
    read before the stream starts, so that a bad argument refuses the subscription; each next
    one while the one before is sent."""
    question = TrailQuestion.checked(tenant_id, from_, to, actor, aggregate_id, type)
    return _messages(info, question, await _batch(info, question, after))


async def _batch(info: Info, question: TrailQuestion, after: str | None
                 ) -> tuple[Page[Any], list[Connection[AuditEventType]]]:
    """The next batch of the trail, and the messages that send it."""
    page, encoded = await read_trail(info, question, STREAM_BATCH, after)
    parts = within_budget(page, _item_bytes(page, encoded))
    return page, [answered(part, encoded) for part in parts]


async def _messages(info: Info, question: TrailQuestion,
                    opening: tuple[Page[Any], list[Connection[AuditEventType]]]
                    ) -> AsyncGenerator[Connection[AuditEventType], None]:
    page, messages = opening
    while True:
        reading = asyncio.ensure_future(_batch(info, question, page.end_cursor)) \
            if page.has_next_page else None
        try:
            for message in messages:
                yield message
            if reading is None:
                return
            page, messages = await reading
        finally:
            if reading is not None:
                _let_go(reading)


def _let_go(reading: asyncio.Future[Any]) -> None:
    """A read ahead the stream no longer waits for: cancelled (its statement with it,
    ``Reader.run``), or if it failed, its exception retrieved (else asyncio logs it)."""
    if not reading.done():
        reading.cancel()
    elif not reading.cancelled():
        reading.exception()


ItemBytes = Callable[[int], int]
"""What an item adds to a message, in bytes, given its node's."""


def _with_estimated_edge(node: int) -> int:
    return node + EDGE


def within_budget(page: Page[Any], item_bytes: ItemBytes = _with_estimated_edge
                  ) -> Iterator[Page[Any]]:
    """``page`` as consecutive pages of at most ``MESSAGE_BUDGET`` bytes each once sent, but
    never fewer than one event a message."""
    budget = MESSAGE_BUDGET - ENVELOPE
    start, used = 0, 0
    for index, item in enumerate(page.items):
        size = item_bytes(_node_size(item))
        if used + size > budget and index > start:
            yield page.part(start, index)
            start, used = index, 0
        used += size
    yield page if start == 0 else page.part(start, len(page.items))


def _item_bytes(page: Page[Any], encoded: ConnectionJson | None) -> ItemBytes:
    """Exact for the text the database encodes: the edge the query selects, around the node,
    with the page's last cursor (the longest: positions only grow); else the node and
    ``EDGE``."""
    if encoded is None or not page.items or not isinstance(page.items[0], EncodedEntry):
        return _with_estimated_edge
    around, nodes = encoded.item_bytes(page.cursors[-1])
    return lambda node: around + nodes * node


def _node_size(item: EncodedEntry | AuditEntry) -> int:
    if isinstance(item, EncodedEntry):
        return item.size or 0
    # graphql-core answers it: its row's JSON names and spells the fields about as the node
    # does (longer names, actor's two columns), but for the hashes, hex where the row's are
    # base64: a byte more for each of theirs covers it
    return len(_encode(item)) + len(item.hash) + len(item.prev_hash)



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
