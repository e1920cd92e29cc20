"""``danvan migrate``: the library's tables, the application's role, then ``infra/sql/*.sql``.

Run as the schema owner (``DATABASE_URL``). Idempotent and safe to run concurrently: a
session advisory lock serialises migrators of one database, each step is recorded in
``danvan_schema_migrations`` and applied once, in file-name order, each in its own
transaction. A recorded file whose content changed afterwards is an error: add a new file.

SQL files may write ``:"app_role"`` (psql variable syntax) for the application's role.

The application's role is cluster-wide: other databases on a shared server may use it too.
So ``migrate`` creates it when missing but never changes an existing role's password unless
asked (``--reset-app-password``), and in production it refuses to run at all with the
default password (``DANVAN_APP_DB_PASSWORD`` unset or equal to it), which anyone can read in
this repository; development and test may keep it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from danvan.infra.database import connect_owner
from danvan.infra.event_store import open_event_store
from danvan.infra.settings import Settings, SettingsError

log = logging.getLogger(__name__)

MIGRATIONS_TABLE = "danvan_schema_migrations"
LIBRARY_STEP = "000_eventsourcing_tables"
ADVISORY_LOCK_KEY = 0x64616E76616E  # "danvan"
APP_ROLE_TOKEN = ':"app_role"'

Conn = psycopg.Connection[TupleRow]


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class SqlMigration:
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def sql_migrations(folder: Path | None = None) -> list[SqlMigration]:
    """The packaged ``infra/sql/*.sql`` files (or those of ``folder``), ordered by name."""
    if folder is not None:
        files = [(p.name, p.read_text(encoding="utf-8")) for p in folder.glob("*.sql")]
    else:
        root = resources.files("danvan.infra").joinpath("sql")
        files = [(p.name, p.read_text(encoding="utf-8"))
                 for p in root.iterdir() if p.name.endswith(".sql")]
    return [SqlMigration(name, text) for name, text in sorted(files)]


def schema_fingerprint() -> str:
    """Changes whenever the resulting schema may change (tests key template databases on it)."""
    digest = hashlib.sha256()
    for migration in sql_migrations():
        digest.update(migration.name.encode() + b"\0" + migration.text.encode() + b"\0")
    for module in ("migrations.py", "event_store.py"):
        digest.update(resources.files("danvan.infra").joinpath(module).read_bytes())
    digest.update(metadata.version("eventsourcing").encode())
    return digest.hexdigest()


def check_app_password(settings: Settings) -> None:
    """Refuse the published default password of the application's role in production."""
    if settings.is_production and settings.app_db_password == Settings().app_db_password:
        raise SettingsError(
            f"DANVAN_APP_DB_PASSWORD is the default password of the application's database "
            f"role {settings.app_db_role!r}; in production set a password of its own (roles "
            f"are shared by every database of the server). An existing role keeps its "
            f"password unless you pass --reset-app-password.")


def migrate(settings: Settings, *, reset_app_password: bool = False) -> list[str]:
    """Bring the database up to date; return the names of the steps applied now."""
    check_app_password(settings)
    with connect_owner(settings) as conn, _advisory_lock(conn):
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, checksum text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(MIGRATIONS_TABLE)))
        applied_now: list[str] = []
        done = _applied(conn)
        if LIBRARY_STEP not in done:
            _create_library_tables(settings)
            _record(conn, LIBRARY_STEP, "")
            applied_now.append(LIBRARY_STEP)
        ensure_app_role(conn, settings.app_db_role, settings.app_db_password,
                        reset_password=reset_app_password)
        for migration in sql_migrations():
            if migration.name in done:
                if done[migration.name] != migration.checksum:
                    raise MigrationError(
                        f"{migration.name} changed after it was applied; add a new file instead")
                continue
            _apply(conn, migration, settings.app_db_role)
            applied_now.append(migration.name)
            log.info("applied migration %s", migration.name)
        return applied_now


def ensure_app_role(conn: Conn, role: str, password: str, *,
                    reset_password: bool = False) -> None:
    """Create the application's login role if missing. Roles are cluster-wide and other
    databases may be migrating at the same moment, so losing that race is fine."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if exists and not reset_password:
        return
    statement = "ALTER ROLE {} WITH LOGIN PASSWORD {}" if exists else \
        "CREATE ROLE {} WITH LOGIN PASSWORD {}"
    try:
        with conn.transaction():
            conn.execute(sql.SQL(statement).format(sql.Identifier(role), sql.Literal(password)))
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        log.info("role %s was created concurrently", role)


@contextmanager
def _advisory_lock(conn: Conn) -> Iterator[None]:
    """Serialise migrators of this database (the lock is released with the session too)."""
    conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def _applied(conn: Conn) -> dict[str, str]:
    rows = conn.execute(sql.SQL("SELECT name, checksum FROM {}").format(
        sql.Identifier(MIGRATIONS_TABLE))).fetchall()
    return {name: checksum for name, checksum in rows}


def _record(conn: Conn, name: str, checksum: str) -> None:
    conn.execute(sql.SQL("INSERT INTO {} (name, checksum) VALUES (%s, %s)").format(
        sql.Identifier(MIGRATIONS_TABLE)), (name, checksum))


def _create_library_tables(settings: Settings) -> None:
    """The library's events and snapshots tables, types and functions, made as the owner."""
    store = open_event_store(settings, "owner", create_table=True,
                             env_overrides={"IS_SNAPSHOTTING_ENABLED": "y"})
    store.close()


def _apply(conn: Conn, migration: SqlMigration, app_role: str) -> None:
    text = migration.text.replace(APP_ROLE_TOKEN, sql.Identifier(app_role).as_string(conn))
    with conn.transaction():
        conn.execute(text.encode())
        _record(conn, migration.name, migration.checksum)


def pending_migrations(settings: Settings) -> list[str]:
    """Names of the steps ``migrate`` would apply now (``danvan migrate --check``)."""
    with connect_owner(settings) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()
        done = _applied(conn) if exists and exists[0] else {}
    steps = [LIBRARY_STEP, *(m.name for m in sql_migrations())]
    return [name for name in steps if name not in done]
