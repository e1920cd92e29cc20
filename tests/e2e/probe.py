"""A small controller used only by the tests: it exercises the shared plumbing the way the
resource controllers do (guards, ``ctx``, ``if_match``, saving aggregates)."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from danvan.backend.auth.guards import allow, principal_of
from danvan.backend.http.preconditions import etag
from danvan.backend.services.repository import check_version
from danvan.domain.base import Context
from danvan.domain.commands import ChangeGrants, RegisterUser
from danvan.domain.policies import Action, RoleGrant
from danvan.domain.users import User


class ProbePerson(msgspec.Struct, forbid_unknown_fields=True):
    phone: str


class ProbeUser(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    full_name: str
    age: Annotated[int, msgspec.Meta(ge=0)] = 0
    person: ProbePerson | None = None


class ProbeGrants(msgspec.Struct, forbid_unknown_fields=True):
    roles: list[str]
    delay: float = 0.0


class ProbeController(Controller):
    path = "/probe"

    @get("/whoami", sync_to_thread=False)
    def whoami(self, request: Request[Any, Any, Any],
               ctx: NamedDependency[Context]) -> dict[str, Any]:
        principal = principal_of(request)
        return {"user_id": principal.user_id, "username": principal.username,
                "tenant_id": ctx.tenant_id, "role": ctx.actor.role,
                "request_id": ctx.request_id, "correlation_id": ctx.correlation_id}

    @post("/tenants/{tenant_id:str}/users", guards=[allow(Action.USER_CREATE)],
          sync_to_thread=True)
    def create_user(self, request: Request[Any, Any, Any], tenant_id: FromPath[str],
                    data: JSONBody[ProbeUser], ctx: NamedDependency[Context]) -> Response[Any]:
        store = request.app.state["services"].store
        user = User.register(ctx, RegisterUser(data.username, "-", data.full_name,
                                               (RoleGrant("reviewer", "15", tenant_id),)))
        store.save(user)
        return Response({"id": str(user.id), "version": user.version, "state": "active"},
                        status_code=201, headers=etag(user.version))

    @post("/tenants/{tenant_id:str}/users/{user_id:uuid}/grants",
          guards=[allow(Action.USER_CREATE)], sync_to_thread=True, status_code=200)
    def change_grants(self, request: Request[Any, Any, Any], tenant_id: FromPath[str],
                      user_id: FromPath[uuid.UUID], data: JSONBody[ProbeGrants],
                      ctx: NamedDependency[Context],
                      if_match: NamedDependency[int | None]) -> dict[str, Any]:
        store = request.app.state["services"].store
        user = store.repository.get(user_id)
        check_version(if_match, user.version)
        if data.delay:
            time.sleep(data.delay)
        user.change_grants(ctx, ChangeGrants(tuple(RoleGrant(r, "15", tenant_id)
                                                  for r in data.roles)))
        store.save(user)
        return {"id": str(user.id), "version": user.version, "state": "active"}
