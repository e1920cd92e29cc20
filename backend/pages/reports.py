"""Reports from the tenant's page: asking for one goes through the same service and guard as
``POST /api/v1/tenants/{tenant_id}/reports`` (a job the page then follows), the list is the
scope's as ``GET …/reports`` answers it, and ``GET /bao-cao/{report_id}`` downloads the
stored report under the same rule as ``GET /api/v1/reports/{report_id}`` (whoever reads
its scope; anyone else: 404), for a signed-in user instead of a bearer."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect

from danvan.backend.auth.guards import allow
from danvan.backend.controllers.deps import store_of
from danvan.backend.controllers.reports import report_file, report_store
from danvan.backend.dto import ReportBody, given
from danvan.backend.http.context import build_context
from danvan.backend.observability.metrics import track_command
from danvan.backend.pages.forms import as_body, form_fields, refused_back
from danvan.backend.pages.jobs import page_link
from danvan.backend.pages.session import signed_in
from danvan.backend.pages.views import HttpRequest, flash, home
from danvan.backend.reports.naming import REVIEWS, TITLES
from danvan.backend.services import reports
from danvan.domain.policies import Action
from danvan.domain.reports import ReportFormat, ReportKind, ReportPeriod

REPORT_FORM = "bao-cao"
REPORT_KINDS = {kind.value: TITLES[kind] for kind in ReportKind}
PERIODS = {ReportPeriod.FIRST_HALF.value: "6 tháng đầu năm",
           ReportPeriod.NINE_MONTHS.value: "9 tháng", ReportPeriod.YEAR.value: "Cả năm"}
FORMATS = {ReportFormat.DOCX.value: "Word (DOCX)", ReportFormat.XLSX.value: "Excel (XLSX)",
           ReportFormat.PDF.value: "PDF"}
REPORT_FIELDS = ("kind", "year", "format", "period")


def report_title(kind: str, period: str | None) -> str:
    if kind == ReportKind.REVIEW:
        return REVIEWS[ReportPeriod(period or ReportPeriod.YEAR)]
    return REPORT_KINDS.get(kind, kind)


async def tenant_reports(request: HttpRequest, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's stored reports, newest first, as the page lists them."""
    found = await sync_to_thread(
        lambda: reports.scope_reports(report_store(request), tenant_id))
    return [{**r.as_json(), "title": report_title(r.kind, r.period),
             "download": f"/bao-cao/{r.id}"} for r in found]


class TenantReport(Controller):
    path = "/don-vi/{tenant_id:str}/bao-cao"
    include_in_schema = False

    @post("/", guards=[signed_in, allow(Action.REPORT)])
    async def start(self, request: HttpRequest) -> Redirect:
        tenant_id = str(request.path_params["tenant_id"])
        fields = await form_fields(request)
        ctx = build_context(request)
        try:
            body = as_body({k: fields.get(k, "") for k in REPORT_FIELDS}, ReportBody)
            with track_command("operation.report"):
                job_id = await sync_to_thread(
                    lambda: reports.start_report(store_of(request), ctx, body.request()))
        except Exception as refused:  # back to the form, each message next to its field
            return refused_back(request, home(tenant_id) + "#bao-cao", refused,
                                form=REPORT_FORM,
                                values={k: fields.get(k) for k in REPORT_FIELDS})
        flash(request, f"Đang lập “{report_title(body.kind, given(body.period))}” năm "
                       f"{body.year}.")
        return Redirect(path=page_link(tenant_id, job_id), status_code=303)


class ReportDownloads(Controller):
    path = "/bao-cao"
    include_in_schema = False

    @get("/{report_id:str}", guards=[signed_in])
    async def download(self, request: HttpRequest) -> Response[bytes]:
        report_id = str(request.path_params["report_id"])
        return await sync_to_thread(lambda: report_file(request, report_id))
