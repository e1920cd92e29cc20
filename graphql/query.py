"""The root of the read API (API.md, "Read API")."""

from __future__ import annotations

import strawberry

from danvan.graphql.permissions import ReadsAuditTrail, ReadsProvince, only
from danvan.graphql.resolve_audit import resolve_audit_trail, resolve_verify_audit_chain
from danvan.graphql.resolve_model import resolve_model
from danvan.graphql.resolve_province import resolve_province, resolve_provinces
from danvan.graphql.resolve_tenant import resolve_tenant


@strawberry.type
class Query:
    province = strawberry.field(
        resolver=resolve_province, extensions=only(ReadsProvince()),
        description="A province's consolidated figures (its province roles only).")
    provinces = strawberry.field(
        resolver=resolve_provinces,
        description="Every province the caller reads whole: its province roles' (all of them "
                    "for a national analyst).")
    tenant = strawberry.field(
        resolver=resolve_tenant,
        description="A tenant the caller may read (its own, or any of its province's).")
    model = strawberry.field(
        resolver=resolve_model,
        description="A model the caller may read (a unit user: its unit's only).")
    audit_trail = strawberry.field(
        resolver=resolve_audit_trail, extensions=only(ReadsAuditTrail()),
        description="A tenant's events by position, oldest first (inspectors of the tenant, "
                    "its province's admins).")
    verify_audit_chain = strawberry.field(
        resolver=resolve_verify_audit_chain, extensions=only(ReadsAuditTrail()),
        description="Recompute the tenant's hash chain and check its head and seals.")
