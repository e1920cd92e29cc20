"""A province: its consolidated figures over every tenant (for province roles)."""

from __future__ import annotations

import strawberry

from danvan.graphql.resolve_province import (
    ProvinceRef,
    resolve_dead_jobs,
    resolve_province_models,
    resolve_province_plan_tasks,
    resolve_quotas,
    resolve_summary,
)
from danvan.graphql.rows import served_from


@served_from(ProvinceRef)
@strawberry.type(name="Province")
class ProvinceType:
    code: strawberry.ID
    name: str
    summary = strawberry.field(resolver=resolve_summary)
    quotas = strawberry.field(resolver=resolve_quotas, description=(
        "Each tenant's quota, filtered by kind, status and risk, ordered (default: official "
        "code); totalCount counts every row matching."))
    models = strawberry.field(resolver=resolve_province_models, description=(
        "Models of every tenant of the province, by name (search ignores case and Vietnamese "
        "diacritics); state: NOMINATED is the recognition queue."))
    plan_tasks = strawberry.field(resolver=resolve_province_plan_tasks)
    dead_jobs = strawberry.field(resolver=resolve_dead_jobs)
