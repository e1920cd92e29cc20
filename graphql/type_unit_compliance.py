"""Whether a unit has registered its models of a year (against the tenant's minimum)."""

from __future__ import annotations

import strawberry

from danvan.graphql.context import Info
from danvan.graphql.rows import served_from, view
from danvan.graphql.type_unit import UnitType
from danvan.projections.models.rows import UnitCompliance


async def resolve_unit(root: strawberry.Parent[UnitCompliance], info: Info) -> UnitType:
    unit = await info.context.loaders.unit.load(root.unit_id)
    assert unit is not None, "a unit the read models list exists"
    return view(UnitType, unit)


@served_from(UnitCompliance)
@strawberry.type(name="UnitCompliance", description=(
    "A unit open at the moment asked and its models of the year submitted (a received copy "
    "counts) against the tenant's per-unit minimum."))
class UnitComplianceType:
    unit: UnitType = strawberry.field(resolver=resolve_unit)
    submitted_models: int = strawberry.field(name="submitted")
    per_unit_minimum: int = strawberry.field(name="minimum")
    compliant: bool
