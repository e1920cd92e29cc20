"""Rows of the targets read model (``reading.row``: the fields are the SELECT list)."""

from __future__ import annotations

from danvan.projections.reading import row


@row
class PeriodTargetsRow:
    """A tenant's multi-year targets (e.g. 2026–2030) as they stood at some moment."""

    tenant_id: str
    start_year: int
    end_year: int
    targets: dict[str, int]
