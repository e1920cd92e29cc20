"""The yardsticks of ``bench.projections``: the library's own ProjectionRunner with an
equivalent simple projection, and a live writer going through the real event store."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Identifier

from danvan.domain.base import Actor, Context
from danvan.domain.commands import AddUnit, OnboardTenant
from danvan.domain.tenants import Tenant, TenantKind
from danvan.domain.units import Unit, UnitKind
from danvan.infra.database import eventsourcing_env
from danvan.infra.event_store import EventStore, open_event_store
from danvan.infra.settings import Settings


class CountsView(PostgresTrackingRecorder):
    """Events counted per tenant and type, with the library's tracking, one transaction
    per event."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.counts_table = Identifier(datastore.schema, "bench_library_counts")
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {0} (tenant_id text, type text, n bigint, "
            "PRIMARY KEY (tenant_id, type))").format(self.counts_table))

    def count(self, tenant_id: str, type_: str, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("INSERT INTO {0} VALUES (%s, %s, 1) ON CONFLICT (tenant_id, type) "
                             "DO UPDATE SET n = {0}.n + 1").format(self.counts_table),
                         (tenant_id, type_), prepare=True)
            self._insert_tracking(curs, tracking)


class CountsProjection(Projection[CountsView]):
    name = "bench_library_counts"
    topics: tuple[str, ...] = ()

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.count(domain_event.tenant_id, type(domain_event).__qualname__, tracking)


def run_library_runner(url: str, limit: int) -> tuple[int, float]:
    """Events processed and seconds taken to process the first ``limit`` events."""
    settings = Settings(env="test", database_url=url)
    env = eventsourcing_env(settings, "owner")
    env["BENCH_LIBRARY_COUNTS_CREATE_TABLE"] = "true"
    # The library's defaults (the owner's env is sized for migrations: one connection).
    env.update({"POSTGRES_POOL_SIZE": "5", "POSTGRES_MAX_OVERFLOW": "10",
                "POSTGRES_MAX_WAITING": "0"})
    with psycopg_connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS public.bench_library_counts")
        conn.execute("DROP TABLE IF EXISTS public.bench_library_counts_tracking")
        row = conn.execute("SELECT notification_id FROM public.danvan_events "
                           "ORDER BY notification_id OFFSET %s LIMIT 1", (limit - 1,)).fetchone()
    if row is None:
        raise ValueError(f"the log has fewer than {limit} events")
    upto = int(row[0])
    started = time.perf_counter()
    with ProjectionRunner(application_class=EventStore, projection_class=CountsProjection,
                          view_class=CountsView, env=env) as runner:
        runner.wait(upto, timeout=3600)
        seconds = time.perf_counter() - started
    return limit, seconds


def psycopg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


class LiveWriter:
    """Appends through the real event store, one small aggregate per commit."""

    def __init__(self, url: str) -> None:
        self.settings = Settings(env="test", database_url=url)
        self.store = open_event_store(self.settings, "owner")
        at = datetime.now(UTC)
        ctx = Context(tenant_id="province:99", actor=Actor("bench", "province_admin"), at=at,
                      correlation_id="bench-live")
        self.tenant = Tenant.onboard(ctx, OnboardTenant(f"LIVE{int(time.time())}", "Bench live",
                                                        TenantKind.AGENCY, "99"))
        self.store.save(self.tenant)
        self.serial = 0

    def write_for(self, seconds: float, rate: float) -> list[tuple[int, float]]:
        """(position, commit time) of every event written."""
        written: list[tuple[int, float]] = []
        interval = 1.0 / rate
        end = time.monotonic() + seconds
        next_at = time.monotonic()
        tenant_id = str(self.tenant.id)
        while time.monotonic() < end:
            self.serial += 1
            ctx = Context(tenant_id=tenant_id, actor=Actor("bench", "tenant_admin"),
                          at=datetime.now(UTC), correlation_id=f"live-{self.serial}")
            unit = Unit.add(ctx, AddUnit(f"Đơn vị {self.serial}", UnitKind.OTHER))
            recordings = self.store.save(unit)
            committed = time.time()
            written += [(r.notification.id, committed) for r in recordings]
            next_at += interval
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        return written

    def close(self) -> None:
        self.store.close()
