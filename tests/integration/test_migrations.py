"""``danvan migrate``: from an empty database, idempotent, safe to run concurrently."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from danvan.infra.database import ConnParams, connect, connect_app, connect_owner
from danvan.infra.event_store import open_event_store
from danvan.infra.migrations import (
    LIBRARY_STEP,
    MigrationError,
    migrate,
    pending_migrations,
    sql_migrations,
)
from danvan.infra.settings import Settings, SettingsError
from tests.conftest import drop_test_database, make_settings
from tests.integration._aggregates import Note, ctx

ALL_STEPS = [LIBRARY_STEP, *(m.name for m in sql_migrations())]


@pytest.fixture
def empty_database(admin_params: ConnParams) -> Iterator[Callable[[], str]]:
    """Makes empty databases (no template); drops them after the test."""
    names: list[str] = []

    def make() -> str:
        name = f"danvan_t_{secrets.token_hex(6)}"
        with connect(admin_params) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        names.append(name)
        return admin_params.with_dbname(name).url(password=True)

    yield make
    for name in names:
        drop_test_database(admin_params, name)


def run_in_threads(*calls: Callable[[], object]) -> list[object]:
    results: list[object] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_migrates_an_empty_database_then_does_nothing(empty_database: Callable[[], str],
                                                     tmp_path: Path) -> None:
    settings = make_settings(empty_database(), tmp_path)
    assert pending_migrations(settings) == ALL_STEPS

    assert migrate(settings) == ALL_STEPS
    assert migrate(settings) == []
    assert pending_migrations(settings) == []


def test_two_concurrent_migrations_of_one_database_both_succeed(
        empty_database: Callable[[], str], tmp_path: Path) -> None:
    settings = make_settings(empty_database(), tmp_path)

    results = run_in_threads(lambda: migrate(settings), lambda: migrate(settings))

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(map(str, results)) == sorted(map(str, [[], ALL_STEPS]))  # one did all
    with connect_owner(settings) as conn:
        rows = conn.execute("SELECT name FROM danvan_schema_migrations ORDER BY name").fetchall()
    assert [r[0] for r in rows] == ALL_STEPS


def test_a_new_application_role_is_created_once_even_by_concurrent_migrations(
        admin_params: ConnParams, empty_database: Callable[[], str], tmp_path: Path) -> None:
    role = f"danvan_app_t_{secrets.token_hex(4)}"
    many = [make_settings(empty_database(), tmp_path, app_db_role=role, app_db_password="pw")
            for _ in range(3)]
    try:
        results = run_in_threads(*(lambda s=s: migrate(s) for s in many))
        assert results == [ALL_STEPS] * 3

        store = open_event_store(many[0])
        try:
            store.save(Note.write(ctx(), "a"))
        finally:
            store.close()
        with connect_app(many[0]) as conn:
            assert conn.info.user == role
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM danvan_events")
    finally:
        for settings in many:
            drop_test_database(admin_params, ConnParams.from_url(settings.database_url or "")
                               .dbname)
        with connect(admin_params) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_a_migration_edited_after_it_was_applied_is_an_error(settings: Settings) -> None:
    with connect_owner(settings) as conn:
        conn.execute("UPDATE danvan_schema_migrations SET checksum = 'old' "
                     "WHERE name = %s", (ALL_STEPS[1],))

    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(settings)


def test_the_cli_migrates(empty_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    from danvan.backend.cli import main
    from danvan.infra.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", empty_database())
    get_settings.cache_clear()
    try:
        assert main(["migrate", "--check"]) == 1
        assert main(["migrate"]) == 0
        assert main(["migrate", "--check"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert f"applied {LIBRARY_STEP}" in out and "schema is up to date" not in out


def role_password_hash(admin: ConnParams, role: str) -> str | None:
    with connect(admin) as conn:
        row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s",
                           (role,)).fetchone()
    return None if row is None else row[0]


@dataclass
class OwnRole:
    """An application role of its own and the empty databases that use it."""

    admin: ConnParams
    name: str = field(default_factory=lambda: f"danvan_app_t_{secrets.token_hex(4)}")
    databases: list[str] = field(default_factory=list)

    def database(self) -> str:
        name = f"danvan_t_{secrets.token_hex(6)}"
        with connect(self.admin) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.databases.append(name)
        return self.admin.with_dbname(name).url(password=True)


@pytest.fixture
def own_role(admin_params: ConnParams) -> Iterator[OwnRole]:
    """Dropped after its databases (which hold its grants)."""
    role = OwnRole(admin_params)
    yield role
    for name in role.databases:
        drop_test_database(admin_params, name)
    with connect(admin_params) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role.name)))


def test_production_refuses_the_default_application_password_before_touching_anything(
        own_role: OwnRole, tmp_path: Path, admin_params: ConnParams) -> None:
    production = make_settings(own_role.database(), tmp_path, env="production",
                               secret_key="s" * 40, app_db_role=own_role.name,
                               app_db_password=Settings().app_db_password)

    with pytest.raises(SettingsError, match="DANVAN_APP_DB_PASSWORD is the default"):
        migrate(production)

    assert role_password_hash(admin_params, own_role.name) is None  # no role made
    assert pending_migrations(production) == ALL_STEPS  # nothing applied
    assert migrate(replace(production, app_db_password="một-mật-khẩu-riêng")) == ALL_STEPS


def test_the_cli_names_the_setting_when_production_keeps_the_default_password(
        empty_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from danvan.backend.cli import main
    from danvan.infra.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", empty_database())
    monkeypatch.setenv("DANVAN_ENV", "production")
    monkeypatch.setenv("DANVAN_SECRET_KEY", "s" * 40)
    monkeypatch.delenv("DANVAN_APP_DB_PASSWORD", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["migrate"]) == 2
    finally:
        get_settings.cache_clear()
    assert "danvan migrate: DANVAN_APP_DB_PASSWORD is the default" in capsys.readouterr().err


def test_an_existing_role_keeps_its_password_unless_a_reset_is_asked(
        own_role: OwnRole, tmp_path: Path, admin_params: ConnParams) -> None:
    first = make_settings(own_role.database(), tmp_path, app_db_role=own_role.name,
                          app_db_password="mật-khẩu-thứ-nhất")
    migrate(first)
    set_by_first = role_password_hash(admin_params, own_role.name)
    # Another database of the same server, configured with another password.
    second = make_settings(own_role.database(), tmp_path, app_db_role=own_role.name,
                           app_db_password="mật-khẩu-thứ-hai")

    assert migrate(second) == ALL_STEPS
    assert role_password_hash(admin_params, own_role.name) == set_by_first

    migrate(second, reset_app_password=True)
    assert role_password_hash(admin_params, own_role.name) not in (None, set_by_first)
