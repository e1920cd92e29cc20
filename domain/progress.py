"""Progress reports: the figures reports add up (participants, workdays, VND, m²)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from danvan.domain.limits import AREA_M2, MAX_PARTICIPANTS, MAX_WORKDAYS, MONEY_VND
from danvan.domain.validation import Errors

PERIOD = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]))?$")
PERIOD_RULE = "must be YYYY, YYYY-H1|H2 or YYYY-Q1..Q4"
PROGRESS_MEMBERS = ("period", "participants", "workdays", "money_vnd", "land_m2", "note")


@dataclass(frozen=True)
class ProgressFigures:
    period: str
    participants: int
    workdays: int
    money_vnd: Decimal
    land_m2: Decimal
    note: str

    def as_event_fields(self) -> dict[str, Any]:
        return {"period": self.period, "participants": self.participants,
                "workdays": self.workdays, "money_vnd": str(self.money_vnd),
                "land_m2": str(self.land_m2), "note": self.note}


def period_year(period: str) -> int:
    match = PERIOD.match(period)
    assert match is not None
    return int(match.group(1))


def parse_progress(values: dict[str, Any], *, model_year: int) -> ProgressFigures:
    errors = Errors()
    errors.no_unknown(values, PROGRESS_MEMBERS)
    period = values.get("period")
    if not isinstance(period, str) or not PERIOD.match(period):
        errors.add("period", PERIOD_RULE)
    elif not model_year <= period_year(period) <= model_year + 10:
        errors.add("period", "must fall in or after the model's year")
    participants = errors.integer("participants", values.get("participants"),
                                  maximum=MAX_PARTICIPANTS)
    workdays = errors.integer("workdays", values.get("workdays"), maximum=MAX_WORKDAYS)
    money = errors.decimal("money_vnd", values.get("money_vnd", 0), MONEY_VND)
    land = errors.decimal("land_m2", values.get("land_m2", 0), AREA_M2)
    note = errors.text("note", values.get("note", ""), required=False) or ""
    errors.raise_if_any()
    assert participants is not None and workdays is not None
    assert money is not None and land is not None and isinstance(period, str)
    return ProgressFigures(period, participants, workdays, money, land, note)
