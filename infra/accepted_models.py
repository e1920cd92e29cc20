"""The models of a tenant's year accepted so far, read from the event store itself (not from a
read model, which may lag): what a year's list approval covers.

    accepted = accepted_models(store, tenant_id, 2026)   # {model_id: accepted at}

One statement: the tenant's ``Model.Accepted`` events (index on tenant and position) joined
to each model's registration (primary key) for its year.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from danvan.domain.model import Model

ACCEPTED_TOPICS = [get_topic(Model.Accepted)]


def accepted_models(store: Any, tenant_id: str, year: int) -> dict[str, datetime]:
    """Each model of ``tenant_id``'s ``year`` accepted so far, with the moment it was."""
    recorder = store.recorder
    table = Identifier(recorder.datastore.schema, recorder.events_table_name)
    query = SQL(
        "SELECT a.originator_id::text AS model_id, "
        "convert_from(a.state, 'UTF8')::jsonb -> 'timestamp' ->> '_data_' AS accepted_at "
        "FROM {events} a JOIN {events} r ON r.originator_id = a.originator_id "
        "AND r.originator_version = 1 "
        "WHERE a.tenant_id = %s AND a.topic = ANY(%s) "
        "AND convert_from(r.state, 'UTF8')::jsonb -> 'year' = to_jsonb(%s::int)"
    ).format(events=table)
    with recorder.datastore.get_connection() as conn:
        rows = conn.execute(query, (tenant_id, ACCEPTED_TOPICS, year)).fetchall()
    return {row["model_id"]: datetime.fromisoformat(row["accepted_at"]) for row in rows}
