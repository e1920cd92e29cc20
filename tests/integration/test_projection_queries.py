"""The read API the GraphQL layer calls (each read model's batched ``read`` functions): quotas,
pages, search, registry, audit, lag, RLS."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from danvan.graphql.db import ONLY_WHEN_ASKED
from danvan.infra.database import connect_app, connect_owner
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.audit.read import audit_trail
from danvan.projections.base import (
    FEW_ROWS,
    copy_line,
    copy_rows,
    copy_safe,
    copy_text,
    copy_values,
)
from danvan.projections.catalog import by_names
from danvan.projections.directory.read import tenants_by_id
from danvan.projections.embedded import make_runner
from danvan.projections.events import log_head
from danvan.projections.lag import lag_report, projection_lag
from danvan.projections.models.quota_page import quota_page
from danvan.projections.models.read import (
    model_pages,
    models_by_id,
    models_with_tenants,
    province_figures,
    recognitions_by_tenant,
)
from danvan.projections.models.registry import folded
from danvan.projections.paging import BadCursor
from danvan.projections.plans.read import plan_tasks_by_tenant
from danvan.projections.queries import scoped
from danvan.projections.rebuild import rebuild
from tests.integration.test_projection_histories import (
    PROVINCE,
    World,
    projected,
    tenant_quota,
)

LATER = datetime(2026, 12, 31, tzinfo=UTC)


@pytest.fixture
def world(settings: Settings, event_store: EventStore) -> World:
    return projected(settings, event_store)


@pytest.fixture
def owner(settings: Settings, world: World) -> Iterator[psycopg.Connection[Any]]:
    with connect_owner(settings) as conn:
        yield conn


def test_a_tenant_quota_shows_counts_targets_and_status(
        owner: psycopg.Connection[Any], world: World) -> None:
    for tenant in world.tenants:
        for year in world.years():
            quota = tenant_quota(owner, str(tenant.id), year, now=LATER)
            assert quota is not None
            expected = world.expected_quota(tenant, year)
            assert quota.new_models == expected["new_models"]
            assert quota.recognized_province_level == expected["recognized_province_level"]
            assert quota.units_without_registration == expected["units_without_registration"]
            assert quota.status in ("MET", "MISSED", "IN_PROGRESS")
    assert tenant_quota(owner, "no-such-tenant", 2026) is None


def test_the_province_page_filters_and_pages_by_keyset(
        owner: psycopg.Connection[Any], world: World) -> None:
    year = world.models[0].year
    rows = province_figures(owner, PROVINCE, year, now=LATER).quotas
    everything = quota_page(rows)
    assert everything.total_count == len(world.tenants)
    first = quota_page(rows, first=1)
    assert first.has_next_page and first.total_count == len(world.tenants)
    second = quota_page(rows, first=1, after=first.end_cursor)
    assert [q.tenant.code for q in [*first.items, *second.items]] == \
        [q.tenant.code for q in everything.items][:2]
    for status in ("MET", "MISSED", "IN_PROGRESS"):
        page = quota_page(rows, status=status)
        assert all(q.status == status for q in page.items)
    wards = quota_page(province_figures(owner, PROVINCE, year).quotas, kind="ward")
    assert all(q.tenant.kind == "ward" for q in wards.items)
    with pytest.raises(BadCursor):
        quota_page(rows, first=101)
    with pytest.raises(BadCursor):
        quota_page(rows, after="bm9wZQ")


def test_the_province_summary_adds_up_its_tenants(
        owner: psycopg.Connection[Any], world: World) -> None:
    year = world.models[0].year
    figures = province_figures(owner, PROVINCE, year, now=LATER)
    summary, page = figures.summary(), quota_page(figures.quotas)
    assert summary.tenant_count == len(world.tenants)
    assert summary.new_models == sum(q.new_models for q in page.items)
    assert summary.recognized_province_level == sum(q.recognized_province_level
                                                    for q in page.items)
    assert summary.tenants_met == sum(q.status == "MET" for q in page.items)
    assert sum(f.new_models for f in summary.by_field) == summary.new_models
    assert [f.field for f in summary.by_field] == ["party_building", "economy",
                                                   "culture_society", "defense_security",
                                                   "digital_transformation"]
    reports = [m for m in world.models]
    assert reports and isinstance(summary.progress.money_vnd, Decimal)


def test_progress_totals_are_exact_decimals_by_period_year(
        owner: psycopg.Connection[Any], world: World) -> None:
    rows = owner.execute("SELECT year, money_vnd, land_m2 FROM danvan_read.progress_reports"
                         ).fetchall()
    by_year: dict[int, Decimal] = {}
    for year, money, _ in rows:
        by_year[year] = by_year.get(year, Decimal(0)) + money
    for year, money in by_year.items():
        summary = province_figures(owner, PROVINCE, year).summary()
        assert summary.progress.money_vnd == money
        assert str(money).endswith(".5") or money == money.to_integral()


def test_quota_status_is_judged_on_the_vietnam_calendar(
        owner: psycopg.Connection[Any], world: World) -> None:
    tenant = str(world.tenants[0].id)
    year = 2030  # nothing happens in 2030: the defaults are missed only once it is over
    in_year = tenant_quota(owner, tenant, year, now=datetime(2030, 6, 1, tzinfo=UTC))
    assert in_year is not None and in_year.status == "IN_PROGRESS" and in_year.at_risk
    # 31 Dec 2030 17:00 UTC is already 1 Jan 2031 in Vietnam.
    over = tenant_quota(owner, tenant, year,
                                now=datetime(2030, 12, 31, 17, 0, tzinfo=UTC))
    assert over is not None and over.status == "MISSED" and not over.at_risk
    before = tenant_quota(owner, tenant, year,
                                  now=datetime(2030, 12, 31, 16, 59, tzinfo=UTC))
    assert before is not None and before.status == "IN_PROGRESS"


def test_models_are_found_without_diacritics(owner: psycopg.Connection[Any],
                                             world: World) -> None:
    tenant = world.models[0].tenant_id
    mine = [m for m in world.models if m.tenant_id == tenant]
    def models(**filters: Any) -> Any:
        return model_pages(owner, [tenant], **filters)[tenant]

    for text in ("duong doan", "ĐƯỜNG ĐOÀN", "Đường Đoàn", "mo hinh"):
        page = models(search=text)
        assert page.total_count == len(mine), text
    assert models(search="không có").total_count == 0
    assert models(search="100%").total_count == 0
    assert models(search="\uff05").total_count == 0  # full-width %: folded into a wildcard
    first = models(first=1)
    rest = models(first=100, after=first.end_cursor)
    assert len(first.items) + len(rest.items) == len(mine)
    one = models_by_id(owner, [first.items[0].id])[first.items[0].id]
    assert one == first.items[0]
    recognised = models(state="recognized_province")
    assert all(m.state == "recognized_province" for m in recognised.items)


def test_models_with_their_tenants_are_what_the_two_reads_give_in_scope(
        settings: Settings, owner: psycopg.Connection[Any], world: World) -> None:
    a = str(world.tenants[0].id)
    ids = [str(m.id) for m in world.models] + ["9b0c5a64-5d1e-4f0e-8f57-7f1c2d6a9e10"]

    def apart(conn: psycopg.Connection[Any]) -> tuple[Any, Any]:
        found = models_by_id(conn, ids)
        tenants = tenants_by_id(conn, [m.tenant_id for m in found.values()])
        return found, {m.tenant_id: tenants.get(m.tenant_id) for m in found.values()}

    everything = models_with_tenants(owner, ids)
    assert everything == apart(owner) and len(everything[0]) == len(world.models)
    assert all(t is not None for t in everything[1].values())
    with connect_app(settings) as conn, scoped(conn, tenant_ids=[a]):
        mine = models_with_tenants(conn, ids)
        assert mine == apart(conn) and mine[0]
        assert {m.tenant_id for m in mine[0].values()} == set(mine[1]) == {a}


def test_the_recognition_registry_keeps_decisions_and_revocations(
        owner: psycopg.Connection[Any], world: World) -> None:
    ids = [str(t.id) for t in world.tenants]
    rows = [r for found in recognitions_by_tenant(owner, ids).values() for r in found]
    assert any(r.revoked_at is not None and r.revoke_reason for r in rows)
    assert all(r.decision_number and isinstance(r.decision_date, date) for r in rows)
    active = [r for found in recognitions_by_tenant(owner, ids, include_revoked=False).values()
              for r in found]
    assert len(active) == sum(len(m.recognitions) for m in world.models)


def test_plan_tasks_are_overdue_when_due_and_not_done(owner: psycopg.Connection[Any],
                                                      world: World) -> None:
    task = world.tasks[0]
    def tasks(**when: Any) -> Any:
        return plan_tasks_by_tenant(owner, [task.tenant_id], **when)[task.tenant_id]

    assert [r.title for r in tasks()] == [task.title]
    due = date.fromisoformat(task.due_date)
    later = tasks(today=due + timedelta(days=1))[0]
    assert later.overdue == (task.completed_on is None)
    assert not tasks(today=due)[0].overdue


def test_the_audit_trail_filters_by_aggregate_actor_type_and_time(
        owner: psycopg.Connection[Any], world: World) -> None:
    model = world.models[0]
    trail = audit_trail(owner, model.tenant_id, aggregate_id=str(model.id))
    assert [e.version for e in trail.items] == list(range(1, model.version + 1))
    assert trail.items[0].type == "Model.Registered"
    assert "password_hash" not in trail.items[0].payload
    positions = [e.position for e in audit_trail(owner, model.tenant_id).items]
    assert positions == sorted(positions)
    accepted = audit_trail(owner, model.tenant_id, type_="Model.Accepted")
    assert accepted.items and all(e.type == "Model.Accepted" for e in accepted.items)
    models = audit_trail(owner, model.tenant_id, type_="Model")
    assert models.items and all(e.type.startswith("Model.") for e in models.items)
    for wildcard in ("%", "_odel", "Mod%"):  # a type named so, not a pattern
        assert audit_trail(owner, model.tenant_id, type_=wildcard).items == []
    actor = trail.items[0].actor_id
    assert actor and all(e.actor_id == actor for e in
                         audit_trail(owner, model.tenant_id, actor_id=actor).items)
    middle = trail.items[len(trail.items) // 2].at
    early = audit_trail(owner, model.tenant_id, to=middle)
    assert early.items and all(e.at < middle for e in early.items)
    page = audit_trail(owner, model.tenant_id, first=2)
    following = audit_trail(owner, model.tenant_id, first=2, after=page.end_cursor)
    assert following.items[0].position > page.items[-1].position


def test_row_level_security_shows_readers_only_their_tenants(
        settings: Settings, owner: psycopg.Connection[Any], world: World) -> None:
    a, b = (str(t.id) for t in world.tenants[:2])
    with connect_app(settings) as conn:
        assert conn.execute("SELECT count(*) FROM danvan_read.models").fetchone() == (0,)
        with scoped(conn, tenant_ids=[a]):
            seen = {r[0] for r in conn.execute("SELECT tenant_id FROM danvan_read.models")}
            assert seen == {a}
            audit = {r[0] for r in conn.execute("SELECT tenant_id FROM danvan_read.audit_log")}
            assert audit == {a}
            assert tenants_by_id(conn, [b]) == {}
        with scoped(conn, province_codes=[PROVINCE]):
            seen = {r[0] for r in conn.execute("SELECT tenant_id FROM danvan_read.models")}
            assert seen == {m.tenant_id for m in world.models}
            figures = province_figures(conn, PROVINCE, world.models[0].year)
            assert len(figures.quotas) == len(world.tenants)
            scopes = {r[0] for r in conn.execute(
                "SELECT tenant_id FROM danvan_read.province_targets")}
            assert scopes == {f"province:{PROVINCE}"}
        with scoped(conn, province_codes=["01"]):
            assert conn.execute("SELECT count(*) FROM danvan_read.tenants").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM danvan_read.models")


def test_the_province_figures_answer_the_same_prepared_past_the_generic_plan_and_a_rebuild(
        settings: Settings, owner: psycopg.Connection[Any], world: World) -> None:
    """The computed figures' province-keyed statements are prepared on the readers'
    connections (``graphql.db``): the same figures as the owner's unprepared reads, from the
    first call, past the sixth (when PostgreSQL may choose a generic plan) and after a
    blue/green rebuild of every read model they read."""
    year = world.models[0].year
    expected = province_figures(owner, PROVINCE, year, now=LATER)
    assert expected.quotas and any(q.new_models_target for q in expected.quotas)

    def figures(conn: psycopg.Connection[Any], pipelined: bool = True) -> Any:
        with conn.pipeline() if pipelined else contextlib.nullcontext(), \
                scoped(conn, province_codes=[PROVINCE]):  # pipelined: as the readers read
            return province_figures(conn, PROVINCE, year, now=LATER)

    with connect_app(settings) as conn:
        conn.prepare_threshold = ONLY_WHEN_ASKED
        for n in range(8):
            assert figures(conn, pipelined=n % 2 == 0) == expected
        prepared = conn.execute("SELECT count(*) FROM pg_prepared_statements "
                                "WHERE statement LIKE '%tenant_targets%'").fetchone()
        assert prepared == (1,)
        rebuild(owner, by_names(["directory", "targets", "models"]),
                app_role=settings.app_db_role)
        for _ in range(3):
            assert figures(conn) == expected


def test_the_scope_follows_the_directory_across_a_rebuild_on_the_same_session(
        settings: Settings, owner: psycopg.Connection[Any], world: World) -> None:
    tenants = sorted(str(t.id) for t in world.tenants)
    extra = "9b0c5a64-5d1e-4f0e-8f57-7f1c2d6a9e10"

    def scope(conn: psycopg.Connection[Any], **given: list[str]) -> list[str]:
        with scoped(conn, **given):
            found = conn.execute("SELECT danvan_read.scope()").fetchone()
        assert found is not None
        return list(found[0])

    with connect_app(settings) as conn:
        assert scope(conn) == [] and scope(conn, tenant_ids=[extra]) == [extra]
        assert scope(conn, province_codes=["01"]) == ["province:01"]
        first = scope(conn, tenant_ids=[extra], province_codes=[PROVINCE])
        assert first[0] == extra and first[-1] == f"province:{PROVINCE}"
        assert sorted(first[1:-1]) == tenants
        rebuild(owner, by_names(["directory"]), app_role=settings.app_db_role)
        assert scope(conn, tenant_ids=[extra], province_codes=[PROVINCE]) == first


def test_lag_reports_head_position_and_whether_it_moves(
        settings: Settings, owner: psycopg.Connection[Any], world: World) -> None:
    caught_up = lag_report(owner)
    assert caught_up["ok"] and {p["lag_events"] for p in caught_up["projections"]} == {0}
    world.run([("register", 1, 1), ("advance", 1, 1)])
    head = log_head(owner)
    lags = projection_lag(owner)
    assert {p.head for p in lags} == {head}
    assert all(p.lag_events == 2 and not p.runner_alive for p in lags)
    stalled = lag_report(owner, now=datetime.now(UTC) + timedelta(minutes=5))
    assert not stalled["ok"]
    with connect_app(settings) as conn:  # the API's role can ask too
        assert lag_report(conn)["head"] == head
    runner = make_runner(settings)
    try:
        runner.catch_up()
        alive = projection_lag(owner)
        assert all(p.runner_alive and p.lag_events == 0 and p.advancing for p in alive)
    finally:
        runner.close()


def test_the_projector_folds_names_exactly_as_danvan_fold(
        owner_conn: psycopg.Connection[Any]) -> None:
    """The models' writes spell ``danvan_fold`` out (``registry.folded``): the two must
    agree on any name, or a search would miss models."""
    names = ["Đường Hội Phụ nữ", "ĐẠI ĐOÀN KẾT", "Cây xăng 0 đồng", "e\u0301 combining",
             "Ｆｕｌｌ\uff05", "İstanbul ß ǅ", "tab\there", "", "🌾 lúa"]
    rows = owner_conn.execute(
        f"SELECT public.danvan_fold(n), {folded('n')} FROM unnest(%s::text[]) AS n",
        (names,)).fetchall()
    assert len(rows) == len(names)
    for expected, got in rows:
        assert got == expected


@pytest.mark.parametrize("rows", [FEW_ROWS, FEW_ROWS - 1], ids=["COPY", "INSERT"])
def test_rows_spelled_for_copy_land_as_copy_rows_lands_them(
        rows: int, owner_conn: psycopg.Connection[Any]) -> None:
    """``copy_line``/``copy_text`` (the audit index's rows) and ``copy_rows`` give the same
    table for values that need escaping, whether they go by COPY or, fewer, by an INSERT's
    parameters; and ``copy_safe`` lets none of those through."""
    hostile = ["a\tb", "c\nd", "e\rf", "g\\h", "\\N", "\\.", "tab\t\\t", "Đường", "", " "]
    values = [(str(i), value, None if i % 2 else value)
              for i, value in enumerate((hostile * 2)[:rows])]
    owner_conn.execute("CREATE TEMP TABLE spelled (n int, a text, b text)")
    owner_conn.execute("CREATE TEMP TABLE formatted (n int, a text, b text)")
    with owner_conn.cursor() as cur:
        copy_text(cur, "spelled", ("n", "a", "b"), [copy_line(row) for row in values])
        copy_rows(cur, "formatted", ("n", "a", "b"), values)
    spelled = owner_conn.execute("SELECT * FROM spelled ORDER BY n").fetchall()
    assert spelled == owner_conn.execute("SELECT * FROM formatted ORDER BY n").fetchall()
    assert [(str(n), a, b) for n, a, b in spelled] == values
    assert [copy_safe(v) for v in hostile] == [False] * 7 + [True] * 3


def test_copy_values_reads_back_what_copy_line_spelled() -> None:
    hostile = ["a\tb", "c\nd", "e\rf", "g\\h", "\\N", "\\.", "tab\t\\t", "\\\\n", "Đường", ""]
    assert copy_values(copy_line([*hostile, None])) == [*hostile, None]
