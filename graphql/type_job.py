"""A background job (``projections.jobs.rows.JobSummary``): ``GET /api/v1/jobs/{id}`` has
the rest (result, errors)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from danvan.graphql.enums import JobState
from danvan.graphql.rows import served_from
from danvan.projections.jobs.rows import JobSummary


@served_from(JobSummary)
@strawberry.type(name="Job", description="A background job: an import, a report, a rebuild, "
                                         "an export, the day's reminders.")
class JobType:
    id: strawberry.ID
    kind: str
    state: JobState
    dead: bool = strawberry.field(description="Failed its last retry; an operator may replay "
                                              "it (danvan jobs retry).")
    progress_done: int
    progress_total: int | None
    created_at: datetime
    finished_at: datetime | None
