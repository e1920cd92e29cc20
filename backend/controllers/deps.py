"""The adapters a controller needs, as set on ``app.state`` by the wiring module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeAlias

from eventsourcing.application import Application
from litestar import Request, Response
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter

from danvan.backend.auth.guards import Guard, answering
from danvan.backend.errors import Problem
from danvan.domain.base import Context
from danvan.domain.policies import RoleGrant
from danvan.domain.policies import unit_scope as units_confined_to
from danvan.domain.targets import FIRST_YEAR, LAST_YEAR
from danvan.infra.catalogue import Catalogue, official_catalogue
from danvan.infra.personal_data import PersonalDataVault

Connection: TypeAlias = ASGIConnection[Any, Any, Any, Any]


def store_of(request: Connection) -> Application:
    store = request.app.state.get("store")
    if store is None:
        raise Problem(503, "store_unavailable")
    return store


def vault_of(request: Request[Any, Any, Any]) -> PersonalDataVault | None:
    return request.app.state.get("vault")


def catalogue_of(request: Request[Any, Any, Any]) -> Catalogue:
    return request.app.state.get("catalogue") or official_catalogue()


def matched_grants(request: Connection) -> list[RoleGrant]:
    """The caller's grants that the route's guard found allowing its action here."""
    return list(request.state.get("grants") or [])


def unit_scope(grants: list[RoleGrant]) -> str | None:
    """The unit a caller acting under ``grants`` is confined to (``policies.unit_scope``),
    None when it is not; confined to several units at once, it may act for none."""
    units = units_confined_to(grants)
    if units is None or not grants:
        return None
    if len(units) == 1:
        return next(iter(units))
    raise Problem(403, "other_unit")


def resolve_in_guard(name: str, resolve: Callable[[Connection], object]) -> Guard:
    """A guard that resolves what the path names into ``request.state[name]`` (see
    ``resolved``); place it after the role guard.

    Litestar decodes a JSON body before it resolves a handler's dependencies, so an aggregate
    resolved by a dependency would let a malformed body (422) answer before an unknown id
    (404) or another unit's (403), against the contract's order; guards run before the body
    is read.
    """

    async def guard(connection: Connection, _: BaseRouteHandler) -> None:
        connection.state[name] = await sync_to_thread(resolve, connection)

    guard.__name__ = f"resolve[{name}]"
    return answering(guard, 403, 404)  # 403: another unit's (``unit_scope``)


def resolved(name: str) -> Provide:
    """The dependency handing a handler what ``resolve_in_guard(name, ...)`` resolved."""

    def provide(request: Request[Any, Any, Any], if_match: int | None) -> Any:
        # (if_match unused: one dependency after another, ``http.context.DEPENDENCIES``)
        return request.state[name]

    return Provide(provide, sync_to_thread=False)


HttpRequest: TypeAlias = Request[Any, Any, Any]
Ctx: TypeAlias = NamedDependency[Context]
IfMatch: TypeAlias = NamedDependency[int | None]
Answer: TypeAlias = Response[dict[str, Any]]
YearInPath: TypeAlias = Annotated[int, Parameter(ge=FIRST_YEAR, le=LAST_YEAR)]
"""A year in a path, bounded as the domain bounds years (a 422 naming it otherwise)."""
