"""Audit log: one row per event, every event, for inspectors' filters (tenant, aggregate,
actor, type, time) in log order, and what the trail shows of it.

The table keeps what the filters need (tenant, position, aggregate, version, type, actor,
time) and what the trail shows that the filters do not: the metadata (actor role,
correlation, causation, request, reason) and the payload, the event's own fields as stored
(their JSON text, byte for byte) without the envelope (timestamp, topic, tenant, meta, shown
in columns) and without password hashes. A trail streamed whole reads them as they are, with
no JSON to parse per event (the parse was half of what PostgreSQL spent on a streamed batch).
The readers' view ``danvan_read.audit_log`` joins each row to its event in the log for the
hash chain (hash, prev_hash), so the hashes shown are the log's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import msgspec

from danvan.infra.event_store import EVENTS_TABLE
from danvan.projections.base import (
    COPY_NULL,
    Cursor,
    Projection,
    TableSharding,
    Write,
    copy_line,
    copy_safe,
    copy_text,
)
from danvan.projections.events import Batch, Envelope

ENVELOPE_KEYS = ("timestamp", "originator_topic", "tenant_id", "meta")
SECRET_KEYS = ("password_hash",)
COLUMNS = ("position", "tenant_id", "aggregate_id", "version", "type", "actor_id", "at",
           "actor_role", "correlation_id", "causation_id", "request_id", "reason", "payload")
DROPPED_KEYS = tuple(k for k in (*ENVELOPE_KEYS, *SECRET_KEYS) if k != "meta")
"""Dropped from the payload (``meta`` is taken apart into its columns)."""


class AuditMeta(msgspec.Struct, gc=False):
    """The metadata the trail shows (an event's ``meta``; all text)."""

    actor_role: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    request_id: str | None = None
    reason: str | None = None


_fields = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_meta = msgspec.json.Decoder(AuditMeta).decode
_encode = msgspec.json.encode
_NO_META = AuditMeta()


def shown_fields(state: bytes) -> tuple[AuditMeta, str]:
    """The metadata and the payload (JSON text) of a stored state: each field's value as
    stored, without the envelope and secrets."""
    fields = _fields(state)
    meta = fields.pop("meta", None)
    pop = fields.pop
    for key in DROPPED_KEYS:
        pop(key, None)
    return (_NO_META if meta is None else _meta_of(meta)), _encode(fields).decode()


def _meta_of(raw: msgspec.Raw) -> AuditMeta:
    try:
        return _meta(raw)
    except msgspec.ValidationError:
        # Not all text (never written so): each value as ``#>>`` reads it, text as is,
        # anything else as its JSON
        values = msgspec.json.decode(raw)
        if not isinstance(values, dict):
            return _NO_META
        shown = {name: value if isinstance(value, str) else _encode(value).decode()
                 for name in AuditMeta.__struct_fields__
                 if (value := values.get(name)) is not None}
        return AuditMeta(**shown)


_types: dict[str, str] = {}


def event_type(topic: str) -> str:
    """``danvan.domain.model:Model.Accepted`` -> ``Model.Accepted``."""
    found = _types.get(topic)
    if found is None:
        found = _types[topic] = topic.rpartition(":")[2]
    return found


def copy_lines(events: Iterable[Envelope]) -> list[str]:
    """The events' rows of ``audit_index`` (``COLUMNS``) in COPY's text format: in one
    f-string when the values that come from the event's state need no escape (positions,
    versions, aggregate ids and types never do), else escaped value by value (``copy_line``'s
    translate costs several microseconds a row)."""
    types = _types
    lines: list[str] = []
    append = lines.append
    null = COPY_NULL
    for e in events:
        tenant_id, actor_id, at = e.tenant_id, e.data.meta.actor_id, e.at
        kind = types.get(e.topic) or event_type(e.topic)
        meta, payload = shown_fields(e.state)
        role, correlation, causation, request, reason = (
            meta.actor_role, meta.correlation_id, meta.causation_id, meta.request_id,
            meta.reason)
        if copy_safe(f"{tenant_id}{actor_id}{at}{role}{correlation}{causation}{request}"
                     f"{reason}{payload}"):
            append(f"{e.position}\t{tenant_id}\t{e.originator_id}\t{e.version}\t{kind}\t"
                   f"{null if actor_id is None else actor_id}\t{at}\t"
                   f"{null if role is None else role}\t"
                   f"{null if correlation is None else correlation}\t"
                   f"{null if causation is None else causation}\t"
                   f"{null if request is None else request}\t"
                   f"{null if reason is None else reason}\t{payload}\n")
        else:
            append(copy_line((str(e.position), tenant_id, e.originator_id, str(e.version),
                              kind, actor_id, at, role, correlation, causation, request,
                              reason, payload)))
    return lines


class Audit(Projection):
    name = "audit"
    tables = ("audit_index",)
    sharding = dict.fromkeys(tables, TableSharding.TENANT)
    topics: ClassVar[frozenset[str] | None] = None
    # A row per event and four indexes: about half of what a catch-up costs PostgreSQL.
    written_apart = True

    def ddl(self, schema: str) -> list[str]:
        return [f"""CREATE TABLE {schema}.audit_index (
            position bigint NOT NULL,
            tenant_id text COLLATE "C" NOT NULL,
            aggregate_id uuid NOT NULL,
            version bigint NOT NULL,
            type text COLLATE "C" NOT NULL,
            actor_id text COLLATE "C",
            at timestamptz NOT NULL,
            actor_role text,
            correlation_id text,
            causation_id text,
            request_id text,
            reason text,
            payload text NOT NULL)"""]

    def indexes(self, schema: str) -> list[str]:
        # Every question is asked within a tenant, in log order: (tenant_id, position).
        # Actor and type filters: one GIN index (btree_gin), whose pending list keeps inserts
        # cheap; kept small (256 kB, not the default 4 MB), since every scan reads the whole
        # list, and under row-level security the planner takes this index for the trail's
        # count too (a full 4 MB list cost a trail page 40 ms; danvan bench audit).
        # Time: BRIN (the log is written in time order). An aggregate's events are found
        # through the log's own primary key (originator_id, originator_version).
        s = schema
        return [
            f"CREATE UNIQUE INDEX ON {s}.audit_index (tenant_id, position)",
            f"CREATE INDEX ON {s}.audit_index USING gin (tenant_id, actor_id, type) "
            "WITH (gin_pending_list_limit = 256)",
            f"CREATE INDEX ON {s}.audit_index USING brin (at)",
            # Who created an aggregate, and when (creations only: about one event in seven).
            f"CREATE INDEX ON {s}.audit_index (aggregate_id) WHERE version = 1",
        ]

    def views(self, schema: str) -> dict[str, str]:
        return {
            "audit_index": f"SELECT * FROM {schema}.audit_index",
            # payload: json (the stored text, checked, keys in their stored order) for
            # readers of rows; payload_text, the same text unchecked, for readers that answer
            # JSON (graphql/encoded.py): both answer alike, key order included
            "audit_log": f"""
                SELECT a.position, a.tenant_id, a.aggregate_id,
                       split_part(a.type, '.', 1) AS aggregate_type, a.type, a.version, a.at,
                       a.actor_id, a.actor_role, a.correlation_id, a.causation_id,
                       a.request_id, a.reason, a.payload::json AS payload,
                       a.payload AS payload_text, e.hash, e.prev_hash
                  FROM {schema}.audit_index a
                  JOIN public.{EVENTS_TABLE} e ON e.notification_id = a.position""",
        }

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        lines = copy_lines(batch.events)

        def write(cur: Cursor) -> None:
            if lines:
                copy_text(cur, f"{schema}.audit_index", COLUMNS, lines)
        return write
