"""A dated task of a tenant's plan, and, for a task assigned to units, each unit's part."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from danvan.graphql.context import Info
from danvan.graphql.rows import served_from, view
from danvan.graphql.type_unit import UnitType
from danvan.projections.plans.rows import PlanTaskRow, PlanTaskUnitRow

if TYPE_CHECKING:
    from danvan.graphql.type_tenant import TenantType

LazyTenant = Annotated["TenantType", strawberry.lazy("danvan.graphql.type_tenant")]


async def resolve_unit(root: strawberry.Parent[PlanTaskUnitRow], info: Info) -> UnitType:
    unit = await info.context.loaders.unit.load(root.unit_id)
    assert unit is not None, "a unit a task was assigned to exists"
    return view(UnitType, unit)


@served_from(PlanTaskUnitRow)
@strawberry.type(name="PlanTaskUnit", description="One assigned unit's part of a task.")
class PlanTaskUnitType:
    unit: UnitType = strawberry.field(resolver=resolve_unit)
    completed_on: date | None
    note: str | None
    overdue: bool = strawberry.field(
        description="Not completed by this unit and due before today (Vietnam date).")


async def resolve_units(root: strawberry.Parent[PlanTaskRow], info: Info
                        ) -> list[PlanTaskUnitType]:
    if not root.unit_count:
        return []
    parts = await info.context.loaders.task_units.load((root.id,))
    return [view(PlanTaskUnitType, p) for p in parts]


async def resolve_tenant(root: strawberry.Parent[PlanTaskRow], info: Info) -> LazyTenant:
    tenant = await info.context.loaders.tenant.load(root.tenant_id)
    assert tenant is not None, "a task's tenant is in the caller's scope"
    return cast("TenantType", tenant)


@served_from(PlanTaskRow)
@strawberry.type(name="PlanTask")
class PlanTaskType:
    id: strawberry.ID
    tenant: LazyTenant = strawberry.field(resolver=resolve_tenant)
    year: int
    title: str
    due_date: date
    completed_on: date | None = strawberry.field(
        description="For a task assigned to units: when the last unit completed its part.")
    note: str | None
    overdue: bool = strawberry.field(
        description="Not completed (by every assigned unit) and due before today (Vietnam "
                    "date).")
    units: list[PlanTaskUnitType] = strawberry.field(resolver=resolve_units, description=(
        "The units the task is assigned to, each overdue on its own (empty: the tenant's "
        "own task)."))
