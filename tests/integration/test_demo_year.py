"""The demo year: every event from the real aggregates, stored in timestamp order."""

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
