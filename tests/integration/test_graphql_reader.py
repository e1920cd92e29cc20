"""The read API's ``Reader`` (``graphql/db.py``): each read is one transaction scoped for
row-level security, pipelined, and a read that fails hands its connection back to the pool
idle, outside any transaction and any scope."""

from __future__ import annotations

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
