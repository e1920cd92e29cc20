"""What the OpenAPI document says a command route answers when it refuses: derived, in one place.

A generated client and a fuzzer read ``/schema/openapi.json`` as the contract, so each
operation lists the problem statuses it can really answer, each with the ``ProblemDetails``
schema (``application/problem+json``), and none it cannot. ``document_routes`` derives them
from what the route is made of, the same things that produce the answers:

| the route has | it may answer |
|---|---|
| no ``EXCLUDE_FROM_AUTH`` (a bearer token is needed) | 401 |
| ... and no ``PASSWORD_CHANGE_ROUTE`` (a one-time password's token is refused) | 403 |
| guards (``allow``: the role or scope; a resolver: the unit, the unknown id) | 403, 404 |
| ``{tenant_id}`` in its path (an unknown tenant, to a province role) | 404 |
| an ``int`` in its path (not a number: no route; out of range) | 404, 422 |
| a JSON body (``data``) | 413, 415, 422 |
| ``If-Match`` (``if_match``) | 400 (garbled), 412 |
| an unsafe method, authenticated (``Idempotency-Key``; a concurrent save) | 400, 409, 422 |
| ``raises=[...]`` on the handler (login: 401, 429) | their statuses |
| the event store behind it (every API route) | 503 |

Litestar adds a generic ``400 ValidationException`` to every operation with parameters; our
validation errors are 422 problems, so ``ProblemOperation`` drops every error response that is
not a problem. A public route (``EXCLUDE_FROM_AUTH``: login, health) is documented as
needing no token (``security: [{}]``) against the document's default bearer token. Decimals
bounded by ``domain/limits.py`` are documented by ``BoundedDecimalSchema``: a JSON number
within range and places, or a decimal string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from danvan.backend.auth.guards import PROBLEM_STATUSES, TENANT_PARAM
from danvan.backend.auth.middleware import EXCLUDE_FROM_AUTH, PASSWORD_CHANGE_ROUTE
from danvan.backend.dto import is_bounded_decimal
from danvan.backend.errors import MAX_BODY_BYTES, PROBLEM_JSON, ProblemDetails
from danvan.backend.http.idempotency import UNSAFE_METHODS

DESCRIPTIONS: dict[int, str] = {
    400: "A header is garbled (If-Match, Idempotency-Key): code invalid_header.",
    401: "No valid bearer token (unauthenticated, token_expired), or wrong credentials.",
    403: "The caller's role, tenant or unit may not do this here (forbidden, other_unit, "
         "not_permitted), or the caller holds a one-time password and must change it first "
         "(password_change_required).",
    404: "An id in the path names nothing the caller may see (not_found).",
    409: "A concurrent change, an existing resource or an illegal state transition "
         "(version_conflict, already_exists, illegal_transition, ...), or the same "
         "Idempotency-Key still in progress.",
    412: "If-Match names another version than the current one (precondition_failed).",
    413: f"The body is over {MAX_BODY_BYTES} bytes (payload_too_large).",
    415: "The body is not sent as JSON (unsupported_media_type): nothing is done.",
    422: "The body is not JSON (malformed_body) or a value is refused (invalid_input, or the "
         "domain's code); errors[] names each field. Also an Idempotency-Key reused with "
         "another body.",
    429: "Too many attempts: retry after Retry-After seconds (rate_limited).",
    503: "The store does not answer: retry after Retry-After seconds (store_unavailable).",
}


def problem_statuses(route: HTTPRoute, handler: HTTPRouteHandler) -> set[int]:
    """The error statuses ``handler`` (at ``route``) can answer; see the module's table."""
    statuses = {503}
    public = is_public(handler)
    if not public:
        statuses.add(401)
        if not handler.opt.get(PASSWORD_CHANGE_ROUTE):
            statuses.add(403)
    for guard in handler.resolve_guards():
        statuses |= getattr(guard, PROBLEM_STATUSES, {403})
    params = route.path_parameters
    if TENANT_PARAM in params:
        statuses.add(404)
    if any(param.type is int for param in params.values()):
        statuses |= {404, 422}
    signature = handler.parsed_fn_signature.parameters
    if "data" in signature:
        statuses |= {413, 415, 422}
    if "if_match" in signature:
        statuses |= {400, 412}
    if not public and handler.http_methods & UNSAFE_METHODS:
        statuses |= {400, 409, 422}
    statuses |= {getattr(exc, "status_code", 500) for exc in handler.raises or ()}
    return statuses


def is_public(handler: HTTPRouteHandler) -> bool:
    return bool(handler.opt.get(EXCLUDE_FROM_AUTH))


def problem_response(status: int) -> ResponseSpec:
    return ResponseSpec(data_container=ProblemDetails, media_type=PROBLEM_JSON,
                        description=DESCRIPTIONS[status], generate_examples=False)


@dataclass
class ProblemOperation(Operation):
    """An operation whose error responses are problems only (see the module docstring)."""

    def __post_init__(self) -> None:
        responses: Any = self.responses or {}
        for status in [s for s, r in responses.items() if s[0] in "45" and not (
                isinstance(r, OpenAPIResponse) and r.content and PROBLEM_JSON in r.content)]:
            del responses[status]


def document_routes(app: Litestar, prefix: str) -> None:
    """Give every operation under ``prefix`` its problem responses, and every public one its
    empty security requirement. Run once the app is built (the document itself is generated
    on its first request)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if is_public(handler):
                handler.security = [{}]
            if not route.path.startswith(prefix):
                continue
            problems = {status: problem_response(status)
                        for status in sorted(problem_statuses(route, handler))}
            handler.responses = {**problems, **(handler.responses or {})}
            if not issubclass(handler.operation_class, ProblemOperation):
                handler.operation_class = ProblemOperation


class BoundedDecimalSchema(OpenAPISchemaPlugin):
    """A ``dto.BoundedDecimal``: a JSON number within its bound, or a decimal string."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return is_bounded_decimal(value)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any
                          ) -> Schema:
        bound = field_definition.annotation.bound
        step = 10.0 ** -bound.scale
        return Schema(
            one_of=[
                Schema(type=OpenAPIType.NUMBER, minimum=float(bound.minimum),
                       maximum=float(bound.maximum), multiple_of=step),
                Schema(type=OpenAPIType.STRING, pattern=bound.pattern,
                       max_length=bound.max_digits + 2),
            ],
            description=f"A decimal from {bound.minimum} to {bound.maximum} with at most "
                        f"{bound.scale} decimal places, as a JSON number or a string.")
