"""The composition root: builds the process's adapters from settings; tests pass their own.

    services = build(settings)                       # production defaults
    services = build(settings, store=my_store, redis=None, limiter=MemoryLimiter())
    app = create_app(settings, services=services)

Everything that holds a connection is created here, once per process, and closed by
``Services.close()`` (the app calls it at shutdown for what it built itself).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import Application
from psycopg_pool import ConnectionPool
from redis.asyncio import Redis

from danvan.backend.auth.credentials import Generations, record_generations
from danvan.backend.auth.guards import StoreTenantDirectory, TenantDirectory
from danvan.backend.auth.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from danvan.backend.http.idempotency import (
    IdempotencyStore,
    Rebuild,
    rebuild_from_store,
    record_pending_key,
)
from danvan.infra.delivery import Channel, channels
from danvan.infra.jobs import JobStore
from danvan.infra.settings import Settings

log = logging.getLogger(__name__)


class RecorderHookError(RuntimeError):
    """A PostgreSQL store whose recorder cannot write rows in its events' transaction."""


ProjectionLag = Callable[[], dict[str, Any]]
"""Returns ``{"ok": bool, ...details}`` (``projections.lag.lag_report``); readiness and
``/metrics`` report it. ``build`` reads it over the app pool unless given another."""


@dataclass
class Services:
    settings: Settings
    store: Application | None = None
    redis: Redis | None = None
    db_pool: ConnectionPool[Any] | None = None
    replica_pool: ConnectionPool[Any] | None = None
    """App-role connections to the streaming replica GraphQL reads from, if one is set."""
    limiter: Limiter = field(default_factory=MemoryLimiter)
    idempotency: IdempotencyStore | None = None
    idempotency_rebuild: Rebuild | None = None
    idempotency_in_transaction: bool = False
    generations: Callable[[], Generations] | None = None
    """Makes, for one app (one event loop), the reader of users' current credentials
    generations; None where the store is not PostgreSQL's (tokens are then not checked)."""
    tenant_directory: TenantDirectory | None = None
    vault: Any | None = None
    catalogue: Any | None = None
    projection_lag: ProjectionLag | None = None
    jobs: JobStore | None = None
    delivery: dict[str, Channel] = field(default_factory=dict)
    """The reminders' delivery channels configured by environment (none by default)."""
    redis_prefix: str = "danvan:"
    owns_redis: bool = False
    closers: list[Callable[[], Any]] = field(default_factory=list)

    async def aclose(self) -> None:
        """Close what ``build`` opened itself (not adapters passed in)."""
        if self.redis is not None and self.owns_redis:
            await self.redis.aclose()
        self.close()

    def close(self) -> None:
        """Close the synchronous adapters ``build`` opened itself."""
        while self.closers:
            closer = self.closers.pop()
            try:
                closer()
            except Exception as exc:  # keep closing the rest
                log.warning("closing %s failed: %s", closer, exc)


def open_store(settings: Settings) -> Application:
    """The process's event store, its recorder hooked (``hook_recorder``)."""
    from danvan.infra.event_store import open_event_store

    store = open_event_store(settings, "app")
    hook_recorder(store)
    return store


def hook_recorder(store: Application) -> bool:
    """Register the rows that commit with the events (``InTransaction`` writers of the
    store's recorder, ``infra/event_store.py``): idempotency keys and credentials
    generations. False for a store whose recorder takes none (not PostgreSQL's); an error for
    a PostgreSQL one that would skip them (``POSTGRES_ENABLE_DB_FUNCTIONS``), as tokens could
    then never be revoked."""
    from eventsourcing.postgres import PostgresApplicationRecorder

    from danvan.infra.event_store import InTransactionWriters

    recorder = store.recorder
    if isinstance(recorder, InTransactionWriters) and not recorder.datastore.enable_db_functions:
        recorder.add_writers(record_pending_key, record_generations)
        return True
    if isinstance(recorder, PostgresApplicationRecorder):
        raise RecorderHookError("the event store's recorder cannot write the credentials "
                                "generations in its insert transaction (database functions "
                                "enabled?): revoked tokens would still be accepted")
    return False


def open_db_pool(settings: Settings, *, max_size: int = 4, name: str = "danvan-aux",
                 durable: bool = True, replica: bool = False) -> ConnectionPool[Any]:
    """A small pool of app-role connections for the idempotency table, vault and health.
    ``durable=False``: sessions that commit without waiting for the WAL flush
    (``synchronous_commit = off``), for bookkeeping only (the job workers' ``JobStore``).
    ``replica=True``: to the read replica (``DANVAN_READ_REPLICA_URL``) instead."""
    from danvan.infra.database import app_params, replica_params

    kwargs: dict[str, Any] = {"autocommit": True,
                              "connect_timeout": settings.db_connect_timeout_seconds}
    if not durable:
        kwargs["options"] = "-c synchronous_commit=off"
    pool: ConnectionPool[Any] = ConnectionPool(
        (replica_params(settings) if replica else app_params(settings)).conninfo(),
        min_size=1, max_size=max_size, open=False,
        timeout=settings.db_connect_timeout_seconds, name=name, kwargs=kwargs)
    pool.open(wait=False)
    return pool


def open_generations_reader(settings: Settings) -> Generations:
    """One app's reader of the current credentials generations (``backend/auth``)."""
    from danvan.infra.database import app_params

    return Generations(app_params(settings).conninfo(),
                       timeout=settings.db_connect_timeout_seconds)


def open_redis(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2,
                          health_check_interval=30)


def open_vault(settings: Settings, pool: ConnectionPool[Any]) -> Any | None:
    try:
        from danvan.infra.personal_data import PersonalDataVault, kek_from_secret
    except ImportError:  # pragma: no cover - arrives with the personal data work
        return None
    return PersonalDataVault(pool, kek_from_secret(settings.secret_key))


@functools.cache
def load_catalogue() -> Any:
    """The official catalogue of administrative units (about 1 s to load: once a process)."""
    from danvan.infra.catalogue import official_catalogue

    return official_catalogue()


_UNSET: Any = object()


def build(settings: Settings, *, store: Application | None = _UNSET,
          redis: Redis | None = _UNSET, limiter: Limiter | None = None,
          db_pool: ConnectionPool[Any] | None = _UNSET, vault: Any = _UNSET,
          tenant_directory: TenantDirectory | None = None, catalogue: Any = None,
          projection_lag: ProjectionLag | None = None,
          redis_prefix: str = "danvan:", aux_pool_size: int = 4) -> Services:
    """Production adapters for whatever is not given; pass ``None`` to go without one.
    ``aux_pool_size``: connections of the auxiliary pool (a job worker: one per thread)."""
    services = Services(settings=settings, projection_lag=projection_lag,
                        redis_prefix=redis_prefix, catalogue=catalogue)
    if store is _UNSET:
        store = open_store(settings) if settings.database_url else None
        if store is not None:
            services.closers.append(store.close)
    services.store = store
    if db_pool is _UNSET:
        db_pool = (open_db_pool(settings, max_size=aux_pool_size) if settings.database_url
                   else None)
        if db_pool is not None:
            services.closers.append(db_pool.close)
    services.db_pool = db_pool
    if settings.read_replica_url and db_pool is not None:
        services.replica_pool = open_db_pool(settings, max_size=aux_pool_size,
                                             name="danvan-replica", replica=True)
        services.closers.append(services.replica_pool.close)
    if redis is _UNSET:
        redis = open_redis(settings.redis_url) if settings.redis_url else None
        services.owns_redis = redis is not None
    services.redis = redis
    if limiter is not None:
        services.limiter = limiter
    elif redis is not None:
        services.limiter = RedisLimiter(redis, prefix=redis_prefix + "rl:")
    if db_pool is not None:
        services.idempotency = IdempotencyStore(db_pool.connection)
        services.jobs = JobStore(db_pool.connection)
    services.delivery = channels(settings)
    if store is not None:
        services.idempotency_rebuild = rebuild_from_store(store)
        services.idempotency_in_transaction = hook_recorder(store)
        if services.idempotency_in_transaction:
            services.generations = functools.partial(open_generations_reader, settings)
        services.tenant_directory = tenant_directory or StoreTenantDirectory(store)
    else:
        services.tenant_directory = tenant_directory
    if vault is _UNSET:
        vault = open_vault(settings, db_pool) if db_pool is not None else None
    services.vault = vault
    if projection_lag is None and db_pool is not None:
        from danvan.projections.lag import lag_probe

        services.projection_lag = lag_probe(db_pool)
    return services
