"""Resolvers of ``tenant(id)`` and of a tenant's fields: units, models, quota, recognitions,
plan tasks, users. Every one checks the caller may read the tenant (a unit user only its unit's
models) and reads through the per-request loaders (one query per level of a list)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from danvan.domain.limits import MAX_NAME
from danvan.domain.policies import Action
from danvan.domain.reminders import ReminderSubject
from danvan.graphql import inputs
from danvan.graphql.context import Info
from danvan.graphql.enums import ModelField, ModelState, RecognitionLevel
from danvan.graphql.errors import BadInput, Forbidden, NotFound
from danvan.graphql.limits import DEFAULT_PAGE, check_page
from danvan.graphql.rows import view
from danvan.graphql.type_connection import Connection, connection
from danvan.graphql.type_field_breakdown import FieldBreakdownType
from danvan.graphql.type_job import JobType
from danvan.graphql.type_period_quota import PeriodQuotaType
from danvan.graphql.type_plan_task import PlanTaskType
from danvan.graphql.type_recognition import RecognitionType
from danvan.graphql.type_reminder import ReminderType
from danvan.graphql.type_unit import UnitType
from danvan.graphql.type_unit_compliance import UnitComplianceType
from danvan.graphql.type_user import UserType
from danvan.graphql.type_year_list import YearListType
from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.read import breakdown
from danvan.projections.paging import BadCursor

if TYPE_CHECKING:
    from danvan.graphql.type_model import ModelType
    from danvan.graphql.type_tenant import TenantType
    from danvan.graphql.type_tenant_quota import TenantQuotaType

LazyModel = Annotated["ModelType", strawberry.lazy("danvan.graphql.type_model")]
LazyTenant = Annotated["TenantType", strawberry.lazy("danvan.graphql.type_tenant")]
LazyQuota = Annotated["TenantQuotaType", strawberry.lazy("danvan.graphql.type_tenant_quota")]


async def visible_tenant(info: Info, tenant_id: str) -> TenantRef:
    """The tenant if the caller may read it: ``Forbidden`` if not (whether it exists or not),
    ``NotFound`` if it may but the read models know no such tenant."""
    access = info.context.access
    if access.holds_tenant_role(tenant_id):
        ref = await info.context.loaders.tenant.load(tenant_id)
        if ref is None:
            raise NotFound("no such tenant")
        return ref
    if access.province_codes():
        ref = await info.context.loaders.tenant.load(tenant_id)  # scoped: own provinces only
        if ref is not None and access.may(Action.TENANT_READ, tenant_id=tenant_id,
                                          province_code=ref.province_code):
            return ref
    raise Forbidden("not allowed to read this tenant")


def require_read(info: Info, tenant: TenantRef) -> None:
    if not info.context.access.may(Action.TENANT_READ, tenant_id=tenant.id,
                                   province_code=tenant.province_code):
        raise Forbidden("not allowed to read this tenant")


def unit_scope(info: Info, tenant: TenantRef, unit_id: str | None) -> tuple[str, ...] | None:
    """Units whose models the caller may list here (None: all), narrowed to ``unit_id``."""
    require_read(info, tenant)
    scope = info.context.access.unit_scope(tenant.id, tenant.province_code)
    if scope is None:
        return (unit_id,) if unit_id else None
    if unit_id is not None:
        if unit_id not in scope:
            raise Forbidden("a unit user reads only its own unit's models")
        return (unit_id,)
    return tuple(sorted(scope))


async def resolve_tenant(info: Info, id: strawberry.ID) -> LazyTenant | None:
    return cast("TenantType", await visible_tenant(info, inputs.identifier(id, "id")))


async def resolve_units(root: strawberry.Parent[TenantRef], info: Info,
                        include_closed: bool = True) -> list[UnitType]:
    require_read(info, root)
    rows = await info.context.loaders.units.load((root.id,))
    return [view(UnitType, u) for u in rows if include_closed or u.closed_at is None]


async def resolve_models(root: strawberry.Parent[TenantRef], info: Info,
                         year: int | None = None, state: ModelState | None = None,
                         field: ModelField | None = None, unit_id: strawberry.ID | None = None,
                         search: str | None = None, first: int = DEFAULT_PAGE,
                         after: str | None = None) -> Connection[LazyModel] | None:
    check_page(first)
    year = inputs.optional_year(year)
    search = inputs.text(search, "search", MAX_NAME)
    after = inputs.cursor(after)
    units = unit_scope(info, root, inputs.optional_uuid_id(unit_id or None, "unitId"))
    try:
        page = await info.context.loaders.models.load((
            root.id, year, state.value if state else None, field.value if field else None,
            units, search or None, first, after))
    except BadCursor as exc:
        raise inputs.bad_cursor(exc) from exc
    return connection(page)


async def resolve_quota(root: strawberry.Parent[TenantRef], info: Info, year: int,
                        as_of: datetime | None = None) -> LazyQuota | None:
    year, as_of = inputs.year(year), inputs.optional_moment(as_of, "asOf")
    require_read(info, root)
    found = await info.context.loaders.quota.load((root.id, year, as_of))
    return cast("TenantQuotaType | None", found)


async def resolve_by_field(root: strawberry.Parent[TenantRef], info: Info, year: int,
                           as_of: datetime | None = None) -> list[FieldBreakdownType] | None:
    """The tenant's models of ``year`` per field (all five), as the province summary's."""
    year, as_of = inputs.year(year), inputs.optional_moment(as_of, "asOf")
    require_read(info, root)
    rows = await info.context.reader.run(breakdown, [root.id], year, as_of=as_of)
    return [view(FieldBreakdownType, r) for r in rows]


async def resolve_recognitions(root: strawberry.Parent[TenantRef], info: Info,
                               year: int | None = None, level: RecognitionLevel | None = None,
                               include_revoked: bool = True) -> list[RecognitionType] | None:
    year = inputs.optional_year(year)
    units = unit_scope(info, root, None)
    rows = await info.context.loaders.recognitions.load(
        (root.id, year, level.value if level else None, include_revoked, units))
    return [view(RecognitionType, r) for r in rows]


async def resolve_plan_tasks(root: strawberry.Parent[TenantRef], info: Info,
                             year: int | None = None, overdue: bool | None = None
                             ) -> list[PlanTaskType] | None:
    """The tenant's plan tasks by due date; ``overdue`` keeps those that are (or are not)."""
    year = inputs.optional_year(year)
    require_read(info, root)
    tasks = await info.context.loaders.plan_tasks.load((root.id, year, overdue))
    return [view(PlanTaskType, t) for t in tasks]


async def resolve_period_quotas(root: strawberry.Parent[TenantRef], info: Info, start: int,
                                end: int, as_of: datetime | None = None
                                ) -> PeriodQuotaType | None:
    """The quota of the multi-year period ``start``–``end`` (e.g. 2026–2030) as it stood at
    ``asOf`` (default now)."""
    start, end = inputs.year(start, "start"), inputs.year(end, "end")
    if not start < end <= start + 10:
        raise BadInput("end must be after start, at most 10 years later", argument="end")
    as_of = inputs.optional_moment(as_of, "asOf")
    require_read(info, root)
    found = await info.context.loaders.period_quota.load((root.id, start, end, as_of))
    return view(PeriodQuotaType, found) if found is not None else None


async def resolve_unit_compliance(root: strawberry.Parent[TenantRef], info: Info, year: int,
                                  as_of: datetime | None = None
                                  ) -> list[UnitComplianceType] | None:
    """Every unit open at ``asOf`` (default now), by name, and whether it has submitted its
    models of ``year`` (a unit user: its own unit only)."""
    year, as_of = inputs.year(year), inputs.optional_moment(as_of, "asOf")
    units = unit_scope(info, root, None)
    rows = await info.context.loaders.unit_compliance.load((root.id, year, as_of))
    return [view(UnitComplianceType, u) for u in rows if units is None or u.unit_id in units]


async def resolve_year_lists(root: strawberry.Parent[TenantRef], info: Info,
                             as_of: datetime | None = None) -> list[YearListType] | None:
    """The years' lists approved (by ``asOf``), by year, each with its decisions."""
    as_of = inputs.optional_moment(as_of, "asOf")
    require_read(info, root)
    lists = await info.context.loaders.year_lists.load((root.id, as_of))
    return [view(YearListType, y) for y in lists]


async def resolve_reminders(root: strawberry.Parent[TenantRef], info: Info,
                            subject: ReminderSubject | None = None, since: date | None = None,
                            first: int = DEFAULT_PAGE, after: str | None = None
                            ) -> Connection[ReminderType] | None:
    """The reminders recorded for the tenant (``Reminder.Sent``), newest first; ``since``: a
    first day."""
    check_page(first)
    after = inputs.cursor(after)
    require_read(info, root)
    try:
        page = await info.context.loaders.reminders.load(
            (root.id, subject.value if subject else None, since, first, after))
    except BadCursor as exc:
        raise inputs.bad_cursor(exc) from exc
    return connection(page)


async def resolve_jobs(root: strawberry.Parent[TenantRef], info: Info, first: int = DEFAULT_PAGE,
                       after: str | None = None) -> Connection[JobType] | None:
    """The tenant's jobs, newest first (imports, reports, exports, the day's reminders)."""
    check_page(first)
    after = inputs.cursor(after)
    require_read(info, root)
    try:
        page = await info.context.loaders.jobs.load((root.id, first, after))
    except BadCursor as exc:
        raise inputs.bad_cursor(exc) from exc
    return connection(page)


async def resolve_users(root: strawberry.Parent[TenantRef], info: Info,
                        active: bool | None = None, search: str | None = None,
                        first: int = DEFAULT_PAGE, after: str | None = None
                        ) -> Connection[UserType] | None:
    """The accounts created in the tenant or holding a role in it (an inspector the province
    created, whose ``tenantId`` names the province), by username; ``active`` keeps the active
    (or the deactivated) ones; ``search`` matches the username or full name ignoring case and
    Vietnamese diacritics. Its admins, its province's admins and its inspectors only."""
    check_page(first)
    search = inputs.text(search, "search", MAX_NAME)
    after = inputs.cursor(after)
    if not info.context.access.may(Action.USER_READ, tenant_id=root.id,
                                   province_code=root.province_code):
        raise Forbidden("only the tenant's admins, its province's admins and its inspectors "
                        "read its accounts")
    try:
        page = await info.context.loaders.users.load(
            (root.id, active, search or None, first, after))
    except BadCursor as exc:
        raise inputs.bad_cursor(exc) from exc
    return connection(page)
