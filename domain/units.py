"""A unit inside a tenant (party cell, Fatherland Front, mass organisation, office, school...)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, IllegalTransition, TenantAggregate, derive_id
from danvan.domain.limits import MAX_NAME
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import AddUnit, CloseUnit


class UnitKind(StrEnum):
    PARTY_CELL = "party_cell"
    PARTY_COMMITTEE = "party_committee"
    FRONT = "front"
    MASS_ORG = "mass_org"
    GOV_OFFICE = "gov_office"
    SCHOOL = "school"
    POLICE = "police"
    MILITARY = "military"
    OTHER = "other"


class Unit(TenantAggregate):
    name: str
    kind: str
    reports_to_vertical_line: bool
    closed: bool
    closed_on: str | None

    @staticmethod
    def id_for(tenant_id: str, name: str) -> uuid.UUID:
        return derive_id("unit", tenant_id, name)

    class Added(TenantAggregate.Created):
        name: str
        kind: str
        reports_to_vertical_line: bool

    class Closed(TenantAggregate.Event):
        def apply(self, unit: Unit) -> None:
            unit.closed = True
            unit.closed_on = self.timestamp.isoformat()

    @classmethod
    def add(cls, ctx: Context, command: AddUnit) -> Unit:
        errors = Errors()
        name_ = errors.text("name", command.name, max_length=MAX_NAME)
        errors.raise_if_any()
        assert name_
        return cls._create(cls.Added, id=cls.id_for(ctx.tenant_id, name_),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           name=name_, kind=command.kind.value,
                           reports_to_vertical_line=command.reports_to_vertical_line)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], name: str, kind: str,
                 reports_to_vertical_line: bool) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.kind = kind
        self.reports_to_vertical_line = reports_to_vertical_line
        self.closed = False
        self.closed_on = None

    def close(self, ctx: Context, command: CloseUnit) -> None:
        errors = Errors()
        reason_ = errors.text("reason", command.reason)
        errors.raise_if_any()
        if self.closed:
            raise IllegalTransition("the unit is already closed", code="unit_closed")
        self._emit(self.Closed, ctx, reason=reason_)
