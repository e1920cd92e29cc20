"""Official reports (API.md "Reports"): asking for one (an ``Operation.Requested`` event of
kind ``report`` and its job, in one transaction), finding one a caller may read, listing a
scope's. A report is read by whoever may ask for reports in its scope (``Action.REPORT``:
the scope's readers, unit users aside); anyone else is told there is no such report."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from eventsourcing.application import Application

from danvan.backend.reports.pdf import converter
from danvan.backend.services import operations
from danvan.backend.services.errors import NotFound
from danvan.domain.base import Context, InvalidInput
from danvan.domain.commands import RequestOperation
from danvan.domain.operations import OperationKind
from danvan.domain.policies import Action, RoleGrant, grants_allowing
from danvan.domain.reports import ReportFormat, ReportRequest
from danvan.infra.reports import ReportStore, StoredReport

PDF_UNAVAILABLE = ("PDF needs LibreOffice (soffice) on the server, which is not installed; "
                   "ask for docx or xlsx")


def start_report(store: Application, ctx: Context, request: ReportRequest, *,
                 pdf_available: Callable[[], bool] = lambda: converter() is not None) -> str:
    """Record the request and its job; answers the job's id, which is the report's."""
    if request.format == ReportFormat.PDF and not pdf_available():
        raise InvalidInput({"format": PDF_UNAVAILABLE})
    return operations.start_operation(store, ctx, RequestOperation(
        operations.new_operation_id(), OperationKind.REPORT, report=request.checked()))


def visible_report(reports: ReportStore, report_id: str, *,
                   grants: Sequence[RoleGrant]) -> StoredReport:
    found = reports.get(report_id)
    if found is None:
        raise NotFound("no such report")
    if grants_allowing(grants, Action.REPORT, tenant_id=found.scope,
                       province_code=found.province_code):
        return found
    raise NotFound("no such report")


def scope_reports(reports: ReportStore, scope: str) -> list[StoredReport]:
    return reports.of_scope(scope)
