"""Models: registration and every lifecycle action, one route per action (see API.md).

The model named in the path is resolved by a guard after the role guard, before Litestar
reads the body: an unknown model (404) or another unit's (403) answers before a bad body
(422), even a malformed one, as the contract orders them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from danvan.backend.auth.guards import allow, allow_any
from danvan.backend.controllers.deps import (
    Answer,
    Connection,
    Ctx,
    HttpRequest,
    IfMatch,
    matched_grants,
    resolve_in_guard,
    resolved,
    store_of,
    unit_scope,
    vault_of,
)
from danvan.backend.controllers.responses import run_command
from danvan.backend.dto import MODEL_ACTION_BODIES, Body, ModelCreate, Reason, as_body
from danvan.backend.errors import Problem
from danvan.backend.services import models
from danvan.domain.base import Actor, Context
from danvan.domain.commands import MODEL_ACTIONS
from danvan.domain.model import Model
from danvan.domain.policies import Action, may


def model_in_path(connection: Connection) -> Model:
    params = connection.path_params
    return models.model_in_scope(store_of(connection), str(params["tenant_id"]),
                                 str(params["model_id"]), unit_scope(matched_grants(connection)))


MODEL_IN_PATH = resolve_in_guard("model", model_in_path)


def _acting_as(request: HttpRequest, ctx: Ctx, action: str,
               body: dict[str, Any]) -> Context:
    """The context under the grant that allows this action (recognition and revocation
    depend on the level in the body)."""
    needed = MODEL_ACTIONS[action].action_for(body)
    allowed = [g for g in matched_grants(request) if may(g.role, needed)]
    if not allowed:
        raise Problem(403, "forbidden")
    if ctx.actor.role == allowed[0].role:
        return ctx
    return replace(ctx, actor=Actor(user_id=ctx.actor.user_id, role=allowed[0].role))


def _action_route(action: str) -> HTTPRouteHandler:
    spec = MODEL_ACTIONS[action]
    if action in ("recognition", "revocation"):
        guard = allow_any(spec.action_for({"level": "tenant"}),
                          spec.action_for({"level": "province"}))
    else:
        guard = allow(spec.action_for({}))

    def handler(self: Controller, request: HttpRequest, ctx: Ctx, model: NamedDependency[Model],
                if_match: IfMatch, data: JSONBody[Body]) -> Answer:
        body = as_body(data)
        actor = _acting_as(request, ctx, action, body)
        return run_command(f"model.{action}", lambda: models.act_on_model(
            store_of(request), actor, model, action, body, if_match))

    handler.__annotations__ = {**handler.__annotations__,
                               "data": JSONBody[MODEL_ACTION_BODIES[action]]}  # type: ignore[misc, valid-type]
    handler.__name__ = action.replace("-", "_")
    operation = "model" + "".join(part.capitalize() for part in action.split("-"))
    return post(f"/{{model_id:str}}/{action}", operation_id=operation,
                guards=[guard, MODEL_IN_PATH], summary=f"{action} (one event on the model)",
                status_code=200, sync_to_thread=True)(handler)


class ModelController(Controller):
    path = "/tenants/{tenant_id:str}/models"
    tags = ["models"]
    dependencies = {"model": resolved("model")}

    @post("/", operation_id="registerModel", guards=[allow(Action.MODEL_REGISTER)],
          sync_to_thread=True)
    def register(self, request: HttpRequest, ctx: Ctx,
                 data: JSONBody[ModelCreate]) -> Answer:
        scope = unit_scope(matched_grants(request))
        return run_command("model.register", lambda: models.register_model(
            store_of(request), vault_of(request), ctx, as_body(data), scope))

    @post("/{model_id:str}/personal-data-erasure", operation_id="erasePersonalData",
          guards=[allow(Action.PERSONAL_DATA_ERASE), MODEL_IN_PATH], status_code=200,
          sync_to_thread=True)
    def erase_personal_data(self, request: HttpRequest, ctx: Ctx, model: NamedDependency[Model],
                            if_match: IfMatch, data: JSONBody[Reason]) -> Answer:
        return run_command("model.personal_data_erasure", lambda: models.erase_personal_data(
            store_of(request), vault_of(request), ctx, model, as_body(data), if_match))


for _name in MODEL_ACTION_BODIES:
    setattr(ModelController, _name.replace("-", "_"), _action_route(_name))
