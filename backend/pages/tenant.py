"""``/don-vi/{tenant_id}``: the tenant's home for its admin and reviewers: units (add),
users (listed, searched and paged for those who may read them; create; reset a password,
deactivate, per row or by username: ``pages/people.py``), imports with their
progress (``pages/imports.py``, ``pages/jobs.py``), reports (``pages/reports.py``), the
review queue (accept, return with a reason, reject) and the year's quota. Read through the
read API (the reports' list and a job as their REST routes read them); every form goes to the
same service, with the same guard, as its REST command (``POST /api/v1/tenants/{tenant_id}/
units``, ``…/users``, ``…/models/{model_id}/accept|return|reject``)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from danvan.backend.auth.guards import allow
from danvan.backend.auth.passwords import hash_password
from danvan.backend.controllers.deps import store_of
from danvan.backend.controllers.models import acting, allow_command
from danvan.backend.controllers.tenants import new_user
from danvan.backend.dto import Reason, UnitCreate, UserCreate, rejecting, returning
from danvan.backend.errors import Problem
from danvan.backend.http.context import build_context
from danvan.backend.pages.forms import as_body, form_fields, submit
from danvan.backend.pages.jobs import followed_job
from danvan.backend.pages.labels import ROLES, UNIT_KINDS
from danvan.backend.pages.province import QUOTA_ROW, year_of
from danvan.backend.pages.reports import FORMATS, PERIODS, REPORT_KINDS, tenant_reports
from danvan.backend.pages.session import signed_in
from danvan.backend.pages.views import HttpRequest, home, page, read, user_of
from danvan.backend.services import models, people, tenancy
from danvan.backend.services.errors import NotFound
from danvan.domain.commands import AcceptModel, ModelCommand, RejectModel, ReturnModel
from danvan.domain.limits import MAX_NAME, MAX_TEXT
from danvan.domain.model import Model
from danvan.domain.policies import TENANT_ROLES, Action

TENANT_HOME = """
query TenantHome($id: ID!, $year: Int!) {
  tenant(id: $id) {
    id code name kind provinceCode
    units(includeClosed: false) { id name kind reportsToVerticalLine addedAt }
    quota(year: $year) { ...QuotaRow perUnitMinimum maintainedModels submittedModels }
    queue: models(state: SUBMITTED, first: 100) {
      totalCount
      edges { node { id name version year field kind submittedAt unit { name }
                     form { problem goals } } }
    }
  }
}""" + QUOTA_ROW


TENANT_USERS = """
query TenantUsers($id: ID!, $search: String, $after: String, $first: Int!) {
  tenant(id: $id) {
    users(search: $search, after: $after, first: $first) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id tenantId username fullName active mustChangePassword deactivatedAt
                     roles { role } unit { name } } }
    }
  }
}"""
USERS_PER_PAGE = 50
SEARCH = "tim"
"""The query parameters of the users' list: what is searched, and the page after a cursor."""
AFTER = "sau"


async def tenant_users(request: HttpRequest, tenant_id: str) -> dict[str, Any]:
    """One page of the tenant's accounts through the read API, as ``?tim=`` and ``?sau=``
    ask (a search longer than a name is cut to one; a cursor not handed out is a 422)."""
    search = (request.query_params.get(SEARCH) or "").strip()[:MAX_NAME]
    after = (request.query_params.get(AFTER) or "").strip()[:MAX_TEXT]
    found = await read(request, TENANT_USERS, {"id": tenant_id, "search": search or None,
                                               "after": after or None,
                                               "first": USERS_PER_PAGE})
    return {"page": found["tenant"]["users"], "search": search, "after": after}


def may_here(request: HttpRequest, tenant: dict[str, Any], *actions: str) -> dict[str, bool]:
    user = user_of(request)
    return {action: bool(user and user.grants_for(action, tenant_id=tenant["id"],
                                                   province_code=tenant["provinceCode"]))
            for action in actions}


IMPORT_KINDS = {"units": "Đơn vị trực thuộc", "users": "Người dùng",
                "models": "Mô hình các năm trước"}


async def job_asked(request: HttpRequest, tenant_id: str) -> dict[str, Any] | None:
    """The job ``?cong-viec=`` names, when it is this tenant's and the user may read it."""
    job_id = (request.query_params.get("cong-viec") or "").strip()[:64]
    if not job_id:
        return None
    try:
        return await followed_job(request, tenant_id, job_id)
    except (NotFound, Problem):
        return None


class TenantHome(Controller):
    path = "/don-vi/{tenant_id:str}"
    include_in_schema = False

    @get("/", name="tenant_home", guards=[signed_in, allow(Action.TENANT_READ)])
    async def home_page(self, request: HttpRequest) -> Template:
        tenant_id = str(request.path_params["tenant_id"])
        year = year_of(request)
        tenant = (await read(request, TENANT_HOME, {"id": tenant_id, "year": year}))["tenant"]
        if tenant is None:
            return page(request, "error.html", status=404, code=404,
                        message="Không có đơn vị này.")
        may = may_here(request, tenant, Action.UNIT_ADD, Action.USER_CREATE,
                       Action.USER_PASSWORD_RESET, Action.USER_DEACTIVATE, Action.USER_READ,
                       Action.INSPECTOR_CREATE,
                       Action.MODEL_ACCEPT, Action.MODEL_RETURN, Action.MODEL_REJECT,
                       Action.IMPORT_TENANT_DATA, Action.REPORT)
        return page(request, "tenant.html", tenant=tenant, tenant_id=tenant_id, year=year,
                    may=may,
                    unit_kinds=UNIT_KINDS,
                    roles={r: ROLES.get(r, r) for r in sorted(TENANT_ROLES)},
                    job=await job_asked(request, tenant_id),
                    users=await tenant_users(request, tenant_id)
                    if may[Action.USER_READ] else None,
                    reports=await tenant_reports(request, tenant_id)
                    if may[Action.REPORT] else [],
                    report_kinds=REPORT_KINDS, periods=PERIODS, formats=FORMATS,
                    import_kinds=IMPORT_KINDS)

    @post("/don-vi", guards=[signed_in, allow(Action.UNIT_ADD)])
    async def add_unit(self, request: HttpRequest) -> Redirect:
        tenant_id = str(request.path_params["tenant_id"])
        body = as_body(await form_fields(request), UnitCreate)
        ctx = build_context(request)
        return await submit(request, home(tenant_id), "unit.add",
                            f"Đã thêm đơn vị “{body.name}”.",
                            lambda: tenancy.add_unit(store_of(request), ctx, body.command()))

    @post("/nguoi-dung", guards=[signed_in, allow(Action.USER_CREATE)])
    async def create_user(self, request: HttpRequest) -> Redirect:
        tenant_id = str(request.path_params["tenant_id"])
        body = as_body(await form_fields(request), UserCreate)
        ctx = build_context(request)
        return await submit(request, home(tenant_id), "user.create",
                            f"Đã tạo tài khoản “{body.username}”.",
                            lambda: people.create_tenant_user(
                                store_of(request), ctx, tenant_id, new_user(body),
                                hash_password))

    @post("/mo-hinh/{model_id:str}/tiep-nhan",
          guards=[signed_in, *allow_command(AcceptModel)])
    async def accept(self, request: HttpRequest) -> Redirect:
        return await self._act(request, AcceptModel(), "accept", "Đã tiếp nhận mô hình.")

    @post("/mo-hinh/{model_id:str}/tra-lai", guards=[signed_in, *allow_command(ReturnModel)])
    async def return_model(self, request: HttpRequest) -> Redirect:
        reason = as_body(_reason(await form_fields(request)), Reason)
        return await self._act(request, returning(reason), "return",
                               "Đã trả lại mô hình để bổ sung.")

    @post("/mo-hinh/{model_id:str}/tu-choi", guards=[signed_in, *allow_command(RejectModel)])
    async def reject(self, request: HttpRequest) -> Redirect:
        reason = as_body(_reason(await form_fields(request)), Reason)
        return await self._act(request, rejecting(reason), "reject", "Đã từ chối mô hình.")

    async def _act(self, request: HttpRequest, command: ModelCommand, route: str,
                   done: str) -> Redirect:
        tenant_id = str(request.path_params["tenant_id"])
        model: Model = request.state["model"]
        fields = await form_fields(request)
        version = str(fields.get("version") or "")
        expected = int(version) if version.isdigit() and len(version) < 10 else None
        ctx = acting(request, build_context(request), command)
        return await submit(request, home(tenant_id), f"model.{route}", done,
                            lambda: models.act_on_model(store_of(request), ctx, model,
                                                        command, expected))


def _reason(fields: dict[str, Any]) -> dict[str, Any]:
    return {"reason": fields.get("reason", "")}

