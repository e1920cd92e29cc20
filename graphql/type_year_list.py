"""A year's list of accepted models and the decisions approving it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from danvan.graphql.context import Info
from danvan.graphql.rows import served_from
from danvan.projections.plans.rows import ListDecisionRow, YearListRow

if TYPE_CHECKING:
    from danvan.graphql.type_model import ModelType

LazyModel = Annotated["ModelType", strawberry.lazy("danvan.graphql.type_model")]


async def resolve_models(root: strawberry.Parent[ListDecisionRow], info: Info
                         ) -> list[LazyModel]:
    """The models the decision covers that the caller may read (a unit user: its unit's)."""
    tenant = await info.context.loaders.tenant.load(root.tenant_id)
    if tenant is None:
        return []
    scope = info.context.access.unit_scope(tenant.id, tenant.province_code)
    found = await info.context.loaders.model.load_many(root.model_ids)
    return [cast("ModelType", m) for m in found
            if m is not None and (scope is None or m.unit_id in scope)]


@served_from(ListDecisionRow)
@strawberry.type(name="ListDecision", description=(
    "A decision approving the year's list: the first, or a supplementary one covering the "
    "models accepted since the decisions before it."))
class ListDecisionType:
    decision_number: str
    at: datetime
    supplementary: bool
    models: list[LazyModel] = strawberry.field(resolver=resolve_models)


@served_from(YearListRow)
@strawberry.type(name="YearList")
class YearListType:
    year: int
    decisions: list[ListDecisionType]
