"""Route guards that ask the one policy table (``danvan.domain.policies.may``).

``allow(action)`` reads the scope from the path: ``{tenant_id}`` (a tenant: its own tenant
roles apply, and province roles of the tenant's province), else ``{code}`` or
``{province_code}`` (a province: province roles of that province), else any grant that may do
``action``. Matching grants are left in ``request.state["grants"]`` for the ``Context``
dependency (the actor's role is the first match). Order of answers: 401 (middleware), 403 (a
scope the caller may not see, whether it exists or not), 404 (an unknown tenant, only for
callers holding a province role that would cover it).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from eventsourcing.application import AggregateNotFoundError, Application
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from danvan.backend.auth.tokens import Principal
from danvan.backend.errors import Problem
from danvan.domain.policies import RoleGrant, grants_allowing, may, province_needed
from danvan.domain.tenants import Tenant

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]

TENANT_PARAM = "tenant_id"
PROVINCE_PARAMS = ("code", "province_code")

PROBLEM_STATUSES = "problem_statuses"
"""The attribute naming the error statuses a guard answers (``answering``), which the OpenAPI
document lists for each route that has it (``backend/http/openapi.py``); 403 when unset."""


def answering(guard: Guard, *statuses: int) -> Guard:
    """``guard``, marked as answering ``statuses`` when it refuses."""
    setattr(guard, PROBLEM_STATUSES, frozenset(statuses))
    return guard


class TenantDirectory(Protocol):
    def province_of(self, tenant_id: str) -> str | None:
        """The tenant's province code, or None when no such tenant exists (sync, may do I/O)."""
        ...


class StoreTenantDirectory:
    """Reads a tenant's province from its aggregate; provinces never change, so it caches.
    An id of any other aggregate (a unit, a model, a province's targets) names no tenant."""

    def __init__(self, store: Application, max_entries: int = 50_000) -> None:
        self.store = store
        self.max_entries = max_entries
        self._cache: dict[str, str] = {}

    def province_of(self, tenant_id: str) -> str | None:
        cached = self._cache.get(tenant_id)
        if cached is not None:
            return cached
        try:
            tenant: Any = self.store.repository.get(uuid.UUID(tenant_id))
        except (AggregateNotFoundError, ValueError):
            return None
        if not isinstance(tenant, Tenant):
            return None
        province = tenant.province_code
        if len(self._cache) < self.max_entries:
            self._cache[tenant_id] = province
        return province


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise Problem(401, "unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    return user


def _forbidden() -> Problem:
    return Problem(403, "forbidden")


async def scoped_grants(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal,
                        actions: tuple[str, ...]) -> list[RoleGrant]:
    """The caller's grants allowing one of ``actions`` in the path's scope (maybe none).

    Raises 404 only for an unknown ``{tenant_id}`` asked by a province role that would
    cover it; every other refusal is left to the caller (403).
    """
    params = connection.path_params
    held = principal.grants
    if TENANT_PARAM in params:
        tenant_id = str(params[TENANT_PARAM])
        if not province_needed(held, *actions, tenant_id=tenant_id):
            return grants_allowing(held, *actions, tenant_id=tenant_id)
        directory: TenantDirectory | None = connection.app.state.get("tenant_directory")
        if directory is None:
            return []
        province = await sync_to_thread(directory.province_of, tenant_id)
        if province is None:
            raise Problem(404, "not_found")
        return grants_allowing(held, *actions, tenant_id=tenant_id, province_code=province)
    province_code = next((str(params[p]) for p in PROVINCE_PARAMS if p in params), None)
    if province_code is not None:
        return grants_allowing(held, *actions, province_code=province_code)
    return [g for g in held if any(may(g.role, a) for a in actions)]


def allow_any(*actions: str) -> Guard:
    """A guard admitting callers whose grants allow one of ``actions`` in the path's scope.

    The matching grants (in the order of ``actions``) go to ``request.state["grants"]``.
    """

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        grants = await scoped_grants(connection, principal_of(connection), actions)
        if not grants:
            raise _forbidden()
        connection.state["grants"] = grants

    guard.__name__ = f"allow[{'|'.join(actions)}]"
    return answering(guard, 403)


def allow(action: str) -> Guard:
    """A guard admitting callers whose grants allow ``action`` in the path's scope."""
    return allow_any(action)


def authenticated() -> Guard:
    """A guard that only requires a valid token (the middleware already checked it)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal_of(connection)

    return answering(guard, 401)
