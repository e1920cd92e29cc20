"""A unit of a tenant (``projections.read_registry.UnitRow``)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from danvan.graphql.enums import UnitKind


@strawberry.type(name="Unit", description="Đơn vị: a party cell, the Front, a mass "
                                          "organisation, an office or a school of a tenant.")
class UnitType:
    id: strawberry.ID
    tenant_id: strawberry.ID
    name: str
    kind: UnitKind
    reports_to_vertical_line: bool
    added_at: datetime
    closed_at: datetime | None
    closed_reason: str | None
