"""The ``Context`` dependency: who asks, for which tenant, when, under which correlation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request
from litestar.di import Provide

from danvan.backend.auth.guards import PROVINCE_PARAMS, TENANT_PARAM, principal_of
from danvan.backend.http.idempotency import current_key
from danvan.backend.http.preconditions import expected_version
from danvan.domain.base import Actor, Context
from danvan.domain.policies import SpecialRole, province_scope


def request_ids(request: Request[Any, Any, Any]) -> tuple[str, str]:
    state = request.scope.get("state") or {}
    request_id = str(state.get("request_id") or "")
    return request_id, str(state.get("correlation_id") or request_id)


def build_context(request: Request[Any, Any, Any], *, at: datetime | None = None) -> Context:
    """A command context from the principal, the path's scope and the request's ids.

    The actor's role is the first grant the route's guard matched (``allow(action)``), else
    the caller's first grant. The tenant is the path's ``{tenant_id}``, else the province
    scope of ``{code}``/``{province_code}``, else the scope of that grant.
    """
    principal = principal_of(request)
    grants = request.state.get("grants") or list(principal.grants)
    grant = grants[0] if grants else None
    params = request.path_params
    if TENANT_PARAM in params:
        tenant_id = str(params[TENANT_PARAM])
    elif province := next((str(params[p]) for p in PROVINCE_PARAMS if p in params), None):
        tenant_id = province_scope(province)
    elif grant is not None:
        tenant_id = grant.tenant_id or province_scope(grant.province_code)
    else:
        tenant_id = ""
    request_id, correlation_id = request_ids(request)
    pending = current_key()
    extra = {"idempotency_key": pending.key} if pending is not None else {}
    return Context(tenant_id=tenant_id,
                   actor=Actor(user_id=principal.user_id,
                               role=grant.role if grant else SpecialRole.NONE),
                   at=at or datetime.now(UTC), correlation_id=correlation_id,
                   causation_id=None, request_id=request_id, extra=extra)


def provide_context(request: Request[Any, Any, Any]) -> Context:
    return build_context(request)


def provide_expected_version(request: Request[Any, Any, Any], ctx: Context) -> int | None:
    """``ctx`` unused: see ``DEPENDENCIES``."""
    return expected_version(request)


DEPENDENCIES: dict[str, Provide] = {
    "ctx": Provide(provide_context, sync_to_thread=False),
    "if_match": Provide(provide_expected_version, sync_to_thread=False),
}
"""Registered on the API router: handlers declare ``ctx: NamedDependency[Context]`` and
``if_match: NamedDependency[int | None]``.

Each dependency of a command takes the one before it (``ctx``, then ``if_match``, then what a
guard resolved: ``controllers.deps.resolved``), although it does not use it: Litestar resolves
dependencies that do not depend on each other concurrently, in an anyio task group per
request, which cost some 75 µs of the server's CPU per command for work of a microsecond."""
