"""The read API's subscriptions, served over ``graphql-transport-ws`` at ``/graphql``
(``graphql/ws.py``): quota rows as they change (from the process's ``QuotaFeed``,
``graphql/live.py``), and a tenant's audit trail streamed to its end."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from danvan.graphql import inputs
from danvan.graphql.context import Info
from danvan.graphql.errors import Forbidden, Unavailable
from danvan.graphql.permissions import ReadsAuditTrail, only
from danvan.graphql.resolve_audit import (
    MESSAGE_BUDGET,
    STREAM_BATCH,
    stream_audit_trail,
)
from danvan.graphql.rows import view
from danvan.graphql.type_tenant_quota import TenantQuotaType


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Each tenant quota row of the province and year that changed, within a "
                    "second of the projector applying the change (the province's roles only). "
                    "A client that does not keep up is dropped: subscribe again.")
    async def quota_changed(self, info: Info, province_code: strawberry.ID,
                            year: int) -> AsyncGenerator[TenantQuotaType, None]:
        code, year = str(province_code), inputs.year(year)
        if not info.context.access.may_read_province(code):
            raise Forbidden("not allowed to read this province")
        feed = info.context.sources.live
        if feed is None:
            raise Unavailable("live updates are not served here")
        async for row in feed.rows(code, year):
            yield view(TenantQuotaType, row)

    audit_trail = strawberry.subscription(
        resolver=stream_audit_trail, extensions=only(ReadsAuditTrail()),
        description="A tenant's events by position, oldest first, from `after` to the end of "
                    "the trail, the query's filters: each message a page of up to "
                    f"{STREAM_BATCH:,} events and {MESSAGE_BUDGET // 1024:,} KiB (an event "
                    "larger than that alone), the last with `hasNextPage: false`; then the "
                    "stream completes. Inspectors of the tenant and its province's admins.")
