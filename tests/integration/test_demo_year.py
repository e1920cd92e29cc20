"""The demo year: every event from the real aggregates, stored in timestamp order; its
showcase ward's accounts are listed by the users read model, with their names (its inspector
among them)."""

from __future__ import annotations

import json
from datetime import datetime

import psycopg

from danvan.backend.auth.passwords import verify_password
from danvan.backend.demo import DEMO_PASSWORD, PROVINCE, SHOWCASE, load_demo
from danvan.domain.clock import VIETNAM
from danvan.domain.tenants import Tenant
from danvan.domain.users import User
from danvan.infra.audit_verify import verify_tenant
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.embedded import make_runner
from danvan.projections.schema import ensure_read_models
from danvan.projections.users.read import user_pages

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=VIETNAM)


def test_the_demo_year_is_a_valid_ordered_history(settings: Settings, event_store: EventStore,
                                                  owner_conn: psycopg.Connection) -> None:
    summary = load_demo(settings, year=2026, tenant_limit=3, now=NOW)
    assert summary is not None
    assert summary.tenants == 3 + 3  # two communes, the showcase ward, three agencies
    assert load_demo(settings, year=2026, tenant_limit=3, now=NOW) is None

    rows = owner_conn.execute("SELECT state, tenant_id FROM danvan_events "
                              "ORDER BY notification_id").fetchall()
    assert len(rows) == summary.events
    stamps = [json.loads(bytes(state))["timestamp"]["_data_"] for state, _ in rows]
    times = [datetime.fromisoformat(s) for s in stamps]
    assert times == sorted(times) and times[-1] <= NOW

    ward = event_store.repository.get(Tenant.id_for("ward", PROVINCE, SHOWCASE))
    assert isinstance(ward, Tenant) and ward.name == "Phường Yên Bái"
    for tenant_id in {t for _, t in rows}:
        assert verify_tenant(owner_conn, tenant_id).ok, tenant_id

    reviewer = event_store.repository.get(User.id_for("bxdd.yenbai"))
    assert isinstance(reviewer, User) and verify_password(reviewer.password_hash, DEMO_PASSWORD)
    assert reviewer.grants[0].tenant_id == str(ward.id)

    states = owner_conn.execute(
        "SELECT topic, count(*) FROM danvan_events GROUP BY topic").fetchall()
    topics = {topic.rsplit(".", 1)[-1] for topic, _ in states}
    assert {"Registered", "Accepted", "Recognized", "CopyReceived", "ProgressReported",
            "Approved", "Completed"} <= topics

    ensure_read_models(owner_conn, settings.app_db_role)
    runner = make_runner(settings)
    runner.catch_up()
    runner.close()
    accounts = user_pages(owner_conn, [str(ward.id)], first=100)[str(ward.id)].items
    assert [(u.username, u.full_name) for u in accounts] == [
        ("bithu.to1.yenbai", "Lò Văn Bí"), ("bxdd.yenbai", "Hà Thị Xây"),
        ("quantri.yenbai", "Nguyễn Văn Quản"), ("thanhtra.yenbai", "Đặng Thị Tra"),
        ("thuongtruc.yenbai", "Vũ Văn Trực")]
    # the ward's inspector is made in the ward, as the API makes one: the province manages it there
    inspector = next(u for u in accounts if u.username == "thanhtra.yenbai")
    assert inspector.tenant_id == str(ward.id)
