"""A trail page of the tenant's events alone is a prepared statement on the reader's pooled
connection (``audit.read.audit_trail``): it answers the same from the first call, past the
sixth (when PostgreSQL may switch to a generic plan), and after a blue/green rebuild has
pointed the readers' views at new tables, the old ones dropped."""

from __future__ import annotations

from typing import Any

from psycopg_pool import ConnectionPool

from danvan.graphql.db import Reader
from danvan.infra.database import app_params, owner_params
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.audit.projection import Audit
from danvan.projections.audit.read import audit_trail
from danvan.projections.rebuild import rebuild_all
from tests.integration.test_projection_histories import projected

NODE = "'{\"p\":' || position::text || ',\"t\":' || to_json(type)::text || '}'"
"""A node's JSON text as ``encoded.node_json`` makes one: expressions over the view's columns."""


def test_a_prepared_trail_page_answers_the_same_past_the_generic_plan_and_a_rebuild(
        settings: Settings, event_store: EventStore) -> None:
    world = projected(settings, event_store)
    tenant = str(world.tenants[0].id)
    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=1,
                        kwargs={"autocommit": True}) as pool:
        reader = Reader(pool, tenant_ids=(tenant,))

        def pages() -> list[Any]:
            first = reader.run_sync(audit_trail, tenant, first=3, count=False, node_json=NODE)
            rest = reader.run_sync(audit_trail, tenant, first=3, count=False, node_json=NODE,
                                   after=first.end_cursor)
            return [(e.position, e.json) for e in (*first.items, *rest.items)]

        expected = pages()
        assert len(expected) == 6 and all(text.startswith('{"p":') for _, text in expected)
        for _ in range(8):
            assert pages() == expected
        with pool.connection() as conn:
            prepared = conn.execute("SELECT count(*) FROM pg_prepared_statements "
                                    "WHERE statement LIKE '%audit_log%'").fetchone()
        assert prepared == (2,)  # the first page and the next: each prepared once
        rebuild_all(owner_params(settings).conninfo(), [Audit()],
                    app_role=settings.app_db_role)
        for _ in range(3):
            assert pages() == expected
        filtered = reader.run_sync(audit_trail, tenant, type_="Model", count=False,
                                   node_json=NODE)
        assert filtered.items and all(e.json.startswith('{"p":') for e in filtered.items)
        with pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM pg_prepared_statements "
                                "WHERE statement LIKE '%audit_log%'").fetchone() == (2,)

