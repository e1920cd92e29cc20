"""Input types and argument checks shared by resolvers."""

from __future__ import annotations

from datetime import datetime

import strawberry

from danvan.graphql.enums import OrderDirection, QuotaOrderField
from danvan.graphql.errors import BadInput


@strawberry.input(description="How to order a page of quotas.")
class QuotaOrder:
    field: QuotaOrderField = QuotaOrderField.CODE
    direction: OrderDirection = OrderDirection.ASC


def aware(moment: datetime | None, name: str = "asOf") -> datetime | None:
    """Times must carry their offset (a bare time has no place on the timeline)."""
    if moment is not None and moment.tzinfo is None:
        raise BadInput(f"{name} must carry a UTC offset, e.g. 2026-06-30T23:59:59+07:00")
    return moment
