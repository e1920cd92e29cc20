"""Shared by the job tests: settings for fast retries and leases, waiting, a tenant with
something to be reminded of, local delivery peers (an SMTP server, a webhook)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from danvan.domain.base import Actor, Context
from danvan.domain.clock import VIETNAM
from danvan.domain.commands import (
    AddUnit,
    CompletePlanTask,
    OnboardTenant,
    SchedulePlanTask,
    SetTenantTargets,
    SubmitModel,
)
from danvan.domain.model import Model
from danvan.domain.plans import PlanTask
from danvan.domain.policies import province_scope
from danvan.domain.targets import TenantTargets, YearTargets
from danvan.domain.tenants import Tenant, TenantKind
from danvan.domain.units import Unit, UnitKind
from danvan.infra.database import connect_app, connect_owner
from danvan.infra.event_store import EventStore
from danvan.infra.jobs import JobRow, JobStore
from danvan.infra.settings import Settings
from danvan.projections.embedded import make_runner
from danvan.projections.schema import ensure_read_models
from tests.conftest import make_settings
from tests.unit.builders import complete_form

T = TypeVar("T")

AT = datetime(2026, 6, 10, 7, 0, tzinfo=VIETNAM)
"""The fixed clock of the reminder tests: 07:00 on 10 June 2026, after the deadline."""


def job_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings whose jobs retry once after a second and whose lease is two seconds."""
    values: dict[str, Any] = {"redis_url": None, "job_lease_seconds": 2,
                              "job_max_retries": 1, "job_min_backoff_seconds": 1,
                              "job_max_backoff_seconds": 1, "job_poll_ms": 50,
                              "db_pool_size": 4}
    values.update(overrides)
    return make_settings(database_url, tmp_path, **values)


def wait_for(check: Callable[[], T | None], timeout: float = 30.0, what: str = "it") -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def job_store(settings: Settings) -> JobStore:
    return JobStore(lambda: connect_app(settings))


def finished(settings: Settings, job_id: str, timeout: float = 30.0) -> JobRow:
    store = job_store(settings)

    def done() -> JobRow | None:
        row = store.get(job_id)
        return row if row is not None and row.state in ("succeeded", "failed") else None

    return wait_for(done, timeout, f"job {job_id}")


def project(settings: Settings) -> None:
    """Bring the read models up to date with the log."""
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
    runner = make_runner(settings)
    try:
        runner.catch_up()
    finally:
        runner.close()


def ctx(tenant_id: str, role: str, at: datetime) -> Context:
    return Context(tenant_id=tenant_id, actor=Actor(f"user-{role}", role), at=at,
                   correlation_id="corr", causation_id=None, request_id="req")


@dataclass
class ReminderWorld:
    """phường Yên Bái on 10 June 2026: two units (one without a registration), targets it is
    behind on, and four plan tasks (overdue, due in four days, due in twenty, completed)."""

    tenant: Tenant
    units: dict[str, Unit] = field(default_factory=dict)
    tasks: dict[str, PlanTask] = field(default_factory=dict)

    @property
    def tenant_id(self) -> str:
        return str(self.tenant.id)


def reminder_world(store: EventStore, *, code: str = "04252",
                   name: str = "Phường Yên Bái") -> ReminderWorld:
    early = datetime(2026, 2, 1, 9, 0, tzinfo=VIETNAM)
    tenant = Tenant.onboard(ctx(province_scope("15"), "province_admin", early),
                            OnboardTenant(code, name, TenantKind.WARD, "15"))
    store.save(tenant)
    world = ReminderWorld(tenant)
    tid = world.tenant_id
    admin = ctx(tid, "tenant_admin", early)
    for unit_name, kind in (("Chi bộ Tổ dân phố 1", UnitKind.PARTY_CELL),
                            ("Hội Liên hiệp Phụ nữ phường", UnitKind.MASS_ORG)):
        unit = Unit.add(admin, AddUnit(unit_name, kind, False))
        store.save(unit)
        world.units[unit_name] = unit
    targets = TenantTargets.set_first(admin, SetTenantTargets(2026, YearTargets(10, 2, 1, 1)))
    store.save(targets)
    registered = world.units["Chi bộ Tổ dân phố 1"]
    unit_ctx = ctx(tid, "unit_user", datetime(2026, 3, 2, 9, 0, tzinfo=VIETNAM))
    model = Model.register(unit_ctx, registered, complete_form(str(registered.id)))
    model.handle(SubmitModel(), unit_ctx)
    store.save(model)
    for title, due in (("Quán triệt Chỉ thị 10-CT/TU", date(2026, 6, 1)),
                       ("Ban hành kế hoạch của đơn vị", date(2026, 6, 14)),
                       ("Hội nghị sơ kết 6 tháng", date(2026, 6, 30)),
                       ("Tập huấn cán bộ dân vận", date(2026, 6, 12))):
        task = PlanTask.schedule(admin, SchedulePlanTask(2026, title, due))
        world.tasks[title] = task
    done = world.tasks["Tập huấn cán bộ dân vận"]
    done.complete(ctx(tid, "tenant_admin", datetime(2026, 6, 5, 9, 0, tzinfo=VIETNAM)),
                  CompletePlanTask("Đã tập huấn"))
    store.save(*world.tasks.values())
    return world


EXPECTED = {
    "plan_tasks": ["Quán triệt Chỉ thị 10-CT/TU", "Ban hành kế hoạch của đơn vị"],
    "units_without_registration": ["Hội Liên hiệp Phụ nữ phường"],
    "targets_at_risk": ["new_models", "recognized_tenant_level", "recognized_province_level"],
}
"""What ``reminder_world`` is reminded of at ``AT``: subject -> the items' titles."""


def reminder_events(settings: Settings, tenant_id: str) -> list[tuple[str, str, list[str]]]:
    """Each ``Reminder.Sent`` of the tenant in the log: (subject, day, item titles)."""
    with connect_owner(settings) as conn:
        rows = conn.execute(
            "SELECT convert_from(state, 'UTF8') FROM danvan_events WHERE tenant_id = %s "
            "AND topic LIKE %s ORDER BY notification_id", (tenant_id, "%Reminder.Sent")
        ).fetchall()
    found = []
    for (state,) in rows:
        data = json.loads(state)
        found.append((data["subject"], data["day"], [i["title"] for i in data["items"]]))
    return found


class Webhook:
    """A local HTTP server that records each POST (``status`` is what it answers)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.status = 200
        self.release = threading.Event()
        self.release.set()
        self.arrived = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append((dict(self.headers), json.loads(body)))
                hook.arrived.set()
                hook.release.wait(30)
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @contextmanager
    def running(self) -> Iterator[Webhook]:
        self.thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()
