"""Vietnam civil time: years, dates and "now" of the movement are in UTC+07:00."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def vietnam_date(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def period_fraction_elapsed(start_year: int, end_year: int, at: datetime) -> float:
    """Share of the years ``start_year..end_year`` (inclusive, Vietnam time) elapsed at
    ``at``: 0 before the first starts, 1 after the last ends."""
    start = datetime(start_year, 1, 1, tzinfo=VIETNAM)
    end = datetime(end_year + 1, 1, 1, tzinfo=VIETNAM)
    if at <= start:
        return 0.0
    if at >= end:
        return 1.0
    return (at - start) / (end - start)


def year_fraction_elapsed(year: int, at: datetime) -> float:
    """Share of ``year`` (Vietnam time) elapsed at ``at``."""
    return period_fraction_elapsed(year, year, at)
