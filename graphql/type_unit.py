"""A unit of a tenant."""

from __future__ import annotations

from datetime import datetime

import strawberry

from danvan.graphql.enums import UnitKind
from danvan.graphql.rows import served_from
from danvan.projections.directory.rows import UnitRow


@served_from(UnitRow)
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
