"""Liveness and readiness: ``/health/live`` always answers; ``/health/ready`` checks deps.

Readiness checks PostgreSQL (``SELECT 1`` through the auxiliary pool, else the event store's
pool), Redis when configured, the projections (lag, quarantined events, halts, read from the
database by ``projections.lag``, so right wherever the projector runs) and the jobs' broker
(Redis when configured, with the worker processes alive and the outbox's backlog; else
in-process); each check is bounded by ``CHECK_TIMEOUT`` seconds, and the answer gives
per-check detail.

Readiness answers one question: should the load balancer send this replica requests? Only
the database decides that (``REQUIRED``): without it nothing works, 503 ``unavailable``.
Every other failure leaves the replica serving, so it answers 200 with status ``degraded``
and the failing checks' details: Redis down only stops logins (the rate limiter) and delays
jobs (they wait in the outbox); projections that lag, halted or quarantined events are the
same for every replica, so pulling replicas would turn stale or incomplete reads into no
service at all. No worker alive is reported, not failed. Alert on ``degraded`` or on the
``danvan_projection_*`` and ``danvan_outbox_pending`` figures of ``/metrics`` instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.openapi.datastructures import ResponseSpec

from danvan.backend.auth.middleware import EXCLUDE_FROM_AUTH
from danvan.backend.wiring import Services

CHECK_TIMEOUT = 2.0
REQUIRED = frozenset({"database"})
"""Checks without which this replica cannot serve (readiness 503); others degrade it."""


def _database_probe(services: Services) -> Callable[[], None] | None:
    if services.db_pool is not None:
        pool = services.db_pool

        def probe_pool() -> None:
            with pool.connection(timeout=CHECK_TIMEOUT) as conn:
                conn.execute("SELECT 1").fetchone()

        return probe_pool
    store = services.store
    datastore = getattr(getattr(store, "recorder", None), "datastore", None)
    if datastore is None or not hasattr(datastore, "pool"):
        return None

    def probe_store() -> None:
        with datastore.pool.connection(timeout=CHECK_TIMEOUT) as conn:
            conn.execute("SELECT 1").fetchone()

    return probe_store


async def _timed(check: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT + 0.5)
    except TimeoutError:
        result = {"ok": False, "error": "timeout"}
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _jobs_probe(services: Services) -> Callable[[], Awaitable[dict[str, Any]]] | None:
    pool = services.db_pool
    if pool is None:
        return None

    def outbox_pending() -> int:
        from danvan.infra.outbox import pending

        with pool.connection(timeout=CHECK_TIMEOUT) as conn:
            return pending(conn)

    settings = services.settings
    redis = services.redis if settings.redis_url else None

    async def jobs() -> dict[str, Any]:
        report: dict[str, Any] = {"ok": True, "broker": "in-process"}
        if redis is not None:
            from danvan.backend.jobs.broker import live_workers

            workers = await live_workers(redis, settings, int(time.time() * 1000))
            report.update(broker="redis", workers=int(workers))
        report["outbox_pending"] = await sync_to_thread(outbox_pending)
        return report

    return jobs


def _replica_probe(services: Services) -> Callable[[], Awaitable[dict[str, Any]]] | None:
    """How far the read replica's read models are behind the primary's: degraded beyond
    ``DANVAN_REPLICA_MAX_LAG`` (GraphQL then reads from the primary)."""
    primary_pool, replica_pool = services.db_pool, services.replica_pool
    if primary_pool is None or replica_pool is None:
        return None
    max_lag = services.settings.replica_max_lag_seconds

    def measure() -> dict[str, Any]:
        from danvan.projections.replica_lag import behind_seconds, replica_state
        from danvan.projections.schema import read_models_stamp, stamp_position

        with primary_pool.connection(timeout=CHECK_TIMEOUT) as conn:
            primary = stamp_position(read_models_stamp(conn))
        with replica_pool.connection(timeout=CHECK_TIMEOUT) as conn:
            state = replica_state(conn)
        lag = behind_seconds(primary, state)
        return {"ok": lag is not None and lag <= max_lag, "lag_seconds": lag,
                "max_lag_seconds": max_lag, "position": state.position,
                "primary_position": primary}

    async def replica() -> dict[str, Any]:
        return await sync_to_thread(measure)

    return replica


async def readiness(services: Services) -> dict[str, dict[str, Any]]:
    checks: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {}
    probe = _database_probe(services)
    if probe is not None:
        async def database() -> dict[str, Any]:
            await sync_to_thread(probe)
            return {"ok": True}

        checks["database"] = database
    if services.redis is not None:
        redis = services.redis

        async def redis_check() -> dict[str, Any]:
            await redis.ping()
            return {"ok": True}

        checks["redis"] = redis_check
    jobs_check = _jobs_probe(services)
    if jobs_check is not None:
        checks["jobs"] = jobs_check
    replica_check = _replica_probe(services)
    if replica_check is not None:
        checks["replica"] = replica_check
    lag = services.projection_lag
    if lag is not None:
        async def projections() -> dict[str, Any]:
            return dict(await sync_to_thread(lag))

        checks["projections"] = projections
    results = await asyncio.gather(*(_timed(check) for check in checks.values()))
    report = dict(zip(checks, results, strict=True))
    if lag is None:
        report["projections"] = {"ok": True, "detail": "none configured"}
    return report


def verdict(checks: dict[str, dict[str, Any]]) -> tuple[str, int]:
    """``ok`` (200), ``degraded`` (200: serving, see the module doc) or ``unavailable``
    (503: a required check failed)."""
    failed = {name for name, check in checks.items() if not check.get("ok")}
    if failed & REQUIRED:
        return "unavailable", 503
    return ("degraded" if failed else "ok"), 200


class HealthController(Controller):
    path = "/health"
    tags = ("health",)
    opt = {EXCLUDE_FROM_AUTH: True}

    @get("/live", operation_id="health_live", summary="The process answers")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", operation_id="health_ready", summary="Dependencies answer",
         responses={503: ResponseSpec(data_container=dict[str, Any], generate_examples=False,
                                      description="A dependency does not answer: the "
                                                  "same report, status unavailable.")})
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        services: Services = request.app.state["services"]
        checks = await readiness(services)
        status, code = verdict(checks)
        return Response({"status": status, "checks": checks}, status_code=code)
