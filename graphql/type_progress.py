"""Figures progress reports add up."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from danvan.graphql.rows import served_from
from danvan.projections.models.rows import Progress


@served_from(Progress)
@strawberry.type(name="Progress", description="People taking part, workdays, money (VND) "
                                              "and land (m²) mobilised, and the reports.")
class ProgressType:
    participants: int
    workdays: int
    money_vnd: Decimal
    land_m2: Decimal
    reports: int
