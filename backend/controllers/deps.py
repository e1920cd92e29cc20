"""The adapters a controller needs, as set on ``app.state`` by the wiring module."""

from __future__ import annotations

from typing import Any, TypeAlias

from eventsourcing.application import Application
from litestar import Request, Response
from litestar.di import NamedDependency

from danvan.backend.errors import Problem
from danvan.domain.base import Context
from danvan.domain.policies import UNIT_SCOPED_ROLES
from danvan.domain.users import RoleGrant
from danvan.infra.catalogue import Catalogue, official_catalogue
from danvan.infra.personal_data import PersonalDataVault


def store_of(request: Request[Any, Any, Any]) -> Application:
    store = request.app.state.get("store")
    if store is None:
        raise Problem(503, "store_unavailable")
    return store


def vault_of(request: Request[Any, Any, Any]) -> PersonalDataVault | None:
    return request.app.state.get("vault")


def catalogue_of(request: Request[Any, Any, Any]) -> Catalogue:
    return request.app.state.get("catalogue") or official_catalogue()


def matched_grants(request: Request[Any, Any, Any]) -> list[RoleGrant]:
    """The caller's grants that the route's guard found allowing its action here."""
    return list(request.state.get("grants") or [])


def unit_scope(grants: list[RoleGrant]) -> str | None:
    """The unit a caller is confined to: set only when every matching grant is unit-scoped."""
    if grants and all(g.role in UNIT_SCOPED_ROLES for g in grants):
        units = {g.unit_id for g in grants}
        if len(units) == 1:
            return next(iter(units))
        raise Problem(403, "other_unit")
    return None


HttpRequest: TypeAlias = Request[Any, Any, Any]
Ctx: TypeAlias = NamedDependency[Context]
IfMatch: TypeAlias = NamedDependency[int | None]
Answer: TypeAlias = Response[dict[str, Any]]
