"""The audit trail of a tenant, oldest first, filtered by time, actor, aggregate and type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from danvan.projections.base import Connection
from danvan.projections.paging import Page, check_first, decode_cursor, page_of

R = "danvan_read"


@dataclass(frozen=True)
class AuditEntry:
    position: int
    tenant_id: str
    aggregate_id: str
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


COLUMNS = ("position", "tenant_id", "aggregate_id::text", "aggregate_type", "type", "version",
           "at", "actor_id", "actor_role", "correlation_id", "causation_id", "request_id",
           "reason", "payload", "hash", "prev_hash")


def audit_trail(conn: Connection, tenant_id: str, *, from_: datetime | None = None,
                to: datetime | None = None, actor_id: str | None = None,
                aggregate_id: str | None = None, type_: str | None = None, first: int = 100,
                after: str | None = None) -> Page[AuditEntry]:
    """One page of the tenant's events by ``position``; ``from_`` inclusive, ``to`` exclusive;
    ``type_`` is an event type such as ``Model.Accepted`` (or an aggregate type, ``Model``)."""
    check_first(first)
    key = decode_cursor("audit", after, (int,))
    params: dict[str, Any] = {"t": tenant_id, "f": from_, "to": to, "a": actor_id,
                              "g": aggregate_id, "ty": type_, "k": key[0] if key else None,
                              "typrefix": f"{(type_ or '').replace('_', chr(92) + '_')}.%",
                              "lim": first + 1}
    # Only the filters given, so that each query plans against the matching index.
    clauses = ["tenant_id = %(t)s"]
    clauses += [clause for value, clause in (
        (from_, "at >= %(f)s"), (to, "at < %(to)s"), (actor_id, "actor_id = %(a)s"),
        (aggregate_id, "position IN (SELECT notification_id FROM public.danvan_events "
                       "WHERE originator_id = %(g)s::uuid)"),
        (type_, "type = %(ty)s" if type_ and "." in type_ else "type LIKE %(typrefix)s"))
        if value is not None]
    where = " AND ".join(clauses)
    total = conn.execute(f"SELECT count(*) FROM {R}.audit_index WHERE {where}",
                         params).fetchone()
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM {R}.audit_log WHERE {where} "
        f"{'AND position > %(k)s' if key else ''} ORDER BY position LIMIT %(lim)s",
        params).fetchall()
    return page_of([AuditEntry(*row) for row in rows], first, int(total[0]) if total else 0,
                   "audit", lambda e: (e.position,))
