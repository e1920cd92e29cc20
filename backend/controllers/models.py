"""Models: registration and every lifecycle action, one explicit handler per route (API.md).

Each handler turns its body into the domain's command and hands it to the service; the
route's guard asks the policy action of the command's row in ``commands.MODEL_ACTIONS``
(``allow_command``). The model named in the path is resolved by a guard after the role guard,
before Litestar reads the body: an unknown model (404) or another unit's (403) answers before
a bad body (422), even a malformed one, as the contract orders them.
"""

from __future__ import annotations

from dataclasses import replace

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from danvan.backend.auth.guards import Guard, allow, allow_any
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
from danvan.backend.dto import (
    Empty,
    Evaluation,
    Inspection,
    Maintenance,
    ModelAmend,
    ModelCreate,
    Progress,
    Reason,
    Recognition,
    RecognitionDecision,
    Revocation,
    SelfAssessment,
    discontinuing,
    erasing,
    rejecting,
    returning,
)
from danvan.backend.errors import Problem
from danvan.backend.services import models
from danvan.domain.base import Actor, Context
from danvan.domain.commands import (
    MODEL_ACTIONS,
    AcceptModel,
    AmendModel,
    DiscontinueModel,
    ErasePersonalData,
    EvaluateModel,
    InspectModel,
    Level,
    MaintainModel,
    ModelCommand,
    NominateModel,
    ProposeModel,
    ReceiveCopy,
    RecognizeModel,
    RejectModel,
    ReportProgress,
    ReturnModel,
    RevokeRecognition,
    SelfAssessModel,
    SubmitModel,
    rule_of,
)
from danvan.domain.model import Model
from danvan.domain.policies import Action, may


def model_in_path(connection: Connection) -> Model:
    params = connection.path_params
    return models.model_in_scope(store_of(connection), str(params["tenant_id"]),
                                 str(params["model_id"]), unit_scope(matched_grants(connection)))


MODEL_IN_PATH = resolve_in_guard("model", model_in_path)


def allow_command(command_type: type[ModelCommand]) -> list[Guard]:
    """The route's guards: a role allowed the command's policy action (any level's, where
    the level decides), then the path's model resolved."""
    actions = [rule.policy for rule in MODEL_ACTIONS[command_type].rules()]
    return [allow_any(*actions), MODEL_IN_PATH]


def acting(request: Connection, ctx: Context, command: ModelCommand) -> Context:
    """``ctx`` as the grant that allows ``command`` (recognition and revocation: the grant
    of the body's level); 403 when the route's grants allow none."""
    needed = rule_of(command).policy
    allowed = [g for g in matched_grants(request) if may(g.role, needed)]
    if not allowed:
        raise Problem(403, "forbidden")
    if ctx.actor.role != allowed[0].role:
        return replace(ctx, actor=Actor(user_id=ctx.actor.user_id, role=allowed[0].role))
    return ctx


def act(request: HttpRequest, ctx: Ctx, model: Model, command: ModelCommand,
        if_match: int | None) -> Answer:
    """Run one model action, as the grant that allows it."""
    actor = acting(request, ctx, command)
    route = MODEL_ACTIONS[type(command)].route.replace("-", "_")
    return run_command(f"model.{route}", lambda: models.act_on_model(
        store_of(request), actor, model, command, if_match))


Target = NamedDependency[Model]


class TenantRecognitionController(Controller):
    path = "/tenants/{tenant_id:str}/recognitions"
    tags = ["models"]

    @post("/", operation_id="recognizeModelsAtTenantLevel", status_code=200,
          guards=[allow(Action.MODEL_RECOGNITION_TENANT)], sync_to_thread=True)
    def recognize(self, request: HttpRequest, ctx: Ctx,
                  data: JSONBody[RecognitionDecision]) -> Answer:
        """One decision of the standing committee recognising every listed model of the
        tenant, all or none."""
        return run_command("model.recognition_decision", lambda: models.recognize_models(
            store_of(request), ctx, data.command(Level.TENANT)))


class ModelController(Controller):
    path = "/tenants/{tenant_id:str}/models"
    tags = ["models"]
    dependencies = {"model": resolved("model")}

    @post("/", operation_id="registerModel", guards=[allow(Action.MODEL_REGISTER)],
          status_code=201, sync_to_thread=True)
    def register(self, request: HttpRequest, ctx: Ctx,
                 data: JSONBody[ModelCreate]) -> Answer:
        scope = unit_scope(matched_grants(request))
        return run_command("model.register", lambda: models.register_model(
            store_of(request), vault_of(request), ctx, data.command(), scope))

    @post("/{model_id:str}/amend", operation_id="modelAmend", status_code=200,
          guards=allow_command(AmendModel), sync_to_thread=True)
    def amend(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
              data: JSONBody[ModelAmend]) -> Answer:
        return act(request, ctx, model, data.command(), if_match)

    @post("/{model_id:str}/submit", operation_id="modelSubmit", status_code=200,
          guards=allow_command(SubmitModel), sync_to_thread=True)
    def submit(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
               data: JSONBody[Empty]) -> Answer:
        return act(request, ctx, model, SubmitModel(), if_match)

    @post("/{model_id:str}/return", operation_id="modelReturn", status_code=200,
          guards=allow_command(ReturnModel), sync_to_thread=True)
    def return_for_revision(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                            data: JSONBody[Reason]) -> Answer:
        return act(request, ctx, model, returning(data), if_match)

    @post("/{model_id:str}/reject", operation_id="modelReject", status_code=200,
          guards=allow_command(RejectModel), sync_to_thread=True)
    def reject(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
               data: JSONBody[Reason]) -> Answer:
        return act(request, ctx, model, rejecting(data), if_match)

    @post("/{model_id:str}/accept", operation_id="modelAccept", status_code=200,
          guards=allow_command(AcceptModel), sync_to_thread=True)
    def accept(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
               data: JSONBody[Empty]) -> Answer:
        return act(request, ctx, model, AcceptModel(), if_match)

    @post("/{model_id:str}/copy-received", operation_id="modelCopyReceived", status_code=200,
          guards=allow_command(ReceiveCopy), sync_to_thread=True)
    def copy_received(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                      data: JSONBody[Empty]) -> Answer:
        return act(request, ctx, model, ReceiveCopy(), if_match)

    @post("/{model_id:str}/progress", operation_id="modelProgress", status_code=200,
          guards=allow_command(ReportProgress), sync_to_thread=True)
    def progress(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                 data: JSONBody[Progress]) -> Answer:
        return act(request, ctx, model, data.command(), if_match)

    @post("/{model_id:str}/inspection", operation_id="modelInspection", status_code=200,
          guards=allow_command(InspectModel), sync_to_thread=True)
    def inspection(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                   data: JSONBody[Inspection]) -> Answer:
        return act(request, ctx, model, data.command(), if_match)

    @post("/{model_id:str}/self-assessment", operation_id="modelSelfAssessment", status_code=200,
          guards=allow_command(SelfAssessModel), sync_to_thread=True)
    def self_assessment(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                        data: JSONBody[SelfAssessment]) -> Answer:
        return act(request, ctx, model, data.command(), if_match)

    @post("/{model_id:str}/evaluation", operation_id="modelEvaluation", status_code=200,
          guards=allow_command(EvaluateModel), sync_to_thread=True)
    def evaluation(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                   data: JSONBody[Evaluation]) -> Answer:
        return act(request, ctx, model, data.command(), if_match)

    @post("/{model_id:str}/proposal", operation_id="modelProposal", status_code=200,
          guards=allow_command(ProposeModel), sync_to_thread=True)
    def proposal(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                 data: JSONBody[Empty]) -> Answer:
        return act(request, ctx, model, ProposeModel(), if_match)

    @post("/{model_id:str}/recognition", operation_id="modelRecognition", status_code=200,
          guards=allow_command(RecognizeModel), sync_to_thread=True)
    def recognition(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                    data: JSONBody[Recognition]) -> Answer:
        return act(request, ctx, model, data.command(), if_match)

    @post("/{model_id:str}/nomination", operation_id="modelNomination", status_code=200,
          guards=allow_command(NominateModel), sync_to_thread=True)
    def nomination(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                   data: JSONBody[Empty]) -> Answer:
        return act(request, ctx, model, NominateModel(), if_match)

    @post("/{model_id:str}/revocation", operation_id="modelRevocation", status_code=200,
          guards=allow_command(RevokeRecognition), sync_to_thread=True)
    def revocation(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                   data: JSONBody[Revocation]) -> Answer:
        return act(request, ctx, model, data.command(), if_match)

    @post("/{model_id:str}/discontinuation", operation_id="modelDiscontinuation", status_code=200,
          guards=allow_command(DiscontinueModel), sync_to_thread=True)
    def discontinuation(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                        data: JSONBody[Reason]) -> Answer:
        return act(request, ctx, model, discontinuing(data), if_match)

    @post("/{model_id:str}/maintenance", operation_id="modelMaintenance", status_code=200,
          guards=allow_command(MaintainModel), sync_to_thread=True)
    def maintenance(self, request: HttpRequest, ctx: Ctx, model: Target, if_match: IfMatch,
                    data: JSONBody[Maintenance]) -> Answer:
        return act(request, ctx, model, data.command(), if_match)

    @post("/{model_id:str}/personal-data-erasure", operation_id="erasePersonalData",
          status_code=200, guards=allow_command(ErasePersonalData), sync_to_thread=True)
    def erase_personal_data(self, request: HttpRequest, ctx: Ctx, model: Target,
                            if_match: IfMatch, data: JSONBody[Reason]) -> Answer:
        return run_command("model.personal_data_erasure", lambda: models.erase_personal_data(
            store_of(request), vault_of(request), ctx, model, erasing(data), if_match))
