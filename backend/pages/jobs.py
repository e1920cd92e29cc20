"""A job followed from the tenant's page (an import, a report): its state, a progress bar,
its result and its per-row errors, read as ``GET /api/v1/jobs/{job_id}`` reads it (its
creator, or whoever its kind's read action allows in its scope; anyone else: 404).

``GET /don-vi/{tenant_id}/cong-viec/{job_id}`` answers the fragment alone: htmx polls it
(``hx-trigger="load delay:1s"``, swapping itself) until the job has finished. Without
JavaScript the fragment's link reloads the whole page, which shows the same fragment
(``?cong-viec={job_id}``).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.concurrency import sync_to_thread
from litestar.response import Template

from danvan.backend.auth.guards import allow
from danvan.backend.controllers.jobs import visible
from danvan.backend.errors import Problem
from danvan.backend.pages.session import signed_in
from danvan.backend.pages.views import HttpRequest, user_of
from danvan.backend.services import jobs
from danvan.backend.services.imports import ONE_TIME_PASSWORDS
from danvan.domain.policies import Action

FINISHED = frozenset({"succeeded", "failed"})
KINDS = {"import_units": "Nhập đơn vị", "import_users": "Nhập người dùng",
         "import_models": "Nhập mô hình các năm trước", "report": "Lập báo cáo"}
STATES = {"queued": "Đang chờ", "running": "Đang thực hiện", "succeeded": "Đã xong",
          "failed": "Không thành công"}
NO_STORE = {"Cache-Control": "no-store"}
"""An import's one-time passwords may be in it: never kept by a cache."""


def job_link(tenant_id: str, job_id: str) -> str:
    return f"/don-vi/{tenant_id}/cong-viec/{job_id}"


def page_link(tenant_id: str, job_id: str) -> str:
    return f"/don-vi/{tenant_id}?cong-viec={job_id}#cong-viec"


async def followed_job(request: HttpRequest, tenant_id: str, job_id: str) -> dict[str, Any]:
    """The tenant's job as the template shows it; a job of another scope, or one the user
    may not read, is not found."""
    row = await sync_to_thread(lambda: visible(request, job_id))
    if row.tenant_id != tenant_id or row.kind not in KINDS:
        raise Problem(404, "not_found")
    user = user_of(request)
    body = jobs.job_body(row, user.user_id if user else None)
    done, total = body["progress"]["done"], body["progress"]["total"]
    percent = 100 if body["state"] == "succeeded" else (
        min(100, round(100 * done / total)) if total else 0)
    result = body["result"] if isinstance(body["result"], dict) else {}
    return {**body, "result": result, "percent": percent,
            "finished": body["state"] in FINISHED, "kind_vi": KINDS[row.kind],
            "state_vi": STATES.get(body["state"], body["state"]),
            "poll": job_link(tenant_id, row.id), "reload": page_link(tenant_id, row.id),
            "one_time_passwords": result.get(ONE_TIME_PASSWORDS) or [],
            "errors": [e for e in body["errors"] or [] if isinstance(e, dict)]}


class TenantJob(Controller):
    path = "/don-vi/{tenant_id:str}/cong-viec"
    include_in_schema = False

    @get("/{job_id:str}", name="tenant_job", guards=[signed_in, allow(Action.TENANT_READ)])
    async def fragment(self, request: HttpRequest) -> Template:
        tenant_id = str(request.path_params["tenant_id"])
        job = await followed_job(request, tenant_id, str(request.path_params["job_id"]))
        return Template(template_name="job.html", context={"job": job, "tenant_id": tenant_id},
                        headers=NO_STORE)
