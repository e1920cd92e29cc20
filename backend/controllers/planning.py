"""Targets (province defaults, tenant overrides, multi-year periods), list approval, plan tasks."""

from __future__ import annotations

import uuid

from litestar import Controller, post, put
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
    YearInPath,
    matched_grants,
    resolve_in_guard,
    resolved,
    store_of,
    unit_scope,
)
from danvan.backend.controllers.responses import CREATED_WHEN_NEW, run_command
from danvan.backend.controllers.tenants import new_user
from danvan.backend.dto import (
    EvaluationRulesBody,
    ListApproval,
    PeriodTargetsBody,
    PlanTaskCompletion,
    PlanTaskCreate,
    ProvinceTargetsBody,
    RecognitionDecision,
    UserCreate,
    YearTargetsBody,
)
from danvan.backend.errors import Problem
from danvan.backend.services import models, people, planning
from danvan.backend.services.errors import NotFound
from danvan.backend.services.repository import load
from danvan.domain.commands import Level
from danvan.domain.plans import PlanTask
from danvan.domain.policies import Action


def task_in_path(connection: Connection) -> PlanTask:
    params = connection.path_params
    return load(store_of(connection), PlanTask, str(params["task_id"]), str(params["tenant_id"]))


def unit_part_in_path(connection: Connection) -> PlanTask:
    """The path's task, for its unit's part: a unit user only for its own unit (403), and
    a unit the task is not assigned to is no such part (404)."""
    unit_id = _uuid_text(str(connection.path_params["unit_id"]))
    confined = unit_scope(matched_grants(connection))
    if confined is not None and confined != unit_id:
        raise Problem(403, "other_unit")
    task = task_in_path(connection)
    if unit_id not in task.unit_ids:
        raise NotFound("the task is not assigned to that unit")
    return task


def _uuid_text(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


class ProvinceController(Controller):
    path = "/provinces/{code:str}"
    tags = ["provinces"]

    @put("/targets/{year:int}", operation_id="setProvinceTargets",
         guards=[allow(Action.TARGETS_SET_PROVINCE)], responses=CREATED_WHEN_NEW,
         sync_to_thread=True)
    def set_targets(self, request: HttpRequest, ctx: Ctx, code: FromPath[str], year: YearInPath,
                    if_match: IfMatch, data: JSONBody[ProvinceTargetsBody]) -> Answer:
        return run_command("targets.set_province", lambda: planning.set_province_targets(
            store_of(request), ctx, data.command(code, year), if_match))

    @put("/evaluation-rules/{year:int}", operation_id="setEvaluationRules",
         guards=[allow(Action.EVALUATION_RULES_SET)], responses=CREATED_WHEN_NEW,
         sync_to_thread=True)
    def set_evaluation_rules(self, request: HttpRequest, ctx: Ctx, code: FromPath[str],
                             year: YearInPath, if_match: IfMatch,
                             data: JSONBody[EvaluationRulesBody]) -> Answer:
        return run_command("evaluation_rules.set", lambda: planning.set_evaluation_rules(
            store_of(request), ctx, data.command(code, year), if_match))

    @post("/recognitions", operation_id="recognizeModelsAtProvinceLevel", status_code=200,
          guards=[allow(Action.MODEL_RECOGNITION_PROVINCE)], sync_to_thread=True)
    def recognize(self, request: HttpRequest, ctx: Ctx, code: FromPath[str],
                  data: JSONBody[RecognitionDecision]) -> Answer:
        """One decision of the province recognising every listed model of its tenants, all
        or none."""
        return run_command("model.recognition_decision", lambda: models.recognize_models(
            store_of(request), ctx, data.command(Level.PROVINCE), province_code=code))

    @post("/users", operation_id="createProvinceUser", guards=[allow(Action.USER_CREATE)],
          sync_to_thread=True)
    def create_user(self, request: HttpRequest, ctx: Ctx, code: FromPath[str],
                    data: JSONBody[UserCreate]) -> Answer:
        return run_command("user.create", lambda: people.create_province_user(
            store_of(request), ctx, code, new_user(data), hash_password))


class TenantPlanningController(Controller):
    path = "/tenants/{tenant_id:str}"
    tags = ["targets and plans"]

    @put("/targets/{year:int}", operation_id="setTenantTargets",
         guards=[allow(Action.TARGETS_SET_TENANT)], responses=CREATED_WHEN_NEW,
         sync_to_thread=True)
    def set_targets(self, request: HttpRequest, ctx: Ctx, year: YearInPath,
                    if_match: IfMatch, data: JSONBody[YearTargetsBody]) -> Answer:
        return run_command("targets.set_tenant", lambda: planning.set_tenant_targets(
            store_of(request), ctx, data.command(year), if_match))

    @put("/period-targets/{start_year:int}/{end_year:int}", operation_id="setPeriodTargets",
         guards=[allow(Action.TARGETS_SET_TENANT)], responses=CREATED_WHEN_NEW,
         sync_to_thread=True)
    def set_period_targets(self, request: HttpRequest, ctx: Ctx,
                           start_year: YearInPath, end_year: YearInPath,
                           if_match: IfMatch, data: JSONBody[PeriodTargetsBody]) -> Answer:
        return run_command("targets.set_period", lambda: planning.set_period_targets(
            store_of(request), ctx, data.command(start_year, end_year), if_match))

    @post("/lists/{year:int}/approval", operation_id="approveYearList",
          guards=[allow(Action.LIST_APPROVE)], sync_to_thread=True)
    def approve_list(self, request: HttpRequest, ctx: Ctx, year: YearInPath,
                     data: JSONBody[ListApproval]) -> Answer:
        return run_command("list.approve", lambda: planning.approve_list(
            store_of(request), ctx, data.command(year)))

    @post("/plan-tasks", operation_id="schedulePlanTask", guards=[allow(Action.PLAN_SCHEDULE)],
          sync_to_thread=True)
    def schedule_task(self, request: HttpRequest, ctx: Ctx,
                      data: JSONBody[PlanTaskCreate]) -> Answer:
        return run_command("plan.schedule", lambda: planning.schedule_task(
            store_of(request), ctx, data.command()))

    @post("/plan-tasks/{task_id:str}/units/{unit_id:str}/completion",
          operation_id="completeUnitPlanTask",
          guards=[allow(Action.PLAN_COMPLETE_UNIT),
                  resolve_in_guard("task", unit_part_in_path)],
          dependencies={"task": resolved("task")}, status_code=200, sync_to_thread=True)
    def complete_unit_task(self, request: HttpRequest, ctx: Ctx,
                           task: NamedDependency[PlanTask], unit_id: FromPath[str],
                           if_match: IfMatch, data: JSONBody[PlanTaskCompletion]) -> Answer:
        """An assigned unit's part of the task done (a unit user: its own unit's)."""
        return run_command("plan.complete_unit", lambda: planning.complete_unit_task(
            store_of(request), ctx, task, data.unit_command(str(uuid.UUID(unit_id))),
            if_match))

    @post("/plan-tasks/{task_id:str}/completion", operation_id="completePlanTask",
          guards=[allow(Action.PLAN_COMPLETE), resolve_in_guard("task", task_in_path)],
          dependencies={"task": resolved("task")}, status_code=200, sync_to_thread=True)
    def complete_task(self, request: HttpRequest, ctx: Ctx, task: NamedDependency[PlanTask],
                      if_match: IfMatch,
                      data: JSONBody[PlanTaskCompletion]) -> Answer:
        return run_command("plan.complete", lambda: planning.complete_task(
            store_of(request), ctx, task, data.command(), if_match))
