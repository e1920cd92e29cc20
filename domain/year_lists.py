"""The tenant's list of accepted models for a year, approved by the standing committee.

The first decision approves the models accepted so far; a later, supplementary decision
approves those accepted since (API.md "Decisions"), and is refused when there are none. Each
decision records the models it covers, so the trail says what was approved when. A first
decision recorded before decisions named their models covers every model accepted by then.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, IllegalTransition, TenantAggregate, derive_id
from danvan.domain.limits import MAX_CODE
from danvan.domain.targets import check_year
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import ApproveList


@dataclass(frozen=True)
class ListDecision:
    decision_number: str
    at: datetime
    model_ids: tuple[str, ...] | None
    """None: a decision that names no models (recorded before decisions named them, or by a
    bulk history loader): it covers every model of the year accepted by ``at``."""


def _checked(command: ApproveList) -> tuple[int, str]:
    errors = Errors()
    year_ = check_year(errors, command.year)
    number = errors.text("decision_number", command.decision_number, max_length=MAX_CODE)
    errors.raise_if_any()
    assert year_ is not None and number
    return year_, number


class YearList(TenantAggregate):
    year: int
    decision_number: str
    """The first decision's number."""
    decisions: list[ListDecision]

    @staticmethod
    def id_for(tenant_id: str, year: int) -> uuid.UUID:
        return derive_id("year-list", tenant_id, year)

    class Approved(TenantAggregate.Created):
        year: int
        decision_number: str
        model_ids: list[str] | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 named no models: it covers every model accepted by its time."""
            state["model_ids"] = None

    class Supplemented(TenantAggregate.Event):
        """A supplementary decision: the models accepted since the decisions before it."""

        decision_number: str
        model_ids: list[str]

        def apply(self, year_list: YearList) -> None:
            year_list.decisions.append(ListDecision(self.decision_number, self.timestamp,
                                                    tuple(self.model_ids)))

    @classmethod
    def approve(cls, ctx: Context, command: ApproveList,
                accepted: Mapping[str, datetime] | None = None) -> YearList:
        """The year's first decision, covering ``accepted`` (model id: when it was
        accepted), every model of the year accepted so far. Without ``accepted`` (the demo's
        and the bench's bulk histories) it names none and covers those accepted by then."""
        year_, number = _checked(command)
        return cls._create(cls.Approved, id=cls.id_for(ctx.tenant_id, year_),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           year=year_, decision_number=number,
                           model_ids=None if accepted is None else sorted(accepted))

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], year: int,
                 decision_number: str, model_ids: list[str] | None) -> None:
        self.tenant_id = tenant_id
        self.year = year
        self.decision_number = decision_number
        self.decisions = [ListDecision(decision_number, self.created_on,
                                       None if model_ids is None else tuple(model_ids))]

    def not_yet_approved(self, accepted: Mapping[str, datetime]) -> list[str]:
        """Those of ``accepted`` (model id: when accepted) no decision covers yet, by id."""
        named = {m for d in self.decisions if d.model_ids is not None for m in d.model_ids}
        until = max((d.at for d in self.decisions if d.model_ids is None), default=None)
        return sorted(m for m, at in accepted.items()
                      if m not in named and (until is None or at > until))

    def supplement(self, ctx: Context, command: ApproveList,
                   accepted: Mapping[str, datetime]) -> list[str]:
        """A supplementary decision covering the models of ``accepted`` not covered yet;
        answers them. Refused when there are none, or when the number was used already."""
        _, number = _checked(command)
        if any(d.decision_number == number for d in self.decisions):
            raise IllegalTransition("that decision number already approved this list",
                                    code="list_decision_repeated", member="decision_number")
        new = self.not_yet_approved(accepted)
        if not new:
            raise IllegalTransition("no model was accepted since the list's last approval",
                                    code="list_already_approved")
        self._emit(self.Supplemented, ctx, decision_number=number, model_ids=new)
        return new
