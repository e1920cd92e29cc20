"""Tenants, their units and users: onboarding, roles, password resets and deactivation
(province admin, tenant admin)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from danvan.backend.auth.guards import allow
from danvan.backend.auth.passwords import hash_password
from danvan.backend.controllers.deps import (
    Answer,
    Connection,
    Ctx,
    HttpRequest,
    IfMatch,
    catalogue_of,
    matched_grants,
    resolve_in_guard,
    resolved,
    store_of,
)
from danvan.backend.controllers.responses import run_command
from danvan.backend.dto import (
    PasswordReset,
    Reason,
    RolesChange,
    TenantCreate,
    UnitCreate,
    UserCreate,
    closing,
    deactivating,
    given,
    given_id,
)
from danvan.backend.services import people, tenancy
from danvan.backend.services.repository import load
from danvan.domain.base import InvalidInput
from danvan.domain.commands import OnboardTenant
from danvan.domain.policies import Action
from danvan.domain.tenants import TenantKind
from danvan.domain.units import Unit
from danvan.domain.users import User
from danvan.infra.catalogue import Catalogue


def tenant_command(catalogue: Catalogue, data: TenantCreate) -> OnboardTenant:
    """``{code}`` from the catalogue, or an agency named by the province."""
    if data.kind == TenantKind.AGENCY:
        if not isinstance(data.province_code, str):
            raise InvalidInput({"province_code": "required"})
        if not isinstance(data.name, str):
            raise InvalidInput({"name": "required"})
        return tenancy.agency(catalogue, province_code=data.province_code, code=data.code,
                              name=data.name)
    return tenancy.from_catalogue(catalogue, data.code, kind=given(data.kind),
                                  province_code=given(data.province_code),
                                  name=given(data.name))


def new_user(data: UserCreate) -> people.NewUser:
    return people.NewUser(data.username, data.password, data.full_name, data.roles,
                          given_id(data.unit_id),
                          must_change_password=data.must_change_password)


def user_in_path(connection: Connection) -> User:
    params = connection.path_params
    return load(store_of(connection), User, str(params["user_id"]), str(params["tenant_id"]))


def unit_in_path(connection: Connection) -> Unit:
    params = connection.path_params
    return load(store_of(connection), Unit, str(params["unit_id"]), str(params["tenant_id"]))


class TenantController(Controller):
    path = "/tenants"
    tags = ["tenants"]

    @post("/", operation_id="onboardTenant", guards=[allow(Action.TENANT_ONBOARD)],
          sync_to_thread=True)
    def onboard(self, request: HttpRequest, ctx: Ctx,
                data: JSONBody[TenantCreate]) -> Answer:
        return run_command("tenant.onboard", lambda: tenancy.onboard_tenant(
            store_of(request), ctx, matched_grants(request),
            tenant_command(catalogue_of(request), data)))

    @get("/{tenant_id:str}", operation_id="getTenant", guards=[allow(Action.TENANT_READ)],
         sync_to_thread=True)
    def read(self, request: HttpRequest, tenant_id: FromPath[str]) -> dict[str, Any]:
        return tenancy.tenant_view(store_of(request), tenant_id)

    @post("/{tenant_id:str}/units", operation_id="addUnit", guards=[allow(Action.UNIT_ADD)],
          sync_to_thread=True)
    def add_unit(self, request: HttpRequest, ctx: Ctx,
                 data: JSONBody[UnitCreate]) -> Answer:
        return run_command("unit.add", lambda: tenancy.add_unit(store_of(request), ctx,
                                                                data.command()))

    @post("/{tenant_id:str}/units/{unit_id:str}/closure", operation_id="closeUnit",
          guards=[allow(Action.UNIT_CLOSE), resolve_in_guard("unit", unit_in_path)],
          dependencies={"unit": resolved("unit")}, status_code=200, sync_to_thread=True)
    def close_unit(self, request: HttpRequest, ctx: Ctx, unit: NamedDependency[Unit],
                   if_match: IfMatch, data: JSONBody[Reason]) -> Answer:
        return run_command("unit.close", lambda: tenancy.close_unit(
            store_of(request), ctx, unit, closing(data), if_match))

    @post("/{tenant_id:str}/users", operation_id="createTenantUser",
          guards=[allow(Action.USER_CREATE)], sync_to_thread=True)
    def create_user(self, request: HttpRequest, ctx: Ctx, tenant_id: FromPath[str],
                    data: JSONBody[UserCreate]) -> Answer:
        return run_command("user.create", lambda: people.create_tenant_user(
            store_of(request), ctx, tenant_id, new_user(data), hash_password))

    @put("/{tenant_id:str}/users/{user_id:str}/roles", operation_id="changeUserRoles",
         guards=[allow(Action.USER_CREATE), resolve_in_guard("user", user_in_path)],
         dependencies={"user": resolved("user")}, sync_to_thread=True)
    def change_roles(self, request: HttpRequest, ctx: Ctx, user: NamedDependency[User],
                     if_match: IfMatch, data: JSONBody[RolesChange]) -> Answer:
        return run_command("user.change_roles", lambda: people.change_user_roles(
            store_of(request), ctx, user, data.roles, given_id(data.unit_id), if_match))

    @post("/{tenant_id:str}/users/{user_id:str}/password-reset",
          operation_id="resetUserPassword",
          guards=[allow(Action.USER_PASSWORD_RESET), resolve_in_guard("user", user_in_path)],
          dependencies={"user": resolved("user")}, status_code=200, sync_to_thread=True)
    def reset_password(self, request: HttpRequest, ctx: Ctx, user: NamedDependency[User],
                       if_match: IfMatch, data: JSONBody[PasswordReset]) -> Answer:
        return run_command("user.reset_password", lambda: people.reset_password(
            store_of(request), ctx, user, data.new_password, hash_password, if_match))

    @post("/{tenant_id:str}/users/{user_id:str}/deactivation", operation_id="deactivateUser",
          guards=[allow(Action.USER_DEACTIVATE), resolve_in_guard("user", user_in_path)],
          dependencies={"user": resolved("user")}, status_code=200, sync_to_thread=True)
    def deactivate(self, request: HttpRequest, ctx: Ctx, user: NamedDependency[User],
                   if_match: IfMatch, data: JSONBody[Reason]) -> Answer:
        return run_command("user.deactivate", lambda: people.deactivate_user(
            store_of(request), ctx, user, deactivating(data), if_match))
