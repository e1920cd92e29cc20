"""Rows of the jobs the read API lists (``reading.row``: the fields are the SELECT list)."""

from __future__ import annotations

from datetime import datetime

from danvan.projections.reading import column, row


@row
class JobSummary:
    id: str = column("job_id::text")
    tenant_id: str | None
    kind: str
    state: str
    dead: bool
    progress_done: int
    progress_total: int | None
    created_at: datetime
    finished_at: datetime | None
