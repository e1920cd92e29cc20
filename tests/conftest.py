"""Shared fixtures: every test that asks gets its own real, fully migrated PostgreSQL database.

How it works: once per schema version, a *template* database is migrated (``danvan migrate``
as a library call) and frozen; each test then gets ``CREATE DATABASE danvan_t_<random>
TEMPLATE <template>`` (about 0.1 s on a 2-core machine) and the database is dropped
``WITH (FORCE)`` afterwards, on a thread of its own (``DROP DATABASE`` waits for a checkpoint,
0.1–0.5 s that no test needs to wait for; the session waits for the drops at its end). The
template's name carries a fingerprint of ``infra/sql/*.sql``,
the migration and event store code and the library version, so a schema change builds a
new template; building is guarded by an advisory lock, so pytest-xdist workers (and
concurrent runs) never race. Old templates are left in place (``DROP DATABASE`` them at will:
``danvan_tpl_*``, after ``ALTER DATABASE ... IS_TEMPLATE false``).

Fixtures, from the bottom up:

``admin_params`` (session)
    ConnParams of the test cluster: ``DANVAN_TEST_DATABASE_URL``, else ``DATABASE_URL``,
    else ``postgresql://postgres@127.0.0.1:5432/postgres``. The role needs CREATEDB and
    CREATEROLE (the application's role is created once per cluster).
``template_database`` (session)
    Name of the migrated template database.
``database_url`` (function)
    Owner URL (``postgresql://...``) of a fresh migrated database for this test.
``settings`` (function)
    ``Settings`` for that database: env ``test``, ``data_dir`` under ``tmp_path`` (so the
    seal key is ``tmp_path/data/seal.key``), small pools, the test application role.
    ``make_settings(database_url, tmp_path, **overrides)`` builds variants.
``owner_conn`` / ``app_conn`` (function)
    Autocommit psycopg connections (tuple rows) as the owner / the application's role.
``event_store`` (function)
    The application-role ``EventStore`` (``open_event_store(settings)``), closed after.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from psycopg import sql
from psycopg.rows import TupleRow

from danvan.backend.auth import passwords
from danvan.infra.database import ConnParams, connect, connect_app, connect_owner
from danvan.infra.event_store import EventStore, open_event_store
from danvan.infra.migrations import migrate, schema_fingerprint
from danvan.infra.settings import Settings

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
APP_ROLE = os.environ.get("DANVAN_APP_DB_ROLE") or "danvan_app"
APP_PASSWORD = os.environ.get("DANVAN_APP_DB_PASSWORD") or "danvan_app"
TEMPLATE_LOCK_KEY = 0x64616E76616E_01  # advisory lock on the admin database
TEST_DB_PREFIX = "danvan_t_"

# Tests sign in all the time: at OWASP's cost (40-80 ms a hash or a check here) argon2 took
# about a fifth of the end-to-end tests' time. Here it is argon2id at its lowest cost; the
# production parameters have a test of their own (tests/unit/test_http_frame.py).
passwords.configure(PasswordHasher(time_cost=1, memory_cost=16, parallelism=1))


def admin_url() -> str:
    return (os.environ.get("DANVAN_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
            or DEFAULT_ADMIN_URL)


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test database; use it to build more than one (other pools, roles)."""
    values: dict[str, object] = {
        "env": "test", "database_url": database_url, "data_dir": tmp_path / "data",
        "db_pool_size": 2, "db_max_overflow": 4, "db_lock_timeout_seconds": 5,
        "app_db_role": APP_ROLE, "app_db_password": APP_PASSWORD,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _exists(conn: psycopg.Connection[TupleRow], dbname: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() \
        is not None


def ensure_template(admin: ConnParams) -> str:
    """Build the migrated template database for the current schema, once per cluster."""
    digest = hashlib.sha256(f"{schema_fingerprint()}:{APP_ROLE}".encode()).hexdigest()
    name = f"danvan_tpl_{digest[:16]}"
    with connect(admin) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (TEMPLATE_LOCK_KEY,))
        try:
            if _exists(conn, name):
                return name
            building = sql.Identifier(f"{name}_wip")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(building))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(building))
            migrate(Settings(env="test", database_url=admin.with_dbname(f"{name}_wip")
                             .url(password=True),
                             app_db_role=APP_ROLE, app_db_password=APP_PASSWORD))
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                building, sql.Identifier(name)))
            conn.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
                         .format(sql.Identifier(name)))
            return name
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (TEMPLATE_LOCK_KEY,))


def create_test_database(admin: ConnParams, template: str) -> str:
    name = f"{TEST_DB_PREFIX}{secrets.token_hex(6)}"
    with connect(admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    return name


def drop_test_database(admin: ConnParams, name: str) -> None:
    with connect(admin) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


_dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-test-database")
_drops: list[Future[None]] = []


def drop_later(admin: ConnParams, name: str) -> None:
    """``drop_test_database`` on the dropping thread; ``pytest_sessionfinish`` waits for it."""
    _drops.append(_dropper.submit(drop_test_database, admin, name))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every test database dropped before the session ends; a drop that failed fails it."""
    _dropper.shutdown(wait=True)
    for drop in _drops:
        drop.result()


@pytest.fixture(scope="session")
def admin_params() -> ConnParams:
    return ConnParams.from_url(admin_url())


@pytest.fixture(scope="session")
def template_database(admin_params: ConnParams) -> str:
    return ensure_template(admin_params)


@contextmanager
def migrated_database(admin: ConnParams, template: str) -> Iterator[str]:
    """The URL of a migrated database of its own, dropped afterwards (also for code that
    cannot take a fixture: hypothesis examples share their test's fixtures)."""
    name = create_test_database(admin, template)
    try:
        yield admin.with_dbname(name).url(password=True)
    finally:
        drop_later(admin, name)


@pytest.fixture
def database_url(admin_params: ConnParams, template_database: str) -> Iterator[str]:
    with migrated_database(admin_params, template_database) as url:
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def owner_conn(settings: Settings) -> Iterator[psycopg.Connection[TupleRow]]:
    with connect_owner(settings) as conn:
        yield conn


@pytest.fixture
def app_conn(settings: Settings) -> Iterator[psycopg.Connection[TupleRow]]:
    with connect_app(settings) as conn:
        yield conn


@pytest.fixture
def event_store(settings: Settings) -> Iterator[EventStore]:
    store = open_event_store(settings)
    try:
        yield store
    finally:
        store.close()
