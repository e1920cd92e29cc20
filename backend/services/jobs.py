"""Reading a job: its creator, and whoever its kind's read action allows in its scope (a
tenant's readers; for an audit export, those who read the audit trail). Anyone else is told
there is no such job, as for any id outside one's scope."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from danvan.backend.jobs.kinds import kind_of
from danvan.backend.services.errors import NotFound
from danvan.domain.policies import RoleGrant, grants_allowing, province_of_scope
from danvan.infra.jobs import JobRow, JobStore

ProvinceOf = Callable[[str], "str | None"]


def visible_job(jobs: JobStore, job_id: str, *, user_id: str, grants: Sequence[RoleGrant],
                province_of: ProvinceOf) -> JobRow:
    row = jobs.get(job_id)
    if row is None:
        raise NotFound("no such job")
    if row.created_by is not None and row.created_by == user_id:
        return row
    if row.tenant_id is not None:
        province = province_of_scope(row.tenant_id) or province_of(row.tenant_id)
        if grants_allowing(grants, kind_of(row.kind).read_action, tenant_id=row.tenant_id,
                           province_code=province):
            return row
    raise NotFound("no such job")


PRIVATE_RESULT = frozenset({"one_time_passwords"})
"""Members of a job's result shown to its creator alone (an import's generated passwords)."""


def job_body(row: JobRow, viewer: str | None = None) -> dict[str, Any]:
    """A job as ``GET /jobs/{id}`` answers it (API.md "Jobs") to ``viewer`` (a user id)."""
    result = row.result
    if isinstance(result, dict) and (viewer is None or viewer != row.created_by):
        result = {k: v for k, v in result.items() if k not in PRIVATE_RESULT}
    return {
        "id": row.id, "kind": row.kind, "state": row.state,
        "progress": {"done": row.progress_done, "total": row.progress_total},
        "result": result, "errors": row.errors,
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }
