"""``GET /api/v1/public/recognized-models``: the public registry as JSON, for anyone (no
token), rate limited per client address and cached (``services.public_registry``)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.concurrency import sync_to_thread
from litestar.exceptions import ClientException, TooManyRequestsException
from litestar.params import Parameter

from danvan.backend.auth.middleware import EXCLUDE_FROM_AUTH
from danvan.backend.auth.ratelimit import Limit
from danvan.backend.errors import Problem
from danvan.backend.services.public_registry import (
    MAX_PAGE,
    RegistryCache,
    RegistryEntry,
    RegistryPage,
    RegistryQuery,
    recognized_models,
)
from danvan.backend.wiring import Services
from danvan.domain.clock import vietnam_date
from danvan.domain.targets import FIRST_YEAR, LAST_YEAR

PER_ADDRESS = Limit(attempts=120, window_seconds=60)
CACHE_STATE = "public_registry_cache"


class UnprocessableQuery(ClientException):
    """Documents the 422 a bad query parameter answers (``invalid_input``)."""

    status_code = 422


class PublicRegistry(msgspec.Struct):
    province: str | None
    year: int
    field: str | None
    tenant: str | None
    page: int
    pages: int
    total: int
    items: list[RegistryEntry]
    """The registry's rows as the service gives them: no personal datum is among them."""


def registry_page(request: Request[Any, Any, Any], query: RegistryQuery) -> RegistryPage:
    """The page of the registry (cached); blocking, run on a worker thread."""
    services: Services = request.app.state["services"]
    if services.db_pool is None:
        raise Problem(503, "store_unavailable", headers={"Retry-After": "5"})
    catalogue = request.app.state["catalogue"]
    from datetime import UTC, datetime

    checked = query.checked(catalogue, vietnam_date(datetime.now(UTC)))
    cache: RegistryCache | None = request.app.state.get(CACHE_STATE)
    if cache is None:
        cache = RegistryCache()
        request.app.state[CACHE_STATE] = cache
    return cache.get(checked, lambda: recognized_models(services.db_pool, catalogue, checked))


async def limit_public(request: Request[Any, Any, Any]) -> None:
    services: Services = request.app.state["services"]
    address = request.client.host if request.client else "unknown"
    decision = await services.limiter.hit(f"public:addr:{address}", PER_ADDRESS)
    if not decision.allowed:
        raise Problem(429, "rate_limited", headers={"Retry-After": str(decision.retry_after)},
                      retry_after=decision.retry_after)


def as_json(page: RegistryPage) -> PublicRegistry:
    query = page.query
    return PublicRegistry(
        province=query.province, year=query.year or 0, field=query.field, tenant=query.tenant,
        page=query.page, pages=page.pages, total=page.total,
        items=list(page.entries))


class PublicRegistryController(Controller):
    path = "/public"
    tags = ("public",)
    opt = {EXCLUDE_FROM_AUTH: True}

    @get("/recognized-models", operation_id="publicRecognizedModels",
         summary="Recognised, not revoked models (no login; no personal data)",
         raises=[UnprocessableQuery, TooManyRequestsException])
    async def recognized_models(
            self, request: Request[Any, Any, Any],
            province: Annotated[str | None, Parameter(max_length=8)] = None,
            year: Annotated[int | None, Parameter(ge=FIRST_YEAR, le=LAST_YEAR)] = None,
            field: Annotated[str | None, Parameter(max_length=32)] = None,
            tenant: Annotated[str | None, Parameter(max_length=64)] = None,
            page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1) -> PublicRegistry:
        """Recognised, not revoked models with their tenant, unit, field, level, decision
        and the registration's summary; without ``year``, the current year. Never an
        exemplar's personal details."""
        await limit_public(request)
        query = RegistryQuery(province=province, year=year, field=field, tenant=tenant,
                              page=page)
        return as_json(await sync_to_thread(registry_page, request, query))
