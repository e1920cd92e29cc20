"""The ``report`` job: read the figures through the read models' read API in one snapshot
(one repeatable-read transaction, row-level security scoped to the report's tenant or
province), note the read models' position, lay the document out and keep it
(``infra/reports.py``). Run again, it writes the same report id again (an upsert)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from danvan.backend.jobs.running import JobFailed, JobRun
from danvan.backend.reports.docx_form import render_docx
from danvan.backend.reports.figures import compose
from danvan.backend.reports.naming import MEDIA_TYPES, file_name
from danvan.backend.reports.pdf import ConverterMissing, docx_to_pdf
from danvan.backend.reports.scope import Scope
from danvan.backend.reports.xlsx_sheet import render_xlsx
from danvan.backend.wiring import load_catalogue
from danvan.domain.base import InvalidInput
from danvan.domain.policies import province_of_scope
from danvan.domain.reports import ReportFormat, ReportRequest
from danvan.infra.database import connect_app
from danvan.infra.reports import ReportStore, StoredReport
from danvan.infra.settings import Settings
from danvan.projections.directory.read import tenants_by_id
from danvan.projections.queries import scoped
from danvan.projections.schema import read_models_stamp, stamp_position


def render(settings: Settings, scope_id: str, request: ReportRequest, *,
           now: datetime | None = None) -> tuple[bytes, str, Scope, datetime | None, int]:
    """The document's bytes and file name, its scope, the moment its figures are counted at
    and the read models' position they were read at."""
    now = now or datetime.now(UTC)
    moment = request.moment(now)
    province = province_of_scope(scope_id)
    with connect_app(settings, autocommit=False) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with scoped(conn, tenant_ids=() if province else (scope_id,),
                    province_codes=(province,) if province else ()):
            position = stamp_position(read_models_stamp(conn))
            tenant = None
            if province is None:
                tenant = tenants_by_id(conn, [scope_id]).get(scope_id)
                if tenant is None:
                    raise JobFailed("the read models know no such tenant")
                province = tenant.province_code
            known = load_catalogue().province(province)
            scope = Scope(province, known.name if known else province, tenant)
            report = compose(conn, scope, request, moment=moment, now=now)
    layout = render_xlsx if request.format == ReportFormat.XLSX else render_docx
    content = layout(report)
    if request.format == ReportFormat.PDF:
        try:
            content = docx_to_pdf(content)
        except ConverterMissing as exc:
            raise JobFailed(str(exc)) from exc
    name = file_name(request.kind, request.year, request.period, scope.display,
                     request.format)
    return content, name, scope, moment, position


def produce(run: JobRun) -> dict[str, Any]:
    scope_id = run.job.tenant_id
    if scope_id is None:
        raise JobFailed("a report names a tenant or a province")
    try:
        request = ReportRequest.from_params(run.params)
    except InvalidInput as exc:
        raise JobFailed(str(exc)) from exc
    content, name, scope, moment, position = render(run.settings, scope_id, request)
    store = ReportStore(lambda: connect_app(run.settings))
    store.save(StoredReport(
        id=run.job.id, scope=scope_id, province_code=scope.province_code,
        kind=request.kind.value, year=request.year,
        period=request.period.value if request.period else None, as_of=moment,
        format=request.format.value, position=position, file_name=name,
        media_type=MEDIA_TYPES[request.format], created_by=run.job.created_by), content)
    run.progress(1, 1)
    return {"report_id": run.job.id, "url": f"/api/v1/reports/{run.job.id}",
            "file_name": name, "bytes": len(content), "position": position,
            "as_of": moment.isoformat() if moment else None}
