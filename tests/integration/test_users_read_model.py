"""The users read model: each account's row follows its events (a one-time password pending
until its holder changes it, roles and unit, deactivation with its reason, the latest change of
credentials), never holds a password hash, lists a tenant's accounts by username, searched
without diacritics and scoped by row-level security; and however the log is applied (batches
of any size, a rebuild), the rows come out the same."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from danvan.domain.base import Actor, Context
from danvan.domain.commands import (
    AddUnit,
    ChangeGrants,
    ChangePassword,
    DeactivateUser,
    OnboardTenant,
    RegisterUser,
    ResetPassword,
)
from danvan.domain.policies import RoleGrant, province_scope
from danvan.domain.tenants import Tenant, TenantKind
from danvan.domain.units import Unit, UnitKind
from danvan.domain.users import User
from danvan.infra.database import connect_app, connect_owner, owner_params
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.embedded import make_runner
from danvan.projections.events import log_head, topic_of
from danvan.projections.queries import scoped
from danvan.projections.rebuild import rebuild_all
from danvan.projections.schema import ensure_read_models
from danvan.projections.users.projection import Users
from danvan.projections.users.read import user_pages
from tests.integration.test_projection_histories import reset_read_models

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2VjcmV0LXNhbHQ$never-in-the-read-model"


class Story:
    """Accounts of two wards of province 15, through the domain, saved by the real store."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.now = START

    def ctx(self, role: str, tenant_id: str) -> Context:
        self.now += timedelta(minutes=7)
        return Context(tenant_id=tenant_id, actor=Actor(f"user-{role}", role), at=self.now,
                       correlation_id="corr", causation_id="cause", request_id="req")

    def tenant(self, code: str, name: str) -> str:
        tenant = Tenant.onboard(self.ctx("province_admin", province_scope("15")),
                                OnboardTenant(code, name, TenantKind.WARD, "15"))
        self.store.save(tenant)
        return str(tenant.id)

    def unit(self, tenant_id: str, name: str) -> str:
        unit = Unit.add(self.ctx("tenant_admin", tenant_id),
                        AddUnit(name, UnitKind.PARTY_CELL, False))
        self.store.save(unit)
        return str(unit.id)

    def user(self, tenant_id: str, username: str, full_name: str, role: str,
             unit_id: str | None = None, *, one_time: bool = False) -> User:
        user = User.register(self.ctx("tenant_admin", tenant_id), RegisterUser(
            username, HASH, full_name, (RoleGrant(role, "15", tenant_id, unit_id),),
            must_change_password=one_time))
        self.store.save(user)
        return user


@pytest.fixture
def story(event_store: EventStore) -> dict[str, Any]:
    s = Story(event_store)
    yen_bai, gia_phu = s.tenant("04252", "Phường Yên Bái"), s.tenant("02923", "Phường Gia Phú")
    cell = s.unit(yen_bai, "Chi bộ Tổ dân phố 5")
    admin = s.user(yen_bai, "quantri.yenbai", "Nguyễn Văn Quản", "tenant_admin")
    secretary = s.user(yen_bai, "bithu.to5", "Lò Văn Bí", "reviewer", one_time=True)
    # Registered, then made the cell's unit user and reset, all before the projector runs:
    # one batch must fold them in order.
    secretary.change_grants(s.ctx("tenant_admin", yen_bai), ChangeGrants(
        (RoleGrant("unit_user", "15", yen_bai, cell),)))
    secretary.reset_password(s.ctx("tenant_admin", yen_bai), ResetPassword(HASH))
    s.store.save(secretary)
    changed = s.user(yen_bai, "bxdd.yenbai", "Hà Thị Xây", "reviewer", one_time=True)
    changed.change_password(s.ctx("self", yen_bai), ChangePassword(HASH))
    s.store.save(changed)
    leaving = s.user(yen_bai, "thuongtruc.yenbai", "Vũ Văn Trực", "approver")
    leaving.deactivate(s.ctx("tenant_admin", yen_bai), DeactivateUser("Chuyển công tác"))
    s.store.save(leaving)
    leaving_at = s.now
    s.user(gia_phu, "quantri.giaphu", "Đặng Thị Quyên", "tenant_admin")
    # Yên Bái's inspector, made by the province in its own scope
    inspector = User.register(s.ctx("province_admin", province_scope("15")), RegisterUser(
        "thanhtra.yenbai", HASH, "Đặng Thị Tra", (RoleGrant("inspector", "15", yen_bai),)))
    s.store.save(inspector)
    return {"yen_bai": yen_bai, "gia_phu": gia_phu, "cell": cell, "admin": admin,
            "secretary": secretary, "changed": changed, "leaving": leaving,
            "leaving_at": leaving_at, "inspector": inspector}


def catch_up(settings: Settings, batch_size: int = 1000) -> None:
    runner = make_runner(settings, batch_size=batch_size, catch_up_batch_size=batch_size)
    runner.catch_up()
    runner.close()


@pytest.fixture
def owner(settings: Settings, story: dict[str, Any]) -> Iterator[psycopg.Connection[Any]]:
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
        yield conn


def dump(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """The accounts, then their listings."""
    return [*conn.execute("SELECT * FROM danvan_read.users ORDER BY user_id").fetchall(),
            *conn.execute("SELECT * FROM danvan_read.user_listings "
                          "ORDER BY listed_in, username").fetchall()]


def listed(settings: Settings, tenant_id: str, **filters: Any) -> list[Any]:
    with connect_app(settings) as conn, scoped(conn, tenant_ids=[tenant_id]):
        return list(user_pages(conn, [tenant_id], first=100, **filters)[tenant_id].items)


def test_each_row_follows_its_accounts_events_and_holds_no_password_hash(
        settings: Settings, owner: psycopg.Connection[Any], story: dict[str, Any]) -> None:
    catch_up(settings)
    rows = {u.username: u for u in listed(settings, story["yen_bai"])}
    assert list(rows) == ["bithu.to5", "bxdd.yenbai", "quantri.yenbai", "thanhtra.yenbai",
                          "thuongtruc.yenbai"]
    inspector = rows["thanhtra.yenbai"]
    assert inspector.tenant_id == "province:15" and inspector.id == str(story["inspector"].id)

    secretary = rows["bithu.to5"]
    assert secretary.id == str(story["secretary"].id)
    assert [g["role"] for g in secretary.grants] == ["unit_user"]
    assert secretary.unit_id == story["cell"]
    assert secretary.must_change_password  # an admin's reset leaves a one-time password one
    assert secretary.credentials_changed_at is not None
    assert secretary.credentials_changed_at > secretary.registered_at

    assert not rows["bxdd.yenbai"].must_change_password  # changed by its holder
    admin = rows["quantri.yenbai"]
    assert admin.active and admin.credentials_changed_at is None and admin.unit_id is None
    assert admin.full_name == "Nguyễn Văn Quản" and admin.tenant_id == story["yen_bai"]

    leaving = rows["thuongtruc.yenbai"]
    assert not leaving.active
    assert leaving.deactivated_at == story["leaving_at"]
    assert leaving.deactivated_reason == "Chuyển công tác"

    stored = owner.execute("SELECT string_agg(u::text, ' ') FROM danvan_read.users u"
                           ).fetchone()
    assert stored is not None and "argon2" not in stored[0] and HASH not in stored[0]


def test_a_tenants_list_is_searched_without_diacritics_filtered_and_paged(
        settings: Settings, owner: psycopg.Connection[Any], story: dict[str, Any]) -> None:
    catch_up(settings)
    tenant = story["yen_bai"]
    assert [u.username for u in listed(settings, tenant, search="van quan")] == [
        "quantri.yenbai"]
    assert [u.username for u in listed(settings, tenant, search="THỊ XÂY")] == ["bxdd.yenbai"]
    assert [u.username for u in listed(settings, tenant, search="to5")] == ["bithu.to5"]
    assert listed(settings, tenant, search="%") == []  # a wildcard is a character
    # so are the full-width ones, which folding (unaccent) turns into %, _ and \
    for wide in ("\uff05", "\uff3f", "\uff3c", "\ufe6a", "\u2216"):
        assert listed(settings, tenant, search=wide) == [], wide
    assert [u.username for u in listed(settings, tenant, active=False)] == [
        "thuongtruc.yenbai"]
    assert len(listed(settings, tenant, active=True)) == 4

    with connect_app(settings) as conn, scoped(conn, tenant_ids=[tenant]):
        first = user_pages(conn, [tenant], first=4)[tenant]
        rest = user_pages(conn, [tenant], first=4, after=first.end_cursor)[tenant]
    assert first.total_count == rest.total_count == 5 and first.has_next_page
    assert [u.username for u in rest.items] == ["thuongtruc.yenbai"]
    assert not rest.has_next_page


def test_row_level_security_shows_only_the_scopes_tenants(
        settings: Settings, owner: psycopg.Connection[Any], story: dict[str, Any]) -> None:
    catch_up(settings)
    yen_bai, gia_phu = story["yen_bai"], story["gia_phu"]
    with connect_app(settings) as conn, scoped(conn, tenant_ids=[gia_phu]):
        pages = user_pages(conn, [yen_bai, gia_phu], first=100)
    assert pages[yen_bai].items == [] and pages[yen_bai].total_count == 0
    assert [u.username for u in pages[gia_phu].items] == ["quantri.giaphu"]
    with connect_app(settings) as conn, scoped(conn, province_codes=["15"]):
        pages = user_pages(conn, [yen_bai, gia_phu], first=100)
    assert pages[yen_bai].total_count == 5 and pages[gia_phu].total_count == 1


def test_an_account_holding_a_role_in_a_tenant_is_seen_there_and_nowhere_else(
        settings: Settings, owner: psycopg.Connection[Any], story: dict[str, Any]) -> None:
    """The province's inspector of Yên Bái: listed in Yên Bái and in the province's own scope,
    for readers of either; another ward of the province and another province see no row of
    it, by row-level security, whatever they ask for."""
    catch_up(settings)
    yen_bai, gia_phu = story["yen_bai"], story["gia_phu"]
    asked = [yen_bai, gia_phu, "province:15", "province:01"]

    def seen(**scope: list[str]) -> dict[str, list[str]]:
        with connect_app(settings) as conn, scoped(conn, **scope):
            pages = user_pages(conn, asked, first=100)
            rows = conn.execute("SELECT username FROM danvan_read.users "
                                "WHERE username = 'thanhtra.yenbai'").fetchall()
        return {"rows": [r[0] for r in rows],
                **{t: [u.username for u in p.items if u.username == "thanhtra.yenbai"]
                   for t, p in pages.items()}}

    inspector = ["thanhtra.yenbai"]
    assert seen(tenant_ids=[yen_bai]) == {"rows": inspector, yen_bai: inspector, gia_phu: [],
                                          "province:15": [], "province:01": []}
    assert seen(province_codes=["15"]) == {"rows": inspector, yen_bai: inspector,
                                           gia_phu: [], "province:15": inspector,
                                           "province:01": []}
    nothing = {"rows": [], yen_bai: [], gia_phu: [], "province:15": [], "province:01": []}
    assert seen(tenant_ids=[gia_phu]) == nothing
    assert seen(province_codes=["01"]) == nothing
    assert seen() == nothing


def test_a_change_of_roles_moves_the_account_between_the_tenants_it_is_listed_in(
        settings: Settings, owner: psycopg.Connection[Any], story: dict[str, Any],
        event_store: EventStore) -> None:
    """Roles moved from Yên Bái to Gia Phú (once before the projector saw the account, once
    after): listed in Gia Phú and no longer in Yên Bái; its own scope keeps it."""
    yen_bai, gia_phu = story["yen_bai"], story["gia_phu"]
    early = User.register(Story(event_store).ctx("system", province_scope("15")), RegisterUser(
        "kiemtra.som", HASH, "Kiểm Tra Sớm", (RoleGrant("inspector", "15", yen_bai),)))
    early.change_grants(Story(event_store).ctx("system", province_scope("15")), ChangeGrants(
        (RoleGrant("inspector", "15", gia_phu),)))
    event_store.save(early)
    catch_up(settings)
    inspector = event_store.repository.get(story["inspector"].id)
    inspector.change_grants(Story(event_store).ctx("system", province_scope("15")),
                            ChangeGrants((RoleGrant("inspector", "15", gia_phu),)))
    event_store.save(inspector)
    catch_up(settings)
    moved = {"kiemtra.som", "thanhtra.yenbai"}
    assert not moved & {u.username for u in listed(settings, yen_bai)}
    assert moved <= {u.username for u in listed(settings, gia_phu)}
    with connect_app(settings) as conn, scoped(conn, province_codes=["15"]):
        own = user_pages(conn, ["province:15"], first=100)["province:15"].items
    assert moved <= {u.username for u in own}


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5])
def test_any_batching_and_a_rebuild_give_the_same_rows(
        settings: Settings, owner: psycopg.Connection[Any], story: dict[str, Any],
        batch_size: int, event_store: EventStore) -> None:
    province = Story(event_store).ctx("system", province_scope("15"))
    moved = User.register(province, RegisterUser(  # an inspector moved to another ward
        "kiemtra.chuyen", HASH, "Kiểm Tra Chuyển",
        (RoleGrant("inspector", "15", story["yen_bai"]),)))
    event_store.save(moved)
    moved.change_grants(province, ChangeGrants((RoleGrant("inspector", "15", story["gia_phu"]),)))
    event_store.save(moved)
    catch_up(settings)
    reference = dump(owner)
    assert len(reference) == 7 + 9  # seven accounts, listed once each and two of them twice

    reset_read_models(owner, settings.app_db_role)
    catch_up(settings, batch_size)
    assert dump(owner) == reference

    done = rebuild_all(owner_params(settings).conninfo(), [Users()],
                       app_role=settings.app_db_role, batch_size=batch_size + 1)
    assert [r.position for r in done] == [log_head(owner)]
    assert dump(owner) == reference


def test_an_account_registered_before_one_time_passwords_is_read_upcast(
        settings: Settings, owner: psycopg.Connection[Any], story: dict[str, Any]) -> None:
    """``User.Registered`` version 1 had no ``must_change_password``: read as False (this
    account was registered with a one-time password, stored here as version 1)."""
    with owner.transaction():
        owner.execute("SET LOCAL session_replication_role = replica")  # past the guard
        owner.execute(
            "UPDATE public.danvan_events SET state = convert_to(("
            "convert_from(state, 'UTF8')::jsonb - 'must_change_password' - 'class_version'"
            ")::text, 'UTF8') WHERE topic = %s AND originator_id = %s",
            (topic_of(User.Registered), story["secretary"].id))
    catch_up(settings)
    secretary = next(u for u in listed(settings, story["yen_bai"])
                     if u.username == "bithu.to5")
    assert not secretary.must_change_password and secretary.active
    assert secretary.unit_id == story["cell"]
