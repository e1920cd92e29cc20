"""Progress reports: the figures reports add up (participants, workdays, VND, m²)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from danvan.domain.limits import AREA_M2, MAX_PARTICIPANTS, MAX_WORKDAYS, MONEY_VND
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import ReportProgress

PERIOD = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]))?$")
PERIOD_RULE = "must be YYYY, YYYY-H1|H2 or YYYY-Q1..Q4"


def period_year(period: str) -> int:
    match = PERIOD.match(period)
    assert match is not None
    return int(match.group(1))


def check_progress(command: ReportProgress, *, model_year: int) -> dict[str, Any]:
    """The report's figures as the event records them (decimals as strings)."""
    errors = Errors()
    if not PERIOD.match(command.period):
        errors.add("period", PERIOD_RULE)
    elif not model_year <= period_year(command.period) <= model_year + 10:
        errors.add("period", "must fall in or after the model's year")
    errors.integer("participants", command.participants, maximum=MAX_PARTICIPANTS)
    errors.integer("workdays", command.workdays, maximum=MAX_WORKDAYS)
    errors.decimal("money_vnd", command.money_vnd, MONEY_VND)
    errors.decimal("land_m2", command.land_m2, AREA_M2)
    note = errors.text("note", command.note, required=False) or ""
    errors.raise_if_any()
    return {"period": command.period, "participants": command.participants,
            "workdays": command.workdays, "money_vnd": str(command.money_vnd),
            "land_m2": str(command.land_m2), "note": note}
