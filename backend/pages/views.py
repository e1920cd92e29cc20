"""What every page shares: the template engine, reading through the read API in process,
messages carried over a redirect, and the answer to a refusal as a page.

    data = await read(request, "query($id: ID!) { tenant(id: $id) { name } }", {"id": t})
    flash(request, "Đã thêm đơn vị.")           # shown once, on the next page
    return page(request, "tenant.html", tenant=data["tenant"])
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litestar import Request, Response
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from danvan.backend.auth.tokens import Principal
from danvan.backend.errors import MAX_BODY_BYTES, Problem, problem_body, to_problem
from danvan.backend.i18n import negotiate
from danvan.backend.pages.labels import register_filters
from danvan.backend.pages.session import NotSignedIn
from danvan.graphql.context import build_context
from danvan.graphql.errors import FORBIDDEN, NOT_FOUND, UNAVAILABLE
from danvan.graphql.read_position import read_at
from danvan.graphql.schema import unexpected

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
STATIC_PATH = "/tai-nguyen"
FLASH = "flash"
POSITION = "position"
"""The position of the last event a page's form appended: the next read waits (up to 2 s)
for the projector to have applied it, as ``Danvan-Min-Position`` does for GraphQL."""

HttpRequest = Request[Any, Any, Any]


def template_config() -> TemplateConfig[Any]:
    from litestar.plugins.jinja import JinjaTemplateEngine

    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine,
                          engine_callback=lambda engine: register_filters(engine.engine))


def user_of(request: HttpRequest) -> Principal | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None


KEPT_CHARS = 200
"""The most of a refused form's value the session keeps to fill the form in again (the
cookie holds the session: it stays small)."""


def flash(request: HttpRequest, message: str, *, error: bool = False, form: str | None = None,
          fields: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None
          ) -> None:
    """The message the next page shows once; a refused ``form``'s messages per field are
    shown next to its fields (``field_error`` in the templates), and what was typed in its
    text fields filled in again (never a password)."""
    request.session[FLASH] = {"message": message, "error": error, "form": form,
                              "fields": dict(fields or {}),
                              "values": {k: v[:KEPT_CHARS] for k, v in (values or {}).items()
                                         if isinstance(v, str) and "password" not in k}}


def page(request: HttpRequest, template: str, *, status: int = 200, **context: Any
         ) -> Template:
    """A page; the layout gets the user, the session's name and the message to show once."""
    message = request.session.pop(FLASH, None) if request.session else None
    return Template(template_name=template, status_code=status,
                    context={"user": user_of(request), "flash": message,
                             "display_name": (request.session or {}).get("name", ""),
                             "static": STATIC_PATH, **context})


class ReadRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def read(request: HttpRequest, query: str, variables: Mapping[str, Any] | None = None
               ) -> dict[str, Any]:
    """Run one query of the read API as the signed-in user (the same resolvers, access
    rules and limits as ``POST /graphql``); a refusal is a 403/404 page."""
    reading = request.app.state.get("read_api")
    if reading is None:
        raise Problem(503, "store_unavailable")
    context = build_context(reading.sources, user_of(request) or _nobody())
    wanted = request.session.pop(POSITION, None) if request.session else None
    if isinstance(wanted, int):
        await read_at(reading.sources.freshness, context.reader, wanted)
    result = await reading.schema.execute(query, variable_values=dict(variables or {}),
                                          context_value=context)
    if result.errors:
        if any(unexpected(e) for e in result.errors):  # logged by the schema
            raise Problem(500, "internal_error")
        codes = {(e.extensions or {}).get("code") for e in result.errors}
        if FORBIDDEN in codes:
            raise Problem(403, "forbidden")
        if NOT_FOUND in codes:
            raise Problem(404, "not_found")
        if UNAVAILABLE in codes:
            raise Problem(503, "store_unavailable", headers={"Retry-After": "5"})
        raise Problem(422, "invalid_input",
                      errors=[(".".join(map(str, e.path or ())) or "query", e.message)
                              for e in result.errors])
    return dict(result.data or {})


def _nobody() -> Principal:
    return Principal(user_id="anonymous", username="", grants=())


def field_messages(request: HttpRequest, exc: Exception) -> dict[str, str]:
    """The refusal's messages by the field they name (Vietnamese unless asked otherwise)."""
    body = problem_body(negotiate(request.headers.get("accept-language")), to_problem(exc))
    found: dict[str, str] = {}
    for entry in body.get("errors") or []:
        field = str(entry.get("field") or "")
        found[field] = "; ".join(m for m in (found.get(field), str(entry["message"])) if m)
    return found


def problem_message(request: HttpRequest, exc: Exception) -> str:
    """The refusal's message as the API words it (Vietnamese unless the browser asks
    for English), with the fields it names."""
    problem = to_problem(exc)
    body = problem_body(negotiate(request.headers.get("accept-language")), problem)
    detail = str(body.get("detail") or "")
    fields = [f"{e['field']}: {e['message']}" for e in body.get("errors") or []]
    return " — ".join([detail, *fields]) if fields else detail


def home(tenant_id: str) -> str:
    """The tenant's page, where its forms come back to."""
    return f"/don-vi/{tenant_id}"


def back_to(request: HttpRequest, path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


def error_page(request: HttpRequest, exc: Exception) -> Response[Any]:
    """Every refusal on a page: signed out goes to sign-in; the rest is a page with the
    status the API would answer."""
    if isinstance(exc, NotSignedIn):
        return Redirect(path=(exc.headers or {}).get("Location", "/"), status_code=303)
    if isinstance(exc, RequestEntityTooLarge):  # parsed by the CSRF check: the route's limit
        limit = request.route_handler.resolve_request_max_body_size()
        exc = Problem(413, "payload_too_large", limit=limit or MAX_BODY_BYTES)
    problem = to_problem(exc)
    if problem.status >= 500:
        import logging

        logging.getLogger(__name__).error("page_failed", exc_info=exc)
    return page(request, "error.html", status=problem.status,
                message=problem_message(request, exc), code=problem.status)
