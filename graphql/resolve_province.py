"""Resolvers of ``province(code)``, ``provinces`` and a province's summary and quota page.

Both read the province's figures from the process-wide ``FiguresCache`` (computed once per
read-model position for every caller who may read the province), so a summary and its page
add up exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from danvan.domain.limits import MAX_NAME
from danvan.domain.policies import Action
from danvan.graphql import inputs
from danvan.graphql.context import Info
from danvan.graphql.enums import ModelField, ModelState, QuotaStatus, TenantKind
from danvan.graphql.errors import Forbidden, NotFound
from danvan.graphql.inputs import QuotaOrder
from danvan.graphql.limits import DEFAULT_PAGE, check_page
from danvan.graphql.rows import view
from danvan.graphql.type_connection import Connection, connection
from danvan.graphql.type_job import JobType
from danvan.graphql.type_plan_task import PlanTaskType
from danvan.graphql.type_province_summary import ProvinceSummaryType
from danvan.graphql.type_tenant_quota import TenantQuotaType
from danvan.projections.jobs.read import dead_jobs
from danvan.projections.models.quota_page import quota_page
from danvan.projections.models.rows import ProvinceFigures
from danvan.projections.paging import BadCursor

if TYPE_CHECKING:
    from danvan.graphql.type_model import ModelType
    from danvan.graphql.type_province import ProvinceType

LazyProvince = Annotated["ProvinceType", strawberry.lazy("danvan.graphql.type_province")]
LazyModel = Annotated["ModelType", strawberry.lazy("danvan.graphql.type_model")]


@dataclass(frozen=True)
class ProvinceRef:
    code: str
    name: str


def _province(info: Info, code: str) -> ProvinceRef:
    if not info.context.access.may_read_province(code):
        raise Forbidden("not allowed to read this province")
    name = info.context.sources.province_name(code)
    if name is None:
        raise NotFound("no such province")
    return ProvinceRef(code, name)


def resolve_province(info: Info, code: strawberry.ID) -> LazyProvince | None:
    return cast("ProvinceType", _province(info, inputs.identifier(code, "code")))


def resolve_provinces(info: Info) -> list[LazyProvince]:
    """The provinces the caller reads whole (its province roles), by code."""
    names = info.context.sources.province_name
    return [cast("ProvinceType", ProvinceRef(code, names(code) or code))
            for code in info.context.access.province_codes()]


async def _figures(info: Info, root: ProvinceRef, year: int,
                   as_of: datetime | None) -> ProvinceFigures:
    year, as_of = inputs.year(year), inputs.optional_moment(as_of, "asOf")
    _province(info, root.code)
    ctx = info.context
    return await ctx.sources.province_figures.get(ctx.reader, root.code, year, as_of)


async def resolve_summary(root: strawberry.Parent[ProvinceRef], info: Info, year: int,
                          as_of: datetime | None = None) -> ProvinceSummaryType | None:
    figures = await _figures(info, root, year, as_of)
    return view(ProvinceSummaryType, figures.summary())


async def resolve_quotas(root: strawberry.Parent[ProvinceRef], info: Info, year: int,
                         as_of: datetime | None = None, status: QuotaStatus | None = None,
                         kind: TenantKind | None = None, at_risk: bool | None = None,
                         order_by: QuotaOrder | None = None, first: int = DEFAULT_PAGE,
                         after: str | None = None) -> Connection[TenantQuotaType] | None:
    check_page(first)
    figures = await _figures(info, root, year, as_of)
    order = order_by or QuotaOrder()
    try:
        page = quota_page(figures.quotas, kind=kind.value if kind else None,
                          status=status.value if status else None, at_risk=at_risk,
                          order=order.field.value, descending=order.direction.value == "desc",
                          first=first, after=inputs.cursor(after))
    except BadCursor as exc:
        raise inputs.bad_cursor(exc) from exc
    return connection(page)


async def resolve_dead_jobs(root: strawberry.Parent[ProvinceRef], info: Info,
                            first: int = DEFAULT_PAGE,
                            after: str | None = None) -> Connection[JobType] | None:
    """Jobs of the province and its tenants that failed their last retry (province admins)."""
    check_page(first)
    after = inputs.cursor(after)
    _province(info, root.code)
    if not info.context.access.may(Action.JOBS_DEAD_READ, province_code=root.code):
        raise Forbidden("only the province's administrators see its dead jobs")
    try:
        page = await info.context.reader.run(dead_jobs, root.code, first=first, after=after)
    except BadCursor as exc:
        raise inputs.bad_cursor(exc) from exc
    return connection(page)


async def resolve_province_models(root: strawberry.Parent[ProvinceRef], info: Info,
                                  year: int | None = None, state: ModelState | None = None,
                                  field: ModelField | None = None, search: str | None = None,
                                  first: int = DEFAULT_PAGE, after: str | None = None
                                  ) -> Connection[LazyModel] | None:
    """Models of every tenant of the province, by name, filtered as a tenant's are;
    ``state: NOMINATED`` is the province's recognition queue."""
    check_page(first)
    year = inputs.optional_year(year)
    search = inputs.text(search, "search", MAX_NAME)
    after = inputs.cursor(after)
    _province(info, root.code)
    try:
        page = await info.context.loaders.province_models.load((
            root.code, year, state.value if state else None, field.value if field else None,
            search or None, first, after))
    except BadCursor as exc:
        raise inputs.bad_cursor(exc) from exc
    return connection(page)


async def resolve_province_plan_tasks(root: strawberry.Parent[ProvinceRef], info: Info,
                                      year: int | None = None, overdue: bool | None = None
                                      ) -> list[PlanTaskType] | None:
    """The plan tasks of every tenant of the province, by due date; ``overdue: true``: those
    not completed (by every assigned unit) and due before today."""
    year = inputs.optional_year(year)
    _province(info, root.code)
    tasks = await info.context.loaders.province_plan_tasks.load((root.code, year, overdue))
    return [view(PlanTaskType, t) for t in tasks]
