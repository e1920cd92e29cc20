"""A tenant (xã, phường, đặc khu or provincial agency) and what can be read of it."""

from __future__ import annotations

import strawberry

from danvan.graphql.enums import TenantKind
from danvan.graphql.resolve_tenant import (
    resolve_by_field,
    resolve_jobs,
    resolve_models,
    resolve_period_quotas,
    resolve_plan_tasks,
    resolve_quota,
    resolve_recognitions,
    resolve_reminders,
    resolve_unit_compliance,
    resolve_units,
    resolve_users,
    resolve_year_lists,
)
from danvan.graphql.rows import served_from
from danvan.projections.directory.rows import TenantRef


@served_from(TenantRef)
@strawberry.type(name="Tenant")
class TenantType:
    id: strawberry.ID
    code: str = strawberry.field(description="Official code of the administrative unit.")
    name: str
    kind: TenantKind
    province_code: str
    units = strawberry.field(resolver=resolve_units)
    models = strawberry.field(resolver=resolve_models, description=(
        "Models, by name; search ignores case and Vietnamese diacritics. A unit user sees "
        "only its unit's models."))
    quota = strawberry.field(resolver=resolve_quota)
    by_field = strawberry.field(resolver=resolve_by_field, description=(
        "Models of the year per field: accepted, recognised at each level, and the "
        "progress reported (the figures of its review report)."))
    recognitions = strawberry.field(resolver=resolve_recognitions)
    period_quotas = strawberry.field(resolver=resolve_period_quotas)
    unit_compliance = strawberry.field(resolver=resolve_unit_compliance)
    year_lists = strawberry.field(resolver=resolve_year_lists)
    plan_tasks = strawberry.field(resolver=resolve_plan_tasks)
    reminders = strawberry.field(resolver=resolve_reminders)
    jobs = strawberry.field(resolver=resolve_jobs)
    users = strawberry.field(resolver=resolve_users, description=(
        "Accounts created in the tenant or holding a role in it (an inspector the province "
        "created: its `tenantId` names the province), by username (personal "
        "data: its admins, its province's admins and its inspectors only); search ignores case "
        "and Vietnamese diacritics."))
