"""Jobs over HTTP (API.md "Jobs"): following one, and starting the long operations.

A request that starts a job answers ``202`` with ``{job_id}`` and ``Location:
/api/v1/jobs/{job_id}``; the job was recorded with the request's event, in its transaction.
``GET /jobs/{job_id}`` answers its creator and whoever reads its scope (an audit export:
whoever reads the audit trail there); anyone else gets a 404, as for an unknown id.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from danvan.backend.auth.guards import TenantDirectory, allow, authenticated, principal_of
from danvan.backend.controllers.deps import Ctx, HttpRequest, store_of
from danvan.backend.dto import Empty, RebuildRequest, exporting
from danvan.backend.errors import Problem
from danvan.backend.observability.metrics import track_command
from danvan.backend.services import jobs, operations
from danvan.domain.policies import Action
from danvan.infra.jobs import JobStore

API_JOBS = "/api/v1/jobs"


def job_store(request: Request[Any, Any, Any]) -> JobStore:
    store = request.app.state["services"].jobs
    if store is None:
        raise Problem(503, "store_unavailable")
    return store


def started(job_id: str) -> Response[dict[str, Any]]:
    return Response({"job_id": job_id}, status_code=202,
                    headers={"Location": f"{API_JOBS}/{job_id}"})


def visible(request: HttpRequest, job_id: str) -> Any:
    principal = principal_of(request)
    directory: TenantDirectory | None = request.app.state.get("tenant_directory")
    return jobs.visible_job(job_store(request), job_id, user_id=principal.user_id,
                            grants=principal.grants,
                            province_of=directory.province_of if directory else lambda _: None)


class JobController(Controller):
    path = "/jobs"
    tags = ["jobs"]

    @get("/{job_id:str}", operation_id="getJob", guards=[authenticated()], sync_to_thread=True,
         raises=[NotFoundException], summary="A job's state, progress, result and errors")
    def get_job(self, request: HttpRequest, job_id: FromPath[str]) -> dict[str, Any]:
        return jobs.job_body(visible(request, job_id), principal_of(request).user_id)

    @get("/{job_id:str}/file", operation_id="getJobFile", guards=[authenticated()],
         sync_to_thread=True, raises=[NotFoundException],
         summary="The file a job produced (an audit export)")
    def get_file(self, request: HttpRequest, job_id: FromPath[str]) -> Response[bytes]:
        row = visible(request, job_id)
        found = job_store(request).file(row.id)
        if found is None:
            raise Problem(404, "not_found")
        name, media_type, content = found
        return Response(content, media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


class ProvinceOperationsController(Controller):
    path = "/provinces/{code:str}"
    tags = ["jobs"]

    @post("/rebuilds", operation_id="startRebuild", guards=[allow(Action.REBUILD)],
          status_code=202, sync_to_thread=True,
          summary="Rebuild read models as a job (blue/green)")
    def start_rebuild(self, request: HttpRequest, ctx: Ctx, code: FromPath[str],
                      data: JSONBody[RebuildRequest]) -> Response[dict[str, Any]]:
        with track_command("operation.rebuild"):
            return started(operations.start_operation(
                store_of(request), ctx, data.command(operations.new_operation_id())))


class TenantOperationsController(Controller):
    path = "/tenants/{tenant_id:str}"
    tags = ["jobs"]

    @post("/audit-exports", operation_id="startAuditExport",
          guards=[allow(Action.AUDIT_EXPORT)], status_code=202, sync_to_thread=True,
          summary="Export the tenant's audit chain (JSON Lines) as a job")
    def start_export(self, request: HttpRequest, ctx: Ctx,
                     data: JSONBody[Empty]) -> Response[dict[str, Any]]:
        with track_command("operation.audit_export"):
            return started(operations.start_operation(
                store_of(request), ctx, exporting(operations.new_operation_id())))
