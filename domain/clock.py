"""Vietnam civil time: years, dates and "now" of the movement are in UTC+07:00."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")


def vietnam_date(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def year_fraction_elapsed(year: int, at: datetime) -> float:
    """Share of ``year`` (Vietnam time) elapsed at ``at``: 0 before it starts, 1 after it ends."""
    start = datetime(year, 1, 1, tzinfo=VIETNAM)
    end = datetime(year + 1, 1, 1, tzinfo=VIETNAM)
    if at <= start:
        return 0.0
    if at >= end:
        return 1.0
    return (at - start) / (end - start)
