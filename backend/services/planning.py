"""Targets (province defaults, tenant overrides, multi-year periods), year-list approval and
plan tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventsourcing.application import Application

from danvan.backend.services.repository import check_version, find, save_new, under_if_match
from danvan.backend.services.results import CommandResult
from danvan.domain.base import Context, InvalidInput, TenantAggregate
from danvan.domain.commands import (
    ApproveList,
    CompletePlanTask,
    CompleteUnitTask,
    SchedulePlanTask,
    SetEvaluationRules,
    SetPeriodTargets,
    SetProvinceTargets,
    SetTenantTargets,
)
from danvan.domain.evaluation import ProvinceEvaluationRules
from danvan.domain.plans import PlanTask
from danvan.domain.targets import PeriodTargets, ProvinceTargets, TenantTargets
from danvan.domain.units import Unit
from danvan.domain.year_lists import YearList
from danvan.infra.accepted_models import accepted_models

T = TypeVar("T", bound=TenantAggregate)


def _set_or_change(store: Application, existing: T | None, create: Callable[[], T],
                   change: Callable[[T], object], expected_version: int | None) -> tuple[T, bool]:
    """A ``PUT``: the first one creates the aggregate, later ones change it (under
    ``If-Match``, which for a first ``PUT`` can only be absent)."""
    if existing is None:
        check_version(expected_version, 0)
        created = create()
        store.save(created)
        return created, True
    under_if_match(existing, expected_version, lambda: change(existing))
    store.save(existing)
    return existing, False


def set_province_targets(store: Application, ctx: Context, command: SetProvinceTargets,
                         expected_version: int | None = None) -> CommandResult:
    targets, created = _set_or_change(
        store, find(store, ProvinceTargets,
                    ProvinceTargets.id_for(command.province_code, command.year)),
        lambda: ProvinceTargets.set_first(ctx, command),
        lambda t: t.change(ctx, command), expected_version)
    return CommandResult(str(targets.id), targets.version, None, created,
                         {"year": targets.year,
                          "defaults": {k: v.as_dict() for k, v in targets.defaults.items()}},
                         command="targets.set_province")


def set_tenant_targets(store: Application, ctx: Context, command: SetTenantTargets,
                       expected_version: int | None = None) -> CommandResult:
    targets, created = _set_or_change(
        store, find(store, TenantTargets, TenantTargets.id_for(ctx.tenant_id, command.year),
                    ctx.tenant_id),
        lambda: TenantTargets.set_first(ctx, command),
        lambda t: t.change(ctx, command), expected_version)
    return CommandResult(str(targets.id), targets.version, None, created,
                         {"year": targets.year, **targets.targets.as_dict()},
                         command="targets.set_tenant")


def set_period_targets(store: Application, ctx: Context, command: SetPeriodTargets,
                       expected_version: int | None = None) -> CommandResult:
    targets, created = _set_or_change(
        store, find(store, PeriodTargets, PeriodTargets.id_for(
            ctx.tenant_id, command.start_year, command.end_year), ctx.tenant_id),
        lambda: PeriodTargets.set_first(ctx, command),
        lambda t: t.change(ctx, command), expected_version)
    return CommandResult(str(targets.id), targets.version, None, created,
                         {"start_year": targets.start_year, "end_year": targets.end_year,
                          **targets.targets},
                         command="targets.set_period")


def set_evaluation_rules(store: Application, ctx: Context, command: SetEvaluationRules,
                         expected_version: int | None = None) -> CommandResult:
    """The province's evaluation rules for a year: evaluations made from now on apply them
    (earlier evaluations keep the rules their events recorded)."""
    rules, created = _set_or_change(
        store, find(store, ProvinceEvaluationRules,
                    ProvinceEvaluationRules.id_for(command.province_code, command.year)),
        lambda: ProvinceEvaluationRules.set_first(ctx, command),
        lambda r: r.change(ctx, command), expected_version)
    return CommandResult(str(rules.id), rules.version, None, created,
                         {"year": rules.year, "weights": rules.weights,
                          "person_weights": rules.person_weights, "pass_mark": rules.pass_mark},
                         command="evaluation_rules.set")


def approve_list(store: Application, ctx: Context, command: ApproveList) -> CommandResult:
    """The year's list approved: the first decision covers the models accepted so far (201);
    a later one, supplementary, those accepted since the decisions before it (200; a 409
    when there are none)."""
    accepted = accepted_models(store, ctx.tenant_id, command.year)
    year_list = find(store, YearList, YearList.id_for(ctx.tenant_id, command.year),
                     ctx.tenant_id)
    if year_list is None:
        year_list = YearList.approve(ctx, command, accepted)
        covered = year_list.decisions[0].model_ids or ()
        save_new(store, year_list, "the year's list is already approved")
        created = True
    else:
        covered = tuple(year_list.supplement(ctx, command, accepted))
        store.save(year_list)
        created = False
    return CommandResult(str(year_list.id), year_list.version, "approved", created,
                         {"year": year_list.year,
                          "decision_number": year_list.decisions[-1].decision_number,
                          "supplementary": not created, "model_ids": list(covered)},
                         command="list.approve")


def schedule_task(store: Application, ctx: Context, command: SchedulePlanTask) -> CommandResult:
    """A dated task of the tenant's plan, maybe assigned to units of the tenant (each open
    unit once; any other id is a bad ``unit_ids``)."""
    for unit_id in dict.fromkeys(command.unit_ids):
        unit = find(store, Unit, unit_id, ctx.tenant_id)
        if unit is None:
            raise InvalidInput({"unit_ids": f"no such unit in this tenant: {unit_id}"})
        if unit.closed:
            raise InvalidInput({"unit_ids": f"the unit is closed: {unit_id}"})
    task = PlanTask.schedule(ctx, command)
    save_new(store, task, "that task is already scheduled")
    return CommandResult(str(task.id), task.version, "open", True,
                         {"title": task.title, "due_date": task.due_date,
                          "unit_ids": list(task.unit_ids)},
                         command="plan.schedule")


def complete_task(store: Application, ctx: Context, task: PlanTask, command: CompletePlanTask,
                  expected_version: int | None) -> CommandResult:
    """``task``: the path's task, loaded in the caller's tenant."""
    under_if_match(task, expected_version, lambda: task.complete(ctx, command))
    store.save(task)
    return CommandResult(str(task.id), task.version, "completed",
                         extra={"completed_on": task.completed_on}, command="plan.complete")


def complete_unit_task(store: Application, ctx: Context, task: PlanTask,
                       command: CompleteUnitTask, expected_version: int | None
                       ) -> CommandResult:
    """An assigned unit's part of ``task`` (the path's, loaded in the caller's tenant, the
    unit among its units) done; the task is completed with its last unit's part."""
    under_if_match(task, expected_version, lambda: task.complete_unit(ctx, command))
    store.save(task)
    return CommandResult(str(task.id), task.version,
                         "completed" if task.completed_on else "open",
                         extra={"unit_id": command.unit_id,
                                "unit_completed_on": task.unit_completions[command.unit_id],
                                "completed_on": task.completed_on},
                         command="plan.complete_unit")
