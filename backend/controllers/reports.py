"""Official reports over HTTP (API.md "Reports"): asking for one (a job: ``202`` with its
``job_id``, whose result is ``{report_id, url}``), listing a tenant's or a province's (newest
first), and downloading one under its Vietnamese file name (RFC 6266 ``filename*``). Whoever
may not read a report's scope is told there is no such report (404)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from danvan.backend.auth.guards import allow, authenticated, principal_of
from danvan.backend.controllers.deps import Ctx, HttpRequest, store_of
from danvan.backend.controllers.jobs import started
from danvan.backend.dto import ReportBody
from danvan.backend.errors import Problem
from danvan.backend.observability.metrics import track_command
from danvan.backend.reports.naming import content_disposition
from danvan.backend.services import reports
from danvan.domain.policies import Action, province_scope
from danvan.infra.reports import ReportStore


def report_store(request: Request[Any, Any, Any]) -> ReportStore:
    pool = request.app.state["services"].db_pool
    if pool is None:
        raise Problem(503, "store_unavailable")
    return ReportStore(pool.connection)


def _listed(store: ReportStore, scope: str) -> dict[str, Any]:
    return {"reports": [r.as_json() for r in reports.scope_reports(store, scope)]}


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]

    @get("/{report_id:str}", operation_id="getReport", guards=[authenticated()],
         sync_to_thread=True, raises=[NotFoundException],
         summary="Download a report (DOCX, XLSX or PDF) under its Vietnamese file name")
    def download(self, request: HttpRequest, report_id: FromPath[str]) -> Response[bytes]:
        return report_file(request, report_id)


def report_file(request: Request[Any, Any, Any], report_id: str) -> Response[bytes]:
    """The stored report as a download, for whoever may read its scope (404 for anyone
    else); the API's route and the pages' both answer it."""
    store = report_store(request)
    found = reports.visible_report(store, report_id, grants=principal_of(request).grants)
    content = store.content(found.id)
    if content is None:
        raise Problem(404, "not_found")
    return Response(content, media_type=found.media_type,
                    headers={"Content-Disposition": content_disposition(found.file_name)})


class TenantReportController(Controller):
    path = "/tenants/{tenant_id:str}/reports"
    tags = ["reports"]

    @post("/", operation_id="startTenantReport", guards=[allow(Action.REPORT)],
          status_code=202, sync_to_thread=True, summary="Make a tenant's report as a job")
    def start(self, request: HttpRequest, ctx: Ctx,
              data: JSONBody[ReportBody]) -> Response[dict[str, Any]]:
        with track_command("operation.report"):
            return started(reports.start_report(store_of(request), ctx, data.request()))

    @get("/", operation_id="listTenantReports", guards=[allow(Action.REPORT)],
         sync_to_thread=True, summary="A tenant's reports, newest first")
    def list_reports(self, request: HttpRequest, tenant_id: FromPath[str]) -> dict[str, Any]:
        return _listed(report_store(request), tenant_id)


class ProvinceReportController(Controller):
    path = "/provinces/{code:str}/reports"
    tags = ["reports"]

    @post("/", operation_id="startProvinceReport", guards=[allow(Action.REPORT)],
          status_code=202, sync_to_thread=True, summary="Make a province's report as a job")
    def start(self, request: HttpRequest, ctx: Ctx,
              data: JSONBody[ReportBody]) -> Response[dict[str, Any]]:
        with track_command("operation.report"):
            return started(reports.start_report(store_of(request), ctx, data.request()))

    @get("/", operation_id="listProvinceReports", guards=[allow(Action.REPORT)],
         sync_to_thread=True, summary="A province's own reports, newest first")
    def list_reports(self, request: HttpRequest, code: FromPath[str]) -> dict[str, Any]:
        return _listed(report_store(request), province_scope(code))
