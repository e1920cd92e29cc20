"""Imports from the tenant's page: a units, users or models file (``multipart/form-data``)
starts the same job, through the same service and guard, as ``POST /api/v1/tenants/
{tenant_id}/imports?kind=…``; the page then follows the job (``pages/jobs.py``). The
templates to fill in are the API's (``GET /mau-nhap/{kind}.xlsx`` for a signed-in user, as
``GET /api/v1/import-templates/{kind}.xlsx`` for a bearer)."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect

from danvan.backend.auth.guards import allow
from danvan.backend.controllers.imports import MAX_BODY, template_file, uploaded
from danvan.backend.errors import Problem
from danvan.backend.http.context import build_context
from danvan.backend.observability.metrics import track_command
from danvan.backend.pages.forms import refused_back
from danvan.backend.pages.jobs import page_link
from danvan.backend.pages.session import signed_in
from danvan.backend.pages.views import HttpRequest, flash, home
from danvan.backend.services import imports
from danvan.domain.base import InvalidInput
from danvan.domain.policies import Action

IMPORT_FORM = "nhap-du-lieu"
KIND_NAMES = {"units": "đơn vị", "users": "người dùng", "models": "mô hình các năm trước"}


class TenantImport(Controller):
    path = "/don-vi/{tenant_id:str}/nhap"
    include_in_schema = False

    @post("/", guards=[signed_in, allow(Action.IMPORT_TENANT_DATA)],
          request_max_body_size=MAX_BODY)
    async def start(self, request: HttpRequest) -> Redirect:
        tenant_id = str(request.path_params["tenant_id"])
        back = home(tenant_id) + "#nhap-du-lieu"
        try:
            kind = imports.ImportKind(str((await request.form()).get("kind") or ""))
            if kind not in imports.TENANT_KINDS:
                raise ValueError(kind)
        except ValueError:
            return refused_back(request, back, InvalidInput(
                {"kind": "one of units, users, models"}), form=IMPORT_FORM)
        try:
            name, content = await uploaded(request)
            pool = request.app.state["services"].db_pool
            if pool is None:
                raise Problem(503, "store_unavailable")
            ctx = build_context(request)
            with track_command(f"import.{kind.value}"):
                job_id, first = await sync_to_thread(
                    lambda: imports.start_import(pool, ctx, kind, name=name, content=content))
        except Exception as refused:  # every refusal: back to the form, next to its field
            return refused_back(request, back, refused, form=IMPORT_FORM)
        flash(request, f"Đã nhận tệp {KIND_NAMES[kind.value]} “{name}”; đang nhập." if first
              else f"Tệp “{name}” đã được gửi trước đây: đây là lần nhập đó, không nhập lại.")
        return Redirect(path=page_link(tenant_id, job_id), status_code=303)


class ImportTemplates(Controller):
    path = "/mau-nhap"
    include_in_schema = False

    @get("/{name:str}", guards=[signed_in])
    async def template(self, request: HttpRequest) -> Response[bytes]:
        return await sync_to_thread(lambda: template_file(str(request.path_params["name"])))
