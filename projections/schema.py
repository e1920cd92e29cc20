"""Versions of the read models: their schemas, the readers' views, row-level security.

Each projection's tables live in ``rm_<name>_v<N>``; readers query ``danvan_read.<table>``
views (``security_invoker``, so row-level security applies to the reader), which point at
the active version. ``switch`` repoints them in one transaction, so readers see the old
tables or the new ones, never a mix. ``infra/sql/040_read_models.sql`` creates what does not
change with a version (tracking tables, ``danvan_read.scope()``, ``danvan_fold``).

``ensure_read_models(conn, app_role)`` is idempotent: it builds version 1 of any projection
that has none yet (empty tables at position 0; the runner then catches up). ``danvan migrate``
and the runner call it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from psycopg import sql

from danvan.projections.base import SCOPE_CONDITION, Connection, Projection, checked_identifier

log = logging.getLogger(__name__)

READ_SCHEMA = "danvan_read"
ENSURE_LOCK = 0x64616E76_0400  # advisory lock serialising ensure/switch/create of versions
SCOPE_POLICY = "tenant_scope"


def schema_name(projection: str, version: int) -> str:
    return checked_identifier(f"rm_{projection}_v{version}")


def ddl_hash(projection: Projection) -> str:
    """Changes when the projection's tables change shape: a version built from another shape
    is stale and wants a rebuild."""
    policies = [f"POLICY {table}: {condition}"
                for table, condition in sorted(projection.scope_policies().items())]
    text = "\n".join([*projection.ddl("rm"), *projection.indexes("rm"),
                      *projection.views("rm").values(), *policies])
    return hashlib.sha256(f"{projection.name}\n{projection.tables}\n{text}".encode()).hexdigest()


@dataclass(frozen=True)
class Version:
    name: str
    version: int
    schema: str
    status: str
    position: int
    """For a version kept in tenant shards, the lowest of its shards' positions."""
    ddl_hash: str
    shards: int = 1
    """In how many tenant shards it is kept (1: unsharded; ``sharding``)."""


def versions(conn: Connection, name: str | None = None) -> list[Version]:
    rows = conn.execute(
        "SELECT name, version, schema_name, status, position, ddl_hash, shards "
        "FROM public.danvan_projection_versions WHERE %(n)s::text IS NULL OR name = %(n)s "
        "ORDER BY name, version", {"n": name}).fetchall()
    return [Version(*row) for row in rows]


def active_versions(conn: Connection) -> dict[str, Version]:
    rows = conn.execute(
        "SELECT v.name, v.version, v.schema_name, v.status, v.position, v.ddl_hash, v.shards "
        "FROM public.danvan_projections p JOIN public.danvan_projection_versions v "
        "ON v.name = p.name AND v.version = p.active_version").fetchall()
    return {row[0]: Version(*row) for row in rows}


def read_models_stamp(conn: Connection) -> tuple[int, ...]:
    """Changes whenever a read model moves on (a batch applied, a rebuild switched in): the
    active versions and their positions, one pair per tenant shard of a sharded version (so
    a batch of any shard changes it)."""
    rows = conn.execute(
        "SELECT v.version, coalesce(s.position, v.position) FROM public.danvan_projections p "
        "JOIN public.danvan_projection_versions v ON v.name = p.name "
        "AND v.version = p.active_version LEFT JOIN public.danvan_projection_shards s "
        "ON s.name = v.name AND s.version = v.version ORDER BY p.name, s.shard").fetchall()
    return tuple(n for row in rows for n in row)


def stamp_position(stamp: tuple[int, ...]) -> int:
    """The log position every read model of a ``read_models_stamp`` has reached (the stamp
    pairs each active version with its position, or with each of its shards': the lowest
    is what every shard has reached)."""
    return min(stamp[1::2], default=0)


def create_version(conn: Connection, projection: Projection, app_role: str, *,
                   defer_indexes: bool = False) -> Version:
    """Create the next version's schema and empty tables (status ``building``, position 0),
    with their secondary indexes unless ``defer_indexes`` (then ``add_indexes`` makes them
    before the switch). Runs in the caller's transaction."""
    row = conn.execute("SELECT coalesce(max(version), 0) + 1 FROM "
                       "public.danvan_projection_versions WHERE name = %s",
                       (projection.name,)).fetchone()
    assert row is not None
    version = int(row[0])
    schema = schema_name(projection.name, version)
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    for statement in projection.ddl(schema):
        conn.execute(statement.encode())
    if not defer_indexes:
        add_indexes(conn, projection, schema)
    role = sql.Identifier(app_role)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), role))
    policies = projection.scope_policies()
    for table in projection.tables:
        qualified = sql.Identifier(schema, checked_identifier(table))
        conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(qualified))
        condition = policies.get(table, SCOPE_CONDITION)
        conn.execute(sql.SQL("CREATE POLICY {} ON {} FOR SELECT USING ({})").format(
            sql.Identifier(SCOPE_POLICY), qualified, sql.SQL(condition)))
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(qualified, role))
    conn.execute(
        "INSERT INTO public.danvan_projection_versions "
        "(name, version, schema_name, ddl_hash, status) VALUES (%s, %s, %s, %s, 'building')",
        (projection.name, version, schema, ddl_hash(projection)))
    return Version(projection.name, version, schema, "building", 0, ddl_hash(projection))


def add_indexes(conn: Connection, projection: Projection, schema: str) -> None:
    """The secondary indexes (``IF NOT EXISTS``: a resumed build may have made some)."""
    for statement in projection.indexes(schema):
        # Named, so that IF NOT EXISTS works; an index lives in its table's schema.
        named = statement.replace(" INDEX ON ",
                                  f" INDEX IF NOT EXISTS {_index_name(statement)} ON ", 1)
        conn.execute(named.encode())


def analyze(conn: Connection, projection: Projection, schema: str) -> None:
    """Statistics for the planner on what a rebuild wrote in bulk: without them (autovacuum
    off, or not yet come round) the readers' first plans over millions of rows are guesses
    (a trail batch went from one index scan to a parallel plan, twice the time)."""
    for table in projection.tables:
        conn.execute(sql.SQL("ANALYZE {}").format(
            sql.Identifier(schema, checked_identifier(table))))


def _index_name(statement: str) -> str:
    digest = hashlib.sha256(statement.encode()).hexdigest()[:12]
    return f"ix_{digest}"


def point_views(conn: Connection, projection: Projection, schema: str, app_role: str, *,
                only_existing: bool = False) -> None:
    """(Re)create the ``danvan_read`` views of ``projection`` over ``schema``; with
    ``only_existing``, only those whose table ``schema`` has (a version built from older
    DDL lacks the tables added since: their views come with the rebuild that makes them)."""
    for name, select in projection.views(schema).items():
        if only_existing and not _table_exists(conn, schema, name):
            log.warning("read model %s: %s.%s is missing (built from older DDL); "
                        "run `danvan rebuild --stale`", projection.name, schema, name)
            continue
        view = sql.Identifier(READ_SCHEMA, checked_identifier(name))
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
        conn.execute(sql.SQL("CREATE VIEW {} WITH (security_invoker = true) AS ").format(view)
                     .as_string(conn).encode() + select.encode())
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(view, sql.Identifier(app_role)))


def activate(conn: Connection, projection: Projection, version: Version, app_role: str) -> None:
    """Make ``version`` the one readers see (caller's transaction, pointer row locked)."""
    conn.execute("UPDATE public.danvan_projection_versions SET status = 'retired' "
                 "WHERE name = %s AND status = 'active'", (projection.name,))
    conn.execute("UPDATE public.danvan_projection_versions SET status = 'active' "
                 "WHERE name = %s AND version = %s", (projection.name, version.version))
    conn.execute(
        "INSERT INTO public.danvan_projections (name, active_version) VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET active_version = excluded.active_version, "
        "switched_at = now()", (projection.name, version.version))
    point_views(conn, projection, version.schema, app_role)


def ensure_read_models(conn: Connection, app_role: str,
                       projections: Iterable[Projection] | None = None) -> list[str]:
    """Give every projection an active version (empty tables at position 0 where there was
    none) and make sure its views exist. Idempotent; returns the projections created now."""
    from danvan.projections.catalog import all_projections

    chosen = list(projections) if projections is not None else all_projections()
    created: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (ENSURE_LOCK,))
        active = active_versions(conn)
        for projection in chosen:
            current = active.get(projection.name)
            if current is None:
                version = create_version(conn, projection, app_role)
                activate(conn, projection, version, app_role)
                created.append(projection.name)
                log.info("created read model %s (version %d)", projection.name,
                         version.version)
            elif not _views_exist(conn, list(projection.views(current.schema))):
                point_views(conn, projection, current.schema, app_role, only_existing=True)
    return created


def stale(conn: Connection, projections: Sequence[Projection]) -> list[str]:
    """Projections whose active tables were built from other DDL than the code's: rebuild."""
    active = active_versions(conn)
    return [p.name for p in projections
            if p.name in active and active[p.name].ddl_hash != ddl_hash(p)]


def drop_version(conn: Connection, version: Version) -> None:
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
        sql.Identifier(version.schema)))
    conn.execute("DELETE FROM public.danvan_projection_versions WHERE name = %s "
                 "AND version = %s AND status <> 'active'", (version.name, version.version))


def _views_exist(conn: Connection, tables: Sequence[str]) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_views WHERE schemaname = %s AND viewname = ANY(%s)",
        (READ_SCHEMA, list(tables))).fetchone()
    return row is not None and row[0] == len(tables)


def _table_exists(conn: Connection, schema: str, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{checked_identifier(table)}",)
                       ).fetchone()
    return row is not None and row[0] is not None
