"""The tenant's list of accepted models for a year, approved by the standing committee."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, IllegalTransition, TenantAggregate, derive_id
from danvan.domain.limits import MAX_CODE
from danvan.domain.targets import check_year
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import ApproveList


class YearList(TenantAggregate):
    year: int
    decision_number: str

    @staticmethod
    def id_for(tenant_id: str, year: int) -> uuid.UUID:
        return derive_id("year-list", tenant_id, year)

    class Approved(TenantAggregate.Created):
        year: int
        decision_number: str

    @classmethod
    def approve(cls, ctx: Context, command: ApproveList, *,
                already_approved: bool = False) -> YearList:
        errors = Errors()
        year_ = check_year(errors, command.year)
        number = errors.text("decision_number", command.decision_number, max_length=MAX_CODE)
        errors.raise_if_any()
        if already_approved:
            raise IllegalTransition("the year's list is already approved",
                                    code="list_already_approved")
        assert year_ is not None and number
        return cls._create(cls.Approved, id=cls.id_for(ctx.tenant_id, year_),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           year=year_, decision_number=number)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], year: int,
                 decision_number: str) -> None:
        self.tenant_id = tenant_id
        self.year = year
        self.decision_number = decision_number
