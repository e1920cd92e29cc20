"""Dated plan tasks ("disseminate the instruction by end of March") and their completion.

A task may be assigned to units of the tenant, each doing it on its own ("each unit issues
its plan by April"): each unit's part is completed apart, late on its own, and the task is
completed when the last unit's part is.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from danvan.domain.base import (
    Context,
    IllegalTransition,
    InvalidInput,
    TenantAggregate,
    derive_id,
)
from danvan.domain.clock import vietnam_date
from danvan.domain.limits import MAX_NAME, MAX_TASK_UNITS
from danvan.domain.targets import check_year
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import CompletePlanTask, CompleteUnitTask, SchedulePlanTask

class PlanTask(TenantAggregate):
    year: int
    title: str
    due_date: str
    completed_on: str | None
    unit_ids: list[str]
    """The units assigned (empty: the tenant's own task)."""
    unit_completions: dict[str, str]
    """Unit id: the day its part was completed."""

    @staticmethod
    def id_for(tenant_id: str, year: int, title: str) -> uuid.UUID:
        return derive_id("plan-task", tenant_id, year, title)

    class Scheduled(TenantAggregate.Created):
        year: int
        title: str
        due_date: str
        unit_ids: list[str]

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 tasks were the tenant's own."""
            state["unit_ids"] = []

    class Completed(TenantAggregate.Event):
        completed_on: str
        note: str

        def apply(self, task: PlanTask) -> None:
            task.completed_on = self.completed_on

    class UnitCompleted(TenantAggregate.Event):
        """A unit's part done; the last one completes the task."""

        unit_id: str
        completed_on: str
        note: str

        def apply(self, task: PlanTask) -> None:
            task.unit_completions[self.unit_id] = self.completed_on
            if len(task.unit_completions) == len(task.unit_ids):
                task.completed_on = self.completed_on

    @classmethod
    def schedule(cls, ctx: Context, command: SchedulePlanTask) -> PlanTask:
        """``command.unit_ids`` must be units of the tenant (the caller checks that)."""
        errors = Errors()
        year_ = check_year(errors, command.year)
        title_ = errors.text("title", command.title, max_length=MAX_NAME)
        due = command.due_date
        units = list(dict.fromkeys(command.unit_ids))
        if len(units) > MAX_TASK_UNITS:
            errors.add("unit_ids", f"at most {MAX_TASK_UNITS} units")
        errors.raise_if_any()
        assert year_ is not None and title_
        return cls._create(cls.Scheduled, id=cls.id_for(ctx.tenant_id, year_, title_),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           year=year_, title=title_, due_date=due.isoformat(), unit_ids=units)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], year: int, title: str,
                 due_date: str, unit_ids: list[str]) -> None:
        self.tenant_id = tenant_id
        self.year = year
        self.title = title
        self.due_date = due_date
        self.completed_on = None
        self.unit_ids = list(unit_ids)
        self.unit_completions = {}

    def complete(self, ctx: Context, command: CompletePlanTask) -> None:
        """The tenant's own task done."""
        errors = Errors()
        note_ = errors.text("note", command.note, required=False) or ""
        errors.raise_if_any()
        if self.unit_ids:
            raise IllegalTransition("the task is assigned to units: each completes its part",
                                    code="task_assigned_to_units")
        if self.completed_on is not None:
            raise IllegalTransition("the task is already completed", code="task_completed")
        self._emit(self.Completed, ctx, completed_on=vietnam_date(ctx.at).isoformat(),
                   note=note_)

    def complete_unit(self, ctx: Context, command: CompleteUnitTask) -> None:
        """An assigned unit's part done; the last unit's completes the task."""
        errors = Errors()
        note_ = errors.text("note", command.note, required=False) or ""
        errors.raise_if_any()
        if command.unit_id not in self.unit_ids:
            raise InvalidInput({"unit_id": "the task is not assigned to that unit"})
        if command.unit_id in self.unit_completions:
            raise IllegalTransition("the unit's part is already completed",
                                    code="unit_task_completed")
        self._emit(self.UnitCompleted, ctx, unit_id=command.unit_id,
                   completed_on=vietnam_date(ctx.at).isoformat(), note=note_)

    def is_overdue(self, today: date, unit_id: str | None = None) -> bool:
        """Not completed (by ``unit_id``, when given) and due before ``today``."""
        done = self.completed_on if unit_id is None else self.unit_completions.get(unit_id)
        return done is None and date.fromisoformat(self.due_date) < today
