"""Figures progress reports add up (``projections.read_quota.Progress``)."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type(name="Progress", description="People taking part, workdays, money (VND) "
                                              "and land (m²) mobilised, and the reports.")
class ProgressType:
    participants: int
    workdays: int
    money_vnd: Decimal
    land_m2: Decimal
    reports: int
