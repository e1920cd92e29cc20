"""The per-request context: who calls, what it may read, a scoped reader and fresh loaders.

``build_context(sources, caller)`` runs once per request (the HTTP handler calls it); nothing
in it outlives the request but ``sources`` (process-wide: pool, store, vault, figures cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

import strawberry

from danvan.graphql.access import Access, Caller
from danvan.graphql.db import Reader
from danvan.graphql.limits import Plan
from danvan.graphql.loaders import Loaders
from danvan.graphql.sources import ReadSources


@dataclass
class ReadContext:
    access: Access
    reader: Reader
    loaders: Loaders
    sources: ReadSources
    started_at: datetime
    plan: Plan | None = None
    """The operation's analysis (``limits``), set before it runs."""
    connection_params: dict[str, object] | None = None
    """A subscription's ``connection_init`` payload (``graphql/ws.py``)."""
    raw_json: bool = False
    """The result is encoded with msgspec (``POST /graphql``, the websocket's messages), so
    objects the database encoded (``msgspec.Raw``, ``encoded.py``) may stand in it."""


Info: TypeAlias = strawberry.Info[ReadContext, None]


def build_context(sources: ReadSources, caller: Caller) -> ReadContext:
    access = Access(caller, sources.province_codes())
    reader = Reader(sources.pool, tenant_ids=access.tenant_ids(),
                    province_codes=access.province_codes())
    return ReadContext(access=access, reader=reader, loaders=Loaders(reader, sources),
                       sources=sources, started_at=datetime.now(UTC))
