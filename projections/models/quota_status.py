"""Quota status and "at risk", from counts and targets at a moment (pure; API.md's rules).

- ``MET``: the three count targets are met and no unit lacks its registrations;
- ``MISSED``: the year (or period) is over and that is not so;
- ``IN_PROGRESS``: otherwise;
- at risk: in progress and, for one of the three count targets, actual ÷ target is below the
  fraction of the year (or period) elapsed; a target of 0 is always met.

Years and "now" are Vietnam time (``danvan.domain.clock``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from danvan.domain.clock import year_fraction_elapsed

MET = "MET"
MISSED = "MISSED"
IN_PROGRESS = "IN_PROGRESS"
STATUSES = (MET, MISSED, IN_PROGRESS)


def targets_met(pairs: Sequence[tuple[int, int]]) -> bool:
    """``pairs`` of (actual, target); a target of 0 (or less) is always met."""
    return all(target <= 0 or actual >= target for actual, target in pairs)


def behind(pairs: Sequence[tuple[int, int]], fraction: float) -> bool:
    return any(target > 0 and actual / target < fraction for actual, target in pairs)


def judge(pairs: Sequence[tuple[int, int]], units_without_registration: int,
          fraction: float) -> tuple[str, bool]:
    """(status, at_risk) given the count pairs, the units lacking registrations and the share
    of the year or period elapsed (1.0 once it is over)."""
    if targets_met(pairs) and units_without_registration == 0:
        return MET, False
    if fraction >= 1.0:
        return MISSED, False
    return IN_PROGRESS, behind(pairs, fraction)


def judge_year(pairs: Sequence[tuple[int, int]], units_without_registration: int, year: int,
               at: datetime) -> tuple[str, bool]:
    return judge(pairs, units_without_registration, year_fraction_elapsed(year, at))
