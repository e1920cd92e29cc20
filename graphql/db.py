"""Running read-model queries for a request: off the event loop, on a pooled connection
scoped (row-level security) to what the caller may read.

    reader = Reader(pool, tenant_ids=("t1",), province_codes=("15",))
    pages = await reader.run(model_pages, ["t1"], year=2026, first=50)  # models.read

The psycopg pool is synchronous, so each call runs on a worker thread (the loop's default
executor, sized to the pools by the app). Row-level security is the second wall: resolvers
check access first, and the database shows nothing outside the caller's scope anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import psycopg
from psycopg_pool import PoolTimeout

from danvan.graphql.errors import Unavailable
from danvan.projections.base import Connection
from danvan.projections.queries import scoped_in_pipeline

P = ParamSpec("P")
T = TypeVar("T")


class Pool(Protocol):
    """A ``psycopg_pool.ConnectionPool`` of the application's role (autocommit)."""

    def connection(self, timeout: float | None = None) -> Any: ...


@contextmanager
def _unavailable() -> Iterator[None]:
    """A database down or read models not built yet: the caller may retry later."""
    try:
        yield
    except psycopg.errors.UndefinedTable as exc:
        raise Unavailable("the read models are not built yet (the projector builds them)"
                          ) from exc
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise Unavailable("the read models' database is not available") from exc


ONLY_WHEN_ASKED = 2**31
"""A threshold no query reaches (None would refuse ``prepare=True`` too)."""


@contextmanager
def _planned_each_time(conn: Connection) -> Iterator[None]:
    """No server-side prepared statements for the read queries unless one asks
    (``execute(..., prepare=True)``): after five executions PostgreSQL may switch a prepared
    statement to a generic plan, and for the read models' ``tenant_id = ANY(%s)`` filters the
    generic plan is a nested loop over every unit of a province (measured: 40 ms becomes 300 ms
    from the tenth call on). Planning each time costs a fraction of a millisecond; a query
    whose every plan is the same index scan (a trail page) may ask to be prepared. The pool's
    connection gets its setting back afterwards."""
    before = conn.prepare_threshold
    conn.prepare_threshold = ONLY_WHEN_ASKED
    try:
        yield
    finally:
        conn.prepare_threshold = before


class Reader:
    def __init__(self, pool: Pool, *, tenant_ids: Sequence[str] = (),
                 province_codes: Sequence[str] = ()) -> None:
        self.pool = pool
        self.tenant_ids = tuple(tenant_ids)
        self.province_codes = tuple(province_codes)

    def run_sync(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args,
                 **kwargs: P.kwargs) -> T:
        with _unavailable(), self.pool.connection() as conn, _planned_each_time(conn), \
                scoped_in_pipeline(conn, tenant_ids=self.tenant_ids,
                                   province_codes=self.province_codes):
            return fn(conn, *args, **kwargs)

    def run_then_sync(self, fn: Callable[Concatenate[Connection, P], Callable[[], T]],
                      *args: P.args, **kwargs: P.kwargs) -> T:
        """``run_sync`` for a read whose last statements need no answer inside the
        transaction: ``fn`` sends them and returns how to finish the answer, called once the
        pipeline synced (on the same connection), so they share the COMMIT's round trip."""
        with _unavailable(), self.pool.connection() as conn, _planned_each_time(conn):
            with scoped_in_pipeline(conn, tenant_ids=self.tenant_ids,
                                    province_codes=self.province_codes):
                finish = fn(conn, *args, **kwargs)
            return finish()

    def run_unscoped_sync(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args,
                          **kwargs: P.kwargs) -> T:
        """For tables outside row-level security (projection positions): no transaction,
        one round trip."""
        with _unavailable(), self.pool.connection() as conn:
            return fn(conn, *args, **kwargs)

    async def run_unscoped(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args,
                           **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(lambda: self.run_unscoped_sync(fn, *args, **kwargs))

    async def run(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args,
                  **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(lambda: self.run_sync(fn, *args, **kwargs))

    def scoped_to(self, *, tenant_ids: Sequence[str] = (),
                  province_codes: Sequence[str] = ()) -> Reader:
        """The same pool in another scope: only after checking the caller may read all of it
        (e.g. one province's figures, computed once for every caller who may read them)."""
        return Reader(self.pool, tenant_ids=tenant_ids, province_codes=province_codes)
