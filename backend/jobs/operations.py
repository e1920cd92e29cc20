"""Long operations as jobs, with progress: ``rebuild`` (``danvan rebuild``, blue/green: an
interrupted rebuild switches nothing, a retry starts it again) and ``audit_export`` (``danvan
audit export``: the tenant's chain as JSON Lines, kept with the job for download)."""

from __future__ import annotations

import io
from typing import Any

from danvan.backend.jobs.running import JobFailed, JobRun
from danvan.infra.audit_verify import export_tenant
from danvan.infra.database import connect_app, connect_owner, owner_params
from danvan.projections.catalog import by_names
from danvan.projections.rebuild import rebuild_all
from danvan.projections.schema import ensure_read_models, stale


def rebuild(run: JobRun) -> dict[str, Any]:
    settings = run.settings
    try:
        projections = by_names(list(run.params.get("projections") or []))
    except KeyError as exc:
        raise JobFailed(str(exc.args[0])) from exc
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
        if run.params.get("stale_only"):
            names = set(stale(conn, projections))
            projections = [p for p in projections if p.name in names]
    if not projections:
        return {"rebuilt": []}

    def progress(stage: str, position: int, head: int) -> None:
        run.progress(position, head)

    done = rebuild_all(owner_params(settings).conninfo(), projections,
                       app_role=settings.app_db_role, progress=progress)
    return {"rebuilt": [{"name": r.name, "old_version": r.old_version,
                         "new_version": r.new_version, "position": r.position,
                         "events": r.events} for r in done]}


def audit_export(run: JobRun) -> dict[str, Any]:
    tenant_id = run.job.tenant_id
    if tenant_id is None:
        raise JobFailed("an audit export names a tenant")
    out = io.StringIO()
    with connect_app(run.settings) as conn:
        count = export_tenant(conn, tenant_id, out)
    content = out.getvalue().encode("utf-8")
    run.attach(f"audit-{tenant_id}.jsonl", "application/x-ndjson", content)
    run.progress(count, count)
    return {"events": count, "bytes": len(content), "url": f"/api/v1/jobs/{run.job.id}/file"}
