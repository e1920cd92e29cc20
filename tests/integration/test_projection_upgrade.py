"""A deployment upgraded to code whose read model has more tables than its active version:
``danvan migrate`` (``ensure_read_models``) still succeeds, the new views come with
``danvan rebuild --stale``, and the rebuilt version answers from the whole log. So does one
whose read model's columns and row-level security changed (the users' ``listed_in``)."""

from __future__ import annotations

from typing import Any, ClassVar

import psycopg

from danvan.domain.commands import ApproveList, RegisterUser
from danvan.domain.policies import RoleGrant, province_scope
from danvan.domain.users import User
from danvan.domain.year_lists import YearList
from danvan.infra.database import connect_app, connect_owner, owner_params
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.catalog import all_projections
from danvan.projections.embedded import start_projector
from danvan.projections.plans.projection import Plans
from danvan.projections.plans.read import list_decisions_by_tenant
from danvan.projections.queries import scoped
from danvan.projections.rebuild import rebuild
from danvan.projections.schema import active_versions, ensure_read_models, stale
from danvan.projections.users.projection import Users
from danvan.projections.users.read import user_pages
from tests.e2e.conftest import system_context
from tests.integration.jobs_support import wait_for


class PlansBeforeDecisions(Plans):
    """The plans read model as an earlier release built it: no decision table."""

    tables: ClassVar[tuple[str, ...]] = ("plan_tasks",)

    def ddl(self, schema: str) -> list[str]:
        return super().ddl(schema)[:1]

    def indexes(self, schema: str) -> list[str]:
        return super().indexes(schema)[:1]


def views(conn: psycopg.Connection[Any]) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT viewname FROM pg_views WHERE schemaname = 'danvan_read'").fetchall()}


def test_a_read_model_built_from_older_ddl_is_upgraded_by_a_stale_rebuild(
        settings: Settings, event_store: EventStore) -> None:
    approved = YearList.approve(system_context("t1"), ApproveList(2026, "05-QĐ/ĐU"), {})
    event_store.save(approved)
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role, [PlansBeforeDecisions()])
        assert "year_list_decisions" not in views(conn)
        ensure_read_models(conn, settings.app_db_role)  # what `danvan migrate` runs
        assert "plan_tasks" in views(conn) and "year_list_decisions" not in views(conn)
        assert stale(conn, all_projections()) == ["plans"]
        rebuild(conn, [p for p in all_projections() if p.name == "plans"],
                app_role=settings.app_db_role, conninfo=owner_params(settings).conninfo())
        assert stale(conn, all_projections()) == []
        assert "year_list_decisions" in views(conn)
        found = list_decisions_by_tenant(conn, ["t1"])["t1"]
        assert [(d.year, d.decision_number, d.model_ids) for d in found] == [
            (2026, "05-QĐ/ĐU", [])]
        # the planner has statistics for what the rebuild wrote (this machine's autovacuum
        # is off; elsewhere it may not have come round yet)
        plans = active_versions(conn)["plans"].schema
        unanalysed = conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = %s "
            "AND last_analyze IS NULL", (plans,)).fetchall()
        assert unanalysed == []


def test_a_projector_started_on_read_models_of_older_code_rebuilds_them_first(
        settings: Settings, event_store: EventStore) -> None:
    """After an upgrade nobody has to remember `danvan rebuild --stale`: the projector does
    it before following the log, so new code never writes into old tables."""
    approved = YearList.approve(system_context("t1"), ApproveList(2026, "07-QĐ/ĐU"), {})
    event_store.save(approved)
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role, [PlansBeforeDecisions()])
        ensure_read_models(conn, settings.app_db_role)
        assert stale(conn, all_projections()) == ["plans"]
    projector = start_projector(settings)
    try:
        with connect_owner(settings) as conn:
            found = wait_for(lambda: list_decisions_by_tenant(conn, ["t1"]).get("t1"), 30,
                             "the upgraded read model to fill")
            assert stale(conn, all_projections()) == []
            assert [d.decision_number for d in found] == ["07-QĐ/ĐU"]
    finally:
        projector.stop()


class UsersBeforeListing(Users):
    """The users read model as releases before 2026-12 built it: no ``listed_in`` (nor
    ``user_listings``), listed by
    ``(tenant_id, username)``, the default row-level security (its tenant in the scope)."""

    tables: ClassVar[tuple[str, ...]] = ("users",)

    def ddl(self, schema: str) -> list[str]:
        return [super().ddl(schema)[0].replace(",\n            listed_in text[] NOT NULL", "")]

    def indexes(self, schema: str) -> list[str]:
        return [f"CREATE INDEX ON {schema}.users (tenant_id, username)"]

    def scope_policies(self) -> dict[str, str]:
        return {}


def users_policy(conn: psycopg.Connection[Any]) -> str:
    schema = active_versions(conn)["users"].schema
    row = conn.execute("SELECT qual FROM pg_policies WHERE schemaname = %s "
                       "AND tablename = 'users'", (schema,)).fetchone()
    assert row is not None
    return str(row[0])


def test_the_users_read_model_of_older_code_is_rebuilt_to_list_the_provinces_inspectors(
        settings: Settings, event_store: EventStore) -> None:
    """Upgraded, the users read model (and its row-level security) is stale: the rebuild
    lists a tenant's inspector made in the province's scope among the tenant's accounts."""
    inspector = User.register(system_context(province_scope("15")), RegisterUser(
        "thanhtra.t1", "$argon2id$not-read", "Đặng Thị Tra",
        (RoleGrant("inspector", "15", "t1"),)))
    event_store.save(inspector)
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role, [UsersBeforeListing()])
        ensure_read_models(conn, settings.app_db_role)
        assert "listed_in" not in users_policy(conn)
        assert stale(conn, all_projections()) == ["users"]
        rebuild(conn, [p for p in all_projections() if p.name == "users"],
                app_role=settings.app_db_role, conninfo=owner_params(settings).conninfo())
        assert stale(conn, all_projections()) == []
        assert "listed_in" in users_policy(conn)
    with connect_app(settings) as conn, scoped(conn, tenant_ids=["t1"]):
        found = user_pages(conn, ["t1"], first=10)["t1"].items
    assert [(u.username, u.tenant_id) for u in found] == [("thanhtra.t1", "province:15")]
