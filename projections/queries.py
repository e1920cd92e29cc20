"""Reading the read models as the application's role: ``scoped`` sets the row-level security
scope of a transaction (``scoped_in_pipeline``: the same in one pipeline, the GraphQL
reader's). The questions themselves are each read model's ``read`` module
(``directory.read``, ``targets.read``, ``models.read``, ``plans.read``, ``audit.read``):
batched functions, the connection first, keyword filters after.

    from danvan.projections.models.read import province_figures

    with pool.connection() as conn, scoped(conn, province_codes=["15"]):
        figures = province_figures(conn, "15", 2026)

Row-level security then shows only those tenants' rows (a province scope shows all of its
tenants'), as a second wall behind the resolvers' own checks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

import psycopg
from psycopg.pq import TransactionStatus

from danvan.projections.base import Connection

_SCOPE = ("SELECT set_config('danvan.tenant_ids', %s, true), "
          "set_config('danvan.province_codes', %s, true)")


def _scope_of(tenant_ids: Sequence[str], province_codes: Sequence[str]) -> tuple[str, str]:
    """The scope's parameters: the lists as row-level security reads them."""
    for value in (*tenant_ids, *province_codes):
        if "," in value:  # a list separator would widen the scope
            raise ValueError(f"not a tenant id or province code: {value!r}")
    return ",".join(tenant_ids), ",".join(province_codes)


@contextmanager
def scoped(conn: Connection, *, tenant_ids: Sequence[str] = (),
           province_codes: Sequence[str] = ()) -> Iterator[Connection]:
    """A transaction in which row-level security lets ``conn`` see only these tenants (and
    every tenant of these provinces). The settings end with the transaction."""
    scope = _scope_of(tenant_ids, province_codes)
    with conn.transaction():
        # Prepared: the same statement on every read, planned once per session.
        conn.execute(_SCOPE, scope, prepare=True)
        yield conn


@contextmanager
def scoped_in_pipeline(conn: Connection, *, tenant_ids: Sequence[str] = (),
                       province_codes: Sequence[str] = ()) -> Iterator[Connection]:
    """``scoped`` in one pipeline (``conn`` in autocommit): BEGIN and the scope go out with
    the first query, COMMIT with the pipeline's closing sync. ``conn.transaction()`` inside a
    pipeline syncs on entering it and twice on leaving it: five round trips for a one-query
    read instead of two. After a failure the transaction is rolled back here, before a pool
    takes the connection back."""
    scope = _scope_of(tenant_ids, province_codes)
    try:
        with conn.pipeline():
            conn.execute("BEGIN")
            conn.execute(_SCOPE, scope, prepare=True)
            yield conn
            conn.execute("COMMIT")
    except BaseException:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            with suppress(psycopg.Error):
                conn.rollback()
        raise
