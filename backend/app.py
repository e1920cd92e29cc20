"""The Litestar application: the one place that registers controllers and error handlers.

    app = create_app(settings)                        # production wiring
    app = create_app(settings, services=build(settings, redis=None))   # tests

Add a resource controller to ``API_CONTROLLERS`` (served under ``/api/v1``); its handlers get
the ``ctx`` and ``if_match`` dependencies (``backend/http/context.py``), and every error they
raise goes through ``backend/errors.py``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.datastructures import State
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from danvan.backend import pages
from danvan.backend.auth.controller import AuthController, LoginLimits, PasswordController
from danvan.backend.auth.middleware import EXCLUDE_FROM_AUTH, bearer_auth
from danvan.backend.controllers.health import HealthController
from danvan.backend.controllers.imports import (
    ImportTemplateController,
    ProvinceImportController,
    TenantImportController,
)
from danvan.backend.controllers.jobs import (
    JobController,
    ProvinceOperationsController,
    TenantOperationsController,
)
from danvan.backend.controllers.models import ModelController, TenantRecognitionController
from danvan.backend.controllers.planning import ProvinceController, TenantPlanningController
from danvan.backend.controllers.public import PublicRegistryController
from danvan.backend.controllers.reports import (
    ProvinceReportController,
    ReportController,
    TenantReportController,
)
from danvan.backend.controllers.tenants import TenantController
from danvan.backend.errors import EXCEPTION_HANDLERS, MAX_BODY_BYTES
from danvan.backend.heap import frozen_after_startup
from danvan.backend.http.body import JsonRequest
from danvan.backend.http.context import DEPENDENCIES
from danvan.backend.http.idempotency import IdempotencyMiddleware
from danvan.backend.http.openapi import BoundedDecimalSchema, document_routes
from danvan.backend.http.position import PositionMiddleware
from danvan.backend.observability import RequestObservability, configure_logging
from danvan.backend.observability.metrics import JobMetrics, render_metrics
from danvan.backend.wiring import Services, build, load_catalogue
from danvan.infra.settings import Settings, get_settings

API_PREFIX = "/api/v1"

API_CONTROLLERS: list[ControllerRouterHandler] = [
    AuthController,
    PasswordController,
    TenantController,
    ProvinceController,
    TenantPlanningController,
    ModelController,
    TenantRecognitionController,
    JobController,
    ProvinceOperationsController,
    TenantOperationsController,
    TenantImportController,
    ProvinceImportController,
    ImportTemplateController,
    ReportController,
    TenantReportController,
    ProvinceReportController,
    PublicRegistryController,
]


@dataclass(frozen=True)
class HttpOptions:
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    max_body_bytes: int = MAX_BODY_BYTES
    access_log: bool = True
    executor_threads: int | None = None
    """Threads for ``sync_to_thread`` handlers; default: the store's pool size + overflow + 4."""
    debug: bool = False
    freeze_heap: bool = False
    """Freeze the startup heap out of the garbage collector's sight (``backend/heap.py``):
    ``serve_app``, the factory ``danvan serve`` runs, sets it."""


def _app_version() -> str:
    try:
        return version("danvan")
    except PackageNotFoundError:  # pragma: no cover
        return "0"


@get("/metrics", include_in_schema=False, opt={EXCLUDE_FROM_AUTH: True}, sync_to_thread=True)
def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text; the projection and job figures are read from the database."""
    services: Services = request.app.state["services"]
    extra = None
    if services.jobs is not None and services.db_pool is not None:
        from danvan.infra.outbox import pending

        pool = services.db_pool

        def outbox_pending() -> int:
            with pool.connection() as conn:
                return pending(conn)

        extra = JobMetrics(services.jobs, outbox_pending)
    body, content_type = render_metrics(services.projection_lag, extra)
    # Litestar appends the charset to text/* itself.
    return Response(body, media_type=content_type.replace("; charset=utf-8", ""))


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="danvan — Dân vận khéo",
        version=_app_version(),
        description="Command API of the 'Dân vận khéo' movement. Errors are RFC 9457 problem "
                    "details; send Accept-Language: en for English messages.",
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        components=Components(security_schemes={
            "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}),
        security=[{"BearerToken": []}],
    )


def _executor_lifespan(threads: int) -> Any:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        # Litestar's sync_to_thread uses the loop's default executor unless
        # litestar.concurrency.set_asyncio_executor was called before the loop started
        # (``danvan serve`` does); setting the loop default covers every server and tests.
        executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="danvan-sync")
        asyncio.get_running_loop().set_default_executor(executor)
        try:
            yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    return lifespan


def executor_threads(settings: Settings) -> int:
    """Enough threads to use every pooled connection, plus a few for CPU work (argon2)."""
    return settings.db_pool_size + settings.db_max_overflow + 4


@dataclass(frozen=True)
class ReadApi:
    """The read API in process: its sources and schema, shared by ``/graphql`` and the pages
    (``backend/pages``), which run their queries through it."""

    sources: Any
    schema: Any


def read_api(settings: Settings, services: Services, catalogue: Any) -> ReadApi | None:
    """The read API over the app role's pool: the event store for history and time travel,
    the vault for personal data, the chain verifier. None without a database."""
    pool = services.db_pool
    if pool is None:
        return None
    from danvan.graphql.live import QuotaFeed
    from danvan.graphql.replica import Replica
    from danvan.graphql.schema import build_schema
    from danvan.graphql.sources import ReadSources, caches_from_env
    from danvan.infra.audit_verify import trusted_keys, verify_tenant
    from danvan.infra.database import app_params
    from danvan.infra.event_store import EventStore
    from danvan.infra.seals import SealPolicy

    def verify(tenant_id: str) -> Any:
        with pool.connection() as conn:
            return verify_tenant(conn, tenant_id, check_signature=trusted_keys(settings).check,
                                 policy=SealPolicy.of(settings))

    def province_name(code: str) -> str | None:
        province = catalogue.province(code)
        return province.name if province is not None else None

    codes = tuple(p.code for p in catalogue.provinces())

    def read_sources(pool: Any, *, primary: bool) -> ReadSources:
        return ReadSources(pool=pool, store=services.store, vault=services.vault,
                           events_on_pool=primary and isinstance(services.store, EventStore)
                           and services.store.in_postgres,
                           verify_chain=verify, province_name=province_name,
                           province_codes=lambda: codes,
                           **caches_from_env(os.environ, production=settings.is_production))

    sources = read_sources(pool, primary=True)
    if services.replica_pool is not None:
        replica = read_sources(services.replica_pool, primary=False)
        sources.replica = Replica(replica, max_lag=settings.replica_max_lag_seconds,
                                  max_age=replica.freshness.max_age)
    sources.live = QuotaFeed(pool, sources.province_figures, app_params(settings).conninfo())
    return ReadApi(sources, build_schema(production=settings.is_production))


def _live_lifespan(feed: Any) -> Any:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await feed.start()
        try:
            yield
        finally:
            await feed.stop()

    return lifespan


def graphql_routes(settings: Settings, reading: ReadApi | None, *,
                   generations: Any = None) -> list[ControllerRouterHandler]:
    """The read API at ``/graphql`` (``danvan.graphql``): queries over HTTP, subscriptions
    over WebSocket (the pages' session or a bearer token)."""
    if reading is None:
        return []
    from danvan.backend.auth.tokens import TokenReader
    from danvan.graphql.http import graphql_handlers
    from danvan.graphql.ws import live_graphql

    public = {EXCLUDE_FROM_AUTH: True}
    return [*graphql_handlers(reading.sources, production=settings.is_production,
                              public_opt=public, schema=reading.schema),
            live_graphql(reading.sources, reading.schema,
                         tokens=TokenReader(settings.secret_key), opt=public,
                         middleware=pages.session_middleware(settings, generations))]


def create_app(settings: Settings | None = None, *, services: Services | None = None,
               store: Any = None, options: HttpOptions | None = None,
               controllers: Sequence[ControllerRouterHandler] = ()) -> Litestar:
    """Build the app. Without ``services`` it wires production adapters from ``settings``
    (``store`` replaces the event store) and closes them at shutdown."""
    settings = settings or get_settings()
    options = options or HttpOptions()
    owned = services is None
    if services is None:
        services = build(settings, store=store) if store is not None else build(settings)
    configure_logging(settings.log_level)

    async def close_services() -> None:
        if owned:
            await services.aclose()

    generations = services.generations() if services.generations is not None else None
    api = Router(path=API_PREFIX, route_handlers=[*API_CONTROLLERS, *controllers],
                 dependencies=DEPENDENCIES, request_class=JsonRequest)
    catalogue = services.catalogue or load_catalogue()
    reading = read_api(settings, services, catalogue)
    app = Litestar(
        route_handlers=[api, HealthController, metrics,
                        *graphql_routes(settings, reading, generations=generations),
                        *pages.routes(settings, generations=generations)],
        middleware=[bearer_auth(settings.secret_key, generations=generations),
                    DefineMiddleware(IdempotencyMiddleware),
                    DefineMiddleware(PositionMiddleware)],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=options.max_body_bytes,
        openapi_config=_openapi(),
        plugins=[BoundedDecimalSchema()],
        state=State({
            "services": services,
            "settings": settings,
            "store": services.store,
            "vault": services.vault,
            "catalogue": catalogue,
            "login_limits": options.login_limits,
            "idempotency": services.idempotency,
            "idempotency_rebuild": services.idempotency_rebuild,
            "tenant_directory": services.tenant_directory,
            "read_api": reading,
        }),
        template_config=pages.template_config(),
        lifespan=[_executor_lifespan(options.executor_threads or executor_threads(settings)),
                  *([generations.lifespan] if generations is not None else []),
                  *([_live_lifespan(reading.sources.live)] if reading is not None else []),
                  *([frozen_after_startup()] if options.freeze_heap else [])],
        on_shutdown=[close_services],
        logging_config=None,
        debug=options.debug,
    )
    document_routes(app, API_PREFIX)
    app.asgi_handler = RequestObservability(app.asgi_handler,
                                            access_log_enabled=options.access_log)
    return app


def serve_app() -> Litestar:
    """The app as ``danvan serve`` runs it in each worker process."""
    return create_app(options=HttpOptions(freeze_heap=True))
