"""Imports over HTTP (API.md "Imports"): a file (``multipart/form-data``, one ``file``: XLSX,
or CSV in UTF-8) for a tenant's units, users or models of earlier years, or a province's
communes and wards (a file of codes, or JSON ``{"all": true}`` / ``{"codes": [...]}``), and the
templates to fill in.

``202 {job_id}`` and ``Location`` for a new import; the same file sent again to the same scope
answers ``200`` with the first job's id and ``Location``. The file is only recorded here; the
job reads and validates it (``services/imports.py``). Refused at once: a body over
``MAX_FILE_BYTES`` (413), a body that is neither multipart nor (for tenants) JSON (415), no
``file``, an empty one, or one that is neither a ZIP nor UTF-8 text without NUL (422).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, ValidationException
from litestar.exceptions.http_exceptions import ClientException, RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, RequestBody, Schema
from litestar.params import FromPath, FromQuery

from danvan.backend.auth.guards import allow, authenticated
from danvan.backend.controllers.deps import Ctx, HttpRequest
from danvan.backend.controllers.jobs import API_JOBS, started
from danvan.backend.dto import FILLED_TEXT_PATTERN, CatalogueImport
from danvan.backend.errors import Problem
from danvan.backend.http.body import CANONICAL_ENCODER, as_struct, is_json, parse_json
from danvan.backend.http.openapi import ProblemOperation
from danvan.backend.observability.metrics import track_command
from danvan.backend.services import imports
from danvan.backend.services.import_tables import (
    MAX_FILE_BYTES,
    XLSX_MEDIA_TYPE,
    is_xlsx,
    template,
)
from danvan.domain.limits import MAX_TENANT_CODE
from danvan.domain.policies import Action

MAX_BODY = MAX_FILE_BYTES + 64 * 1024
"""The file and the multipart framing around it."""
MULTIPART = "multipart/form-data"
CATALOGUE_FILE = "catalogue.json"

class UnsupportedMediaType(ClientException):
    """Documents the 415 of a body that is not what the route reads."""

    status_code = 415


SAME_FILE = {200: ResponseSpec(
    data_container=dict[str, Any], generate_examples=False,
    description="The same file was sent to this scope before: the first job's id (and "
                "Location); nothing is applied again.")}

_FILE_PART = Schema(type=OpenAPIType.OBJECT, required=["file"], properties={
    "file": Schema(type=OpenAPIType.STRING, format="binary",  # type: ignore[arg-type]
                   description="XLSX, or CSV in UTF-8 (with or without BOM)")})
_CATALOGUE_JSON = Schema(type=OpenAPIType.OBJECT, properties={
    "all": Schema(type=OpenAPIType.BOOLEAN),
    "codes": Schema(type=OpenAPIType.ARRAY, max_items=5_000,
                    items=Schema(type=OpenAPIType.STRING, min_length=1,
                                 max_length=MAX_TENANT_CODE, pattern=FILLED_TEXT_PATTERN))},
    additional_properties=False)


@dataclass
class FileUploadOperation(ProblemOperation):
    """Documents the body this route reads itself: one file, as multipart."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = RequestBody(required=True, content={
            MULTIPART: OpenAPIMediaType(schema=_FILE_PART)})


@dataclass
class CatalogueUploadOperation(ProblemOperation):
    """A file of codes as multipart, or the catalogue's codes as JSON."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = RequestBody(required=True, content={
            MULTIPART: OpenAPIMediaType(schema=_FILE_PART),
            "application/json": OpenAPIMediaType(schema=_CATALOGUE_JSON)})


async def uploaded(request: HttpRequest) -> tuple[str, bytes]:
    """The ``file`` part: its name and content (refusals: see the module docstring)."""
    media_type, _ = request.content_type
    if media_type.strip().lower() != MULTIPART:
        raise Problem(415, "unsupported_media_type")
    try:
        form = await request.form()
    except RequestEntityTooLarge as exc:
        raise Problem(413, "payload_too_large", limit=MAX_BODY) from exc
    except ValidationException as exc:
        raise Problem(422, "malformed_body") from exc
    part = form.get("file")
    try:
        if isinstance(part, UploadFile):
            name, content = file_name(part.filename), await part.read()
        elif isinstance(part, str):
            name, content = "upload.csv", part.encode("utf-8", "surrogatepass")
        else:
            raise Problem(422, "invalid_input", errors=[("file", "required")])
    finally:
        for value in form.values():
            if isinstance(value, UploadFile):
                await value.close()
    if not content:
        raise Problem(422, "invalid_input", errors=[("file", "must not be empty")])
    if not is_xlsx(content) and not _utf8_text(content):
        raise Problem(422, "invalid_input",
                      errors=[("file", "must be an XLSX workbook or a CSV file in UTF-8")])
    return name, content


def file_name(sent: str | None) -> str:
    """The name the client gave its file, as kept beside it: printable, at most 200
    characters (no NUL, no control character, no lone surrogate)."""
    kept = "".join(c for c in (sent or "") if c.isprintable() and not "\ud800" <= c <= "\udfff")
    return kept.strip()[:200] or "upload"


def _utf8_text(content: bytes) -> bool:
    try:
        return "\x00" not in content.decode("utf-8")
    except UnicodeDecodeError:
        return False


async def catalogue_body(request: HttpRequest) -> bytes:
    """The JSON body's canonical form, once it is a valid ``CatalogueImport``."""
    try:
        raw = await request.body()
    except RequestEntityTooLarge as exc:
        raise Problem(413, "payload_too_large", limit=MAX_BODY) from exc
    body = as_struct(parse_json(raw), CatalogueImport)
    assert isinstance(body, CatalogueImport)
    if body.all == bool(body.codes):
        raise Problem(422, "invalid_input",
                      errors=[("all", "give either all: true or a non-empty list of codes")])
    return CANONICAL_ENCODER.encode({"all": True} if body.all else {"codes": body.codes})


async def start(request: HttpRequest, ctx: Any, kind: imports.ImportKind, name: str,
                content: bytes, *, from_catalogue: bool = False) -> Response[dict[str, Any]]:
    pool = request.app.state["services"].db_pool
    if pool is None:
        raise Problem(503, "store_unavailable")
    with track_command(f"import.{kind.value}"):
        job_id, first = await sync_to_thread(
            lambda: imports.start_import(pool, ctx, kind, name=name, content=content,
                                         from_catalogue=from_catalogue))
    if first:
        return started(job_id)
    return Response({"job_id": job_id}, status_code=200,
                    headers={"Location": f"{API_JOBS}/{job_id}"})


class TenantImportController(Controller):
    path = "/tenants/{tenant_id:str}"
    tags = ["imports"]

    @post("/imports", operation_id="startTenantImport",
          guards=[allow(Action.IMPORT_TENANT_DATA)], status_code=202,
          request_max_body_size=MAX_BODY, operation_class=FileUploadOperation,
          raises=[RequestEntityTooLarge, UnsupportedMediaType], responses=SAME_FILE,
          summary="Import units, users or models of earlier years from a file, all rows or "
                  "none, as a job")
    async def start_import(self, request: HttpRequest, ctx: Ctx,
                           kind: FromQuery[Literal["units", "users", "models"]]
                           ) -> Response[dict[str, Any]]:
        name, content = await uploaded(request)
        return await start(request, ctx, imports.ImportKind(kind), name, content)


class ProvinceImportController(Controller):
    path = "/provinces/{code:str}"
    tags = ["imports"]

    @post("/imports", operation_id="startProvinceImport", guards=[allow(Action.IMPORT_TENANTS)],
          status_code=202, request_max_body_size=MAX_BODY,
          operation_class=CatalogueUploadOperation,
          raises=[RequestEntityTooLarge, UnsupportedMediaType], responses=SAME_FILE,
          summary="Onboard the province's communes and wards from the catalogue, all or none, "
                  "as a job")
    async def start_import(self, request: HttpRequest, ctx: Ctx, code: FromPath[str],
                           kind: FromQuery[Literal["tenants"]]) -> Response[dict[str, Any]]:
        media_type, options = request.content_type
        if is_json(media_type, options):
            content = await catalogue_body(request)
            return await start(request, ctx, imports.ImportKind.TENANTS, CATALOGUE_FILE,
                               content, from_catalogue=True)
        name, content = await uploaded(request)
        return await start(request, ctx, imports.ImportKind.TENANTS, name, content)


TEMPLATE_NAMES = {f"{kind.value}.xlsx": kind for kind in imports.ImportKind}


class ImportTemplateController(Controller):
    path = "/import-templates"
    tags = ["imports"]

    @get("/{name:str}", operation_id="getImportTemplate", guards=[authenticated()],
         media_type=XLSX_MEDIA_TYPE, sync_to_thread=True, raises=[NotFoundException],
         summary="The XLSX template of an import (units.xlsx, users.xlsx, models.xlsx, "
                 "tenants.xlsx), with Vietnamese headers")
    def template(self, name: FromPath[str]) -> Response[bytes]:
        return template_file(name)


def template_file(name: str) -> Response[bytes]:
    """``units.xlsx`` (…) as a download; 404 for any other name. The API's route and the
    tenant's page both answer it."""
    kind = TEMPLATE_NAMES.get(name)
    if kind is None:
        raise Problem(404, "not_found")
    content = template(imports.COLUMNS[kind], imports.TEMPLATE_TITLES[kind])
    return Response(content, media_type=XLSX_MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="mau-nhap-{kind.value}.xlsx"'})
