"""The verdict on a tenant's hash chain (``infra.audit_chain.TenantVerification``)."""

from __future__ import annotations

import strawberry


@strawberry.type(name="AuditChainVerification")
class AuditChainVerificationType:
    tenant_id: strawberry.ID
    ok: bool
    events_checked: int
    first_broken_position: int | None
    last_position: int | None
    head_position: int | None
    seals_checked: int
    seals_unverified: int
    problems: list[str]
    warnings: list[str] = strawberry.field(
        description="What leaves the chain less proven than it should be, though intact: no "
                    "seal yet, or the last seal more than DANVAN_SEAL_EVERY events or a day "
                    "old.")
