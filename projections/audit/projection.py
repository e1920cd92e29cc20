"""Audit log: one row per event, every event, for inspectors' filters (tenant, aggregate,
actor, type, time) in log order.

The table keeps what the filters need (tenant, position, aggregate, version, type, actor,
time); the readers' view ``danvan_read.audit_log`` joins each row to its event in the log for
the rest (actor role, correlation, causation, request, reason, payload, hash, prev_hash), so
those are only decoded for the rows a page returns, and the bytes and hashes shown are the
log's own. The payload is the event's fields without the envelope (timestamp, topic, tenant,
meta, shown in columns) and without password hashes.
"""

from __future__ import annotations

from typing import Any, ClassVar

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
from danvan.projections.events import Batch

ENVELOPE_KEYS = ("timestamp", "originator_topic", "tenant_id", "meta")
SECRET_KEYS = ("password_hash",)
COLUMNS = ("position", "tenant_id", "aggregate_id", "version", "type", "actor_id", "at")

_types: dict[str, str] = {}


def event_type(topic: str) -> str:
    """``danvan.domain.model:Model.Accepted`` -> ``Model.Accepted``."""
    found = _types.get(topic)
    if found is None:
        found = _types[topic] = topic.rpartition(":")[2]
    return found


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
            at timestamptz NOT NULL)"""]

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
        dropped = "{" + ",".join((*ENVELOPE_KEYS, *SECRET_KEYS)) + "}"
        return {
            "audit_index": f"SELECT * FROM {schema}.audit_index",
            "audit_log": f"""
                SELECT a.position, a.tenant_id, a.aggregate_id,
                       split_part(a.type, '.', 1) AS aggregate_type, a.type, a.version, a.at,
                       a.actor_id, d #>> '{{meta,actor_role}}' AS actor_role,
                       d #>> '{{meta,correlation_id}}' AS correlation_id,
                       d #>> '{{meta,causation_id}}' AS causation_id,
                       d #>> '{{meta,request_id}}' AS request_id,
                       d #>> '{{meta,reason}}' AS reason,
                       d - '{dropped}'::text[] AS payload, e.hash, e.prev_hash
                  FROM {schema}.audit_index a
                  JOIN public.{EVENTS_TABLE} e ON e.notification_id = a.position
                 CROSS JOIN LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS d
                                     OFFSET 0) j""",
        }

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        # Every event makes a row: spelled in COPY's text format here, in one f-string, when
        # the values that come from the event's state need no escape (positions, versions,
        # aggregate ids and types never do), else escaped value by value.
        types = _types
        lines: list[str] = []
        append = lines.append
        for e in batch.events:
            tenant_id, actor_id, at = e.tenant_id, e.data.meta.actor_id, e.at
            kind = types.get(e.topic) or event_type(e.topic)
            if copy_safe(f"{tenant_id}{actor_id}{at}"):
                append(f"{e.position}\t{tenant_id}\t{e.originator_id}\t{e.version}\t{kind}\t"
                       f"{COPY_NULL if actor_id is None else actor_id}\t{at}\n")
            else:
                append(copy_line((str(e.position), tenant_id, e.originator_id,
                                  str(e.version), kind, actor_id, at)))

        def write(cur: Cursor) -> None:
            if lines:
                copy_text(cur, f"{schema}.audit_index", COLUMNS, lines)
        return write
