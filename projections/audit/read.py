"""The audit read model's questions: a tenant's trail (oldest first, filtered by time, actor,
aggregate and type) and the sealed details of exemplars, batched by model. Each function takes
the connection first (scope it with ``queries.scoped``).

The trail is asked of one tenant at a time (it is a root question, never a list's field), so it
takes one tenant id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from danvan.projections.audit.rows import AuditEntry, EncodedEntry, SealedPerson
from danvan.projections.base import Connection
from danvan.projections.paging import MAX_BATCH, Page, check_first, decode_cursor, page_of
from danvan.projections.reading import R, like_escaped, rows_of, select_list


def audit_trail(conn: Connection, tenant_id: str, *, from_: datetime | None = None,
                to: datetime | None = None, actor_id: str | None = None,
                aggregate_id: str | None = None, type_: str | None = None, first: int = 100,
                after: str | None = None, count: bool = True, node_json: str | None = None
                ) -> Page[AuditEntry] | Page[EncodedEntry]:
    """One page of the tenant's events by ``position`` (at most ``MAX_BATCH``: the trail is
    streamed in batches); ``from_`` inclusive, ``to`` exclusive;
    ``type_`` is an event type such as ``Model.Accepted`` (or an aggregate type, ``Model``).
    With ``count=False`` the matching events are not counted (``total_count`` is -1): a
    client streaming the trail page by page does not pay for a count on each page.

    With ``node_json`` (SQL over ``audit_log``'s columns: each event's JSON text, or NULL,
    ``graphql/encoded.py``) the page's items are ``EncodedEntry``; if an event of the page
    has no text, they are ``AuditEntry`` after all."""
    check_first(first, most=MAX_BATCH)
    key = decode_cursor("audit", after, (int,))
    params: dict[str, Any] = {"t": tenant_id, "f": from_, "to": to, "a": actor_id,
                              "g": aggregate_id, "ty": type_, "k": key[0] if key else None,
                              "typrefix": f"{like_escaped(type_ or '')}.%",
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
                         params).fetchone() if count else (-1,)
    counted = int(total[0]) if total else 0

    rows = (f"SELECT {{}} FROM {R}.audit_log WHERE {where} "
            f"{'AND position > %(k)s' if key else ''} ORDER BY position LIMIT %(lim)s")
    if node_json is not None:
        # Over the page's rows (a subquery the planner keeps apart), so that each column of
        # the view is computed once, however often the node's expression names it; and each
        # text's size in UTF-8 bytes over the sorted nodes (kept apart too: the text is built
        # once), which the stream cuts its messages by: PostgreSQL has it at hand, where
        # Python takes some 2 µs to count a kilobyte of Vietnamese.
        # Prepared when the page is the tenant's events alone (an inspector streaming the
        # trail asks it page after page): its plans are all one index scan, and planning the
        # view's join cost a third of the page.
        encoded = conn.execute(
            "SELECT position, node, octet_length(node) FROM ("
            f"SELECT position, {node_json} AS node FROM ({rows.format('*')}) n "
            "ORDER BY position) e ORDER BY position", params,
            prepare=len(clauses) == 1).fetchall()
        if all(text is not None for _, text, _ in encoded):
            return page_of(rows_of(EncodedEntry, encoded), first, counted, "audit",
                           lambda e: (e.position,))
    plain = conn.execute(rows.format(select_list(AuditEntry)), params).fetchall()
    return page_of(rows_of(AuditEntry, plain), first, counted, "audit", lambda e: (e.position,))


def sealed_persons(conn: Connection, model_ids: Sequence[str]) -> dict[str, SealedPerson]:
    """The sealed details of each individual exemplar among ``model_ids``, from its
    registration event (the audit log's payload holds only the sealed token)."""
    rows = conn.execute(
        f"SELECT {select_list(SealedPerson)} FROM {R}.audit_log "
        "WHERE aggregate_id = ANY(%s::uuid[]) AND version = 1 "
        "AND payload ->> 'person_key_id' <> '' AND payload ->> 'person_token' <> ''",
        (list(model_ids),)).fetchall()
    return {p.model_id: p for p in rows_of(SealedPerson, rows)}
