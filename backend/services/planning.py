"""Targets (province defaults and tenant overrides), year-list approval and plan tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from eventsourcing.application import Application

from danvan.backend.http.preconditions import check_version
from danvan.backend.services.inputs import only
from danvan.backend.services.repository import decide, find, save_new
from danvan.backend.services.results import CommandResult
from danvan.domain.base import Context, TenantAggregate
from danvan.domain.plans import PlanTask
from danvan.domain.targets import PeriodTargets, ProvinceTargets, TenantTargets, check_year
from danvan.domain.validation import Errors
from danvan.domain.year_lists import YearList

T = TypeVar("T", bound=TenantAggregate)


def _year(year: Any) -> int:
    errors = Errors()
    checked = check_year(errors, year)
    errors.raise_if_any()
    assert checked is not None
    return checked


def _set_or_change(store: Application, existing: T | None, create: Callable[[], T],
                   change: Callable[[T], object], expected_version: int | None) -> tuple[T, bool]:
    """A ``PUT``: the first one creates the aggregate, later ones change it (under
    ``If-Match``, which for a first ``PUT`` can only be absent)."""
    if existing is None:
        check_version(expected_version, 0)
        created = create()
        store.save(created)
        return created, True
    decide(existing, expected_version, lambda: change(existing))
    store.save(existing)
    return existing, False


def set_province_targets(store: Application, ctx: Context, province_code: str, year: int,
                         body: Any, expected_version: int | None = None) -> CommandResult:
    year = _year(year)
    targets, created = _set_or_change(
        store, find(store, ProvinceTargets, ProvinceTargets.id_for(province_code, year)),
        lambda: ProvinceTargets.set_first(ctx, province_code=province_code, year=year,
                                          body=body),
        lambda t: t.change(ctx, body=body), expected_version)
    return CommandResult(str(targets.id), targets.version, None, created,
                         {"year": year, "defaults": {k: v.as_dict()
                                                     for k, v in targets.defaults.items()}},
                         command="targets.set_province")


def set_tenant_targets(store: Application, ctx: Context, year: int, body: Any,
                       expected_version: int | None = None) -> CommandResult:
    year = _year(year)
    targets, created = _set_or_change(
        store, find(store, TenantTargets, TenantTargets.id_for(ctx.tenant_id, year),
                    ctx.tenant_id),
        lambda: TenantTargets.set_first(ctx, year=year, body=body),
        lambda t: t.change(ctx, body=body), expected_version)
    return CommandResult(str(targets.id), targets.version, None, created,
                         {"year": year, **targets.targets.as_dict()},
                         command="targets.set_tenant")


def set_period_targets(store: Application, ctx: Context, start_year: int, end_year: int,
                       body: Any, expected_version: int | None = None) -> CommandResult:
    targets, created = _set_or_change(
        store, find(store, PeriodTargets,
                    PeriodTargets.id_for(ctx.tenant_id, start_year, end_year), ctx.tenant_id),
        lambda: PeriodTargets.set_first(ctx, start_year=start_year, end_year=end_year,
                                        body=body),
        lambda t: t.change(ctx, body=body), expected_version)
    return CommandResult(str(targets.id), targets.version, None, created,
                         {"start_year": start_year, "end_year": end_year, **targets.targets},
                         command="targets.set_period")


def approve_list(store: Application, ctx: Context, year: int,
                 body: dict[str, Any]) -> CommandResult:
    year = _year(year)
    only(body, {"decision_number"})
    already = find(store, YearList, YearList.id_for(ctx.tenant_id, year), ctx.tenant_id)
    approved = YearList.approve(ctx, year=year, decision_number=body.get("decision_number"),
                                already_approved=already is not None)
    store.save(approved)
    return CommandResult(str(approved.id), approved.version, "approved", True,
                         {"year": year, "decision_number": approved.decision_number},
                         command="list.approve")


def schedule_task(store: Application, ctx: Context, body: dict[str, Any]) -> CommandResult:
    only(body, {"year", "title", "due_date"})
    task = PlanTask.schedule(ctx, year=body.get("year"), title=body.get("title"),
                             due_date=body.get("due_date"))
    save_new(store, task, "that task is already scheduled")
    return CommandResult(str(task.id), task.version, "open", True,
                         {"title": task.title, "due_date": task.due_date},
                         command="plan.schedule")


def complete_task(store: Application, ctx: Context, task: PlanTask, body: dict[str, Any],
                  expected_version: int | None) -> CommandResult:
    """``task``: the path's task, loaded in the caller's tenant (``load``: 404 if unknown)."""
    decide(task, expected_version, lambda: task.complete(ctx, note=body.get("note", "")))
    store.save(task)
    return CommandResult(str(task.id), task.version, "completed",
                         extra={"completed_on": task.completed_on}, command="plan.complete")
