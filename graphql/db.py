"""Running read-model queries for a request: off the event loop, on a pooled connection
scoped (row-level security) to what the caller may read.

    reader = Reader(pool, tenant_ids=("t1",), province_codes=("15",))
    pages = await reader.run(model_pages, ["t1"], year=2026, first=50)  # models.read

The psycopg pool is synchronous, so each call runs on a worker thread (the loop's default
executor, sized to the pools by the app). Row-level security is the second wall: resolvers
check access first, and the database shows nothing outside the caller's scope anyway.

A thread cannot be cancelled, so a read its caller abandons (a subscriber gone while the next
batch is read) would run its statement to the end on a pooled connection: one client
subscribing and dropping in a loop could hold them all. ``run`` cancels the statement on the
server instead (``Running``), and the connection goes back to the pool as any failed read's
does, idle and unscoped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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


class Abandoned(Exception):
    """A read whose caller had gone before it got a connection: not run."""


class Running:
    """The connection a read runs on, while it runs, so that another thread may cancel its
    statement. The lock keeps the connection from going back to the pool while a cancel
    request is on its way: the request names the server's backend, and would otherwise
    cancel whatever the pool's next borrower runs there."""

    CANCEL_TIMEOUT = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._abandoned = False

    @contextmanager
    def borrowed(self, pool: Pool) -> Iterator[Connection]:
        """A connection of ``pool`` for the read, unless its caller has gone, before it
        asked for one or while it waited."""
        if self._abandoned:
            raise Abandoned("the read's caller has gone")
        with pool.connection() as conn:
            with self._lock:
                if self._abandoned:
                    raise Abandoned("the read's caller has gone")
                self._conn = conn
            try:
                yield conn
            finally:
                with self._lock:
                    self._conn = None

    def abandon(self) -> bool:
        """No statement starts from now on; whether one may be running (``cancel``)."""
        with self._lock:
            self._abandoned = True
            return self._conn is not None

    def cancel(self) -> None:
        """Cancel the statement running, if it still is: a round trip to the server."""
        with self._lock:
            if self._conn is not None:
                self._conn.cancel_safe(timeout=self.CANCEL_TIMEOUT)


_cancels = ThreadPoolExecutor(max_workers=2, thread_name_prefix="danvan-read-cancel")
"""Apart from the reads' executor, which may be full of the very reads to cancel."""


async def _cancellable(read: Callable[[Running], T]) -> T:
    """``read`` on a worker thread; if the awaiting task is cancelled, so is its statement."""
    running = Running()
    work = asyncio.ensure_future(asyncio.to_thread(read, running))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        work.add_done_callback(_retrieved)  # QueryCanceled or Abandoned: nobody waits for it
        if running.abandon():
            asyncio.get_running_loop().run_in_executor(_cancels, running.cancel) \
                .add_done_callback(_retrieved)
        raise


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class Reader:
    def __init__(self, pool: Pool, *, tenant_ids: Sequence[str] = (),
                 province_codes: Sequence[str] = ()) -> None:
        self.pool = pool
        self.tenant_ids = tuple(tenant_ids)
        self.province_codes = tuple(province_codes)

    def run_sync(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args,
                 **kwargs: P.kwargs) -> T:
        return self._run_sync(Running(), fn, *args, **kwargs)

    def _run_sync(self, running: Running, fn: Callable[Concatenate[Connection, P], T],
                  *args: P.args, **kwargs: P.kwargs) -> T:
        with _unavailable(), running.borrowed(self.pool) as conn, _planned_each_time(conn), \
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
        return self._run_unscoped_sync(Running(), fn, *args, **kwargs)

    def _run_unscoped_sync(self, running: Running, fn: Callable[Concatenate[Connection, P], T],
                           *args: P.args, **kwargs: P.kwargs) -> T:
        with _unavailable(), running.borrowed(self.pool) as conn:
            return fn(conn, *args, **kwargs)

    async def run_unscoped(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args,
                           **kwargs: P.kwargs) -> T:
        return await _cancellable(
            lambda running: self._run_unscoped_sync(running, fn, *args, **kwargs))

    async def run(self, fn: Callable[Concatenate[Connection, P], T], *args: P.args,
                  **kwargs: P.kwargs) -> T:
        """``run_sync`` off the event loop; cancelling the awaiting task cancels the read's
        statement on the server."""
        return await _cancellable(lambda running: self._run_sync(running, fn, *args, **kwargs))

    def scoped_to(self, *, tenant_ids: Sequence[str] = (),
                  province_codes: Sequence[str] = ()) -> Reader:
        """The same pool in another scope: only after checking the caller may read all of it
        (e.g. one province's figures, computed once for every caller who may read them)."""
        return Reader(self.pool, tenant_ids=tenant_ids, province_codes=province_codes)
