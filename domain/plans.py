"""Dated plan tasks ("disseminate the instruction by end of March") and their completion."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, IllegalTransition, TenantAggregate, derive_id
from danvan.domain.clock import vietnam_date
from danvan.domain.limits import MAX_NAME
from danvan.domain.targets import check_year
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import CompletePlanTask, SchedulePlanTask


class PlanTask(TenantAggregate):
    year: int
    title: str
    due_date: str
    completed_on: str | None

    @staticmethod
    def id_for(tenant_id: str, year: int, title: str) -> uuid.UUID:
        return derive_id("plan-task", tenant_id, year, title)

    class Scheduled(TenantAggregate.Created):
        year: int
        title: str
        due_date: str

    class Completed(TenantAggregate.Event):
        completed_on: str
        note: str

        def apply(self, task: PlanTask) -> None:
            task.completed_on = self.completed_on

    @classmethod
    def schedule(cls, ctx: Context, command: SchedulePlanTask) -> PlanTask:
        errors = Errors()
        year_ = check_year(errors, command.year)
        title_ = errors.text("title", command.title, max_length=MAX_NAME)
        due = command.due_date
        errors.raise_if_any()
        assert year_ is not None and title_
        return cls._create(cls.Scheduled, id=cls.id_for(ctx.tenant_id, year_, title_),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           year=year_, title=title_, due_date=due.isoformat())

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], year: int, title: str,
                 due_date: str) -> None:
        self.tenant_id = tenant_id
        self.year = year
        self.title = title
        self.due_date = due_date
        self.completed_on = None

    def complete(self, ctx: Context, command: CompletePlanTask) -> None:
        errors = Errors()
        note_ = errors.text("note", command.note, required=False) or ""
        errors.raise_if_any()
        if self.completed_on is not None:
            raise IllegalTransition("the task is already completed", code="task_completed")
        self._emit(self.Completed, ctx, completed_on=vietnam_date(ctx.at).isoformat(), note=note_)

    def is_overdue(self, today: date) -> bool:
        return self.completed_on is None and date.fromisoformat(self.due_date) < today
