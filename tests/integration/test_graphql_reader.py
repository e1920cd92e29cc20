"""The read API's ``Reader`` (``graphql/db.py``): each read is one transaction scoped for
row-level security, pipelined, and a read that fails hands its connection back to the pool
idle, outside any transaction and any scope."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from danvan.graphql.db import Reader
from danvan.graphql.errors import Unavailable
from danvan.infra.database import app_params
from danvan.infra.settings import Settings

SETTINGS = ("SELECT current_setting('danvan.tenant_ids', true), "
            "current_setting('danvan.province_codes', true)")


def _scope(conn: Any) -> Any:
    return conn.execute(SETTINGS).fetchone()


def _idle_and_unscoped(pool: ConnectionPool[Any]) -> None:
    with pool.connection() as conn:
        assert conn.info.transaction_status == TransactionStatus.IDLE
        assert _scope(conn) in (("", ""), (None, None))


def test_a_read_runs_in_its_scope_and_leaves_none_behind(settings: Settings) -> None:
    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=1,
                        kwargs={"autocommit": True}) as pool:
        reader = Reader(pool, tenant_ids=("t1", "t2"), province_codes=("15",))
        assert reader.run_sync(_scope) == ("t1,t2", "15")
        _idle_and_unscoped(pool)

        def sent(conn: Any) -> Any:
            cursor = conn.execute(SETTINGS)
            return cursor.fetchone  # read once the pipeline synced, after the COMMIT

        assert reader.run_then_sync(sent) == ("t1,t2", "15")
        _idle_and_unscoped(pool)


def test_a_failed_read_hands_its_connection_back_idle(settings: Settings) -> None:
    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=1,
                        kwargs={"autocommit": True}) as pool:
        reader = Reader(pool, province_codes=("15",))

        def divides_by_zero(conn: Any) -> Any:
            return conn.execute("SELECT 1 / 0").fetchall()

        def missing_table(conn: Any) -> Any:
            return conn.execute("SELECT * FROM no_such_read_model").fetchall()

        def python_fails(conn: Any) -> Any:
            conn.execute("SELECT 1")
            raise KeyError("not the database's")

        with pytest.raises(psycopg.errors.DivisionByZero):
            reader.run_sync(divides_by_zero)
        _idle_and_unscoped(pool)
        with pytest.raises(Unavailable):
            reader.run_sync(missing_table)
        _idle_and_unscoped(pool)
        with pytest.raises(KeyError):
            reader.run_sync(python_fails)
        _idle_and_unscoped(pool)
        with pytest.raises(psycopg.errors.DivisionByZero):
            reader.run_then_sync(lambda conn: conn.execute("SELECT 1 / 0").fetchall)
        _idle_and_unscoped(pool)
        assert reader.run_sync(_scope) == ("", "15")


def test_a_scope_with_a_list_separator_is_refused(settings: Settings) -> None:
    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=1,
                        kwargs={"autocommit": True}) as pool, \
            pytest.raises(ValueError, match="not a tenant id"):
        Reader(pool, tenant_ids=("t1,t2",)).run_sync(_scope)


SLEEP = "SELECT pg_sleep(60) /* an abandoned read */"
RUNNING = ("SELECT count(*) FROM pg_stat_activity WHERE query = %s AND state = 'active' "
           "AND pid <> pg_backend_pid()")


def _sleeps(conn: Any) -> Any:
    return conn.execute(SLEEP).fetchall()


async def _until(condition: Any, what: str) -> None:
    """Wait for ``condition()``, at most long enough not to hang the suite."""
    for _ in range(200):
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not {what} after 10 s")


def test_an_abandoned_read_cancels_its_statement_and_frees_its_connection(
        settings: Settings) -> None:
    # a subscriber gone while its next batch is read: the statement must not hold the pool's
    # connection to its end (pg_sleep(60) here)
    params = app_params(settings).conninfo()
    with ConnectionPool(params, min_size=1, max_size=1, kwargs={"autocommit": True}) as pool, \
            psycopg.connect(params, autocommit=True) as watcher:
        reader = Reader(pool, province_codes=("15",))

        def sleeping() -> int:
            return int(watcher.execute(RUNNING, (SLEEP,)).fetchone()[0])  # type: ignore[index]

        def available() -> bool:
            return bool(pool.get_stats().get("pool_available", 0) == 1)

        async def main() -> None:
            read = asyncio.create_task(reader.run(_sleeps))
            await _until(lambda: sleeping() == 1, "running")
            read.cancel()
            with pytest.raises(asyncio.CancelledError):
                await read
            await _until(lambda: sleeping() == 0 and available(), "cancelled")
            assert await reader.run(_scope) == ("", "15")

        asyncio.run(main())
        _idle_and_unscoped(pool)


def test_a_read_abandoned_while_waiting_for_a_connection_never_runs(
        settings: Settings) -> None:
    ran: list[str] = []

    def noted(conn: Any) -> Any:
        ran.append("ran")
        return _scope(conn)

    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=1,
                        kwargs={"autocommit": True}) as pool:
        reader = Reader(pool, province_codes=("15",))

        async def main() -> None:
            with pool.connection():  # the pool's one connection is busy
                read = asyncio.create_task(reader.run(noted))
                await _until(lambda: pool.get_stats().get("requests_waiting", 0) == 1,
                             "waiting")
                read.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await read
            assert await reader.run(noted) == ("", "15")

        asyncio.run(main())
    assert ran == ["ran"]  # the second read only
