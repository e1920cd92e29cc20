"""The one map from failures to RFC 9457 problem details (``application/problem+json``).

Every error answer carries ``type, title, status, detail, code`` and, for bad input,
``errors: [{field, message}]``; titles, details and field messages are Vietnamese unless the
client sends ``Accept-Language: en``. Controllers and services never build error responses:
they raise a domain error (``InvalidInput``, ``IllegalTransition``, ``NotPermitted``, any
``DomainError`` with a code) or, for HTTP-level refusals, ``Problem``.

| raised | status | code |
|---|---|---|
| ``Problem(status, code, ...)`` | as given | as given |
| ``services.errors.NotFound`` | 404 | ``not_found`` |
| ``services.errors.Forbidden`` (``OtherUnit``) | 403 | ``forbidden`` (``other_unit``) |
| ``services.errors.AlreadyExists`` | 409 | ``already_exists`` |
| ``services.errors.StaleVersion`` | 412 | ``precondition_failed`` |
| ``services.errors.Unavailable`` | 503 | ``store_unavailable`` |
| ``services.errors.DecisionRefused`` | 409 | ``decision_refused``, an entry per model |
| ``NotPermitted`` | 403 | its code (``not_permitted``) |
| ``InvalidInput``, Litestar ``ValidationException`` | 422 | ``invalid_input`` |
| a body that is not JSON (``backend/http/body.py``) | 422 | ``malformed_body`` |
| a body whose ``Content-Type`` is not JSON | 415 | ``unsupported_media_type`` |
| ``IllegalTransition`` | 409 | its code |
| other ``DomainError`` | 422 | its code |
| ``AggregateNotFoundError`` | 404 | ``not_found`` |
| eventsourcing ``IntegrityError`` (version clash, duplicate create) | 409 | ``version_conflict`` |
| ``CommitOutcomeUnknown`` (the save may have been committed) | 503 | ``outcome_unknown`` |
| ``InvalidPosition`` (``Danvan-Min-Position`` not a position) | 400 | ``invalid_position`` |
| ``OperationalError`` (psycopg, eventsourcing), pool timeout, Redis | 503 | ``store_unavailable`` |
| body over the limit | 413 | ``payload_too_large`` |
| anything else | 500 | ``internal_error`` (logged with traceback) |
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, TypeVar

import msgspec
import psycopg
import psycopg_pool
import redis.exceptions
import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from msgspec import UNSET, Struct, UnsetType

from danvan.backend.dto import FORMAT_RULES
from danvan.backend.i18n import Lang, field_message, negotiate, problem_detail, problem_title
from danvan.backend.services import errors as refused
from danvan.domain.base import DomainError, IllegalTransition, InvalidInput, NotPermitted
from danvan.graphql.read_position import InvalidPosition
from danvan.infra.commit_outcome import CommitOutcomeUnknown

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:danvan:problem:"
MAX_BODY_BYTES = 1024 * 1024

log = structlog.get_logger("danvan.errors")

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One entry of a problem's ``errors``: the member it names and why, in English
    (translated on the way out), maybe the object it is about (``model_id``). An entry with a
    ``code`` is said as that code's catalogue detail, with ``params``."""

    field: str
    message: str
    model_id: str | None = None
    code: str | None = None
    params: Mapping[str, object] = dataclass_field(default_factory=dict)


class Problem(Exception):
    """An HTTP-level refusal: ``raise Problem(404, "not_found")``.

    ``params`` fill the catalogue's detail template (see ``i18n.PROBLEMS``); ``errors`` are
    ``(field, English message)`` pairs or ``Entry``s, translated on the way out; ``fallback``
    is the English detail used when the code has no catalogue entry.
    """

    def __init__(self, status: int, code: str, *,
                 errors: Iterable[tuple[str, str] | Entry] = (),
                 headers: Mapping[str, str] | None = None, fallback: str | None = None,
                 **params: object) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.errors = [e if isinstance(e, Entry) else Entry(*e) for e in errors]
        self.headers = dict(headers or {})
        self.fallback = fallback
        self.params = params


class FieldProblem(Struct):
    field: str
    """The member's dotted path in the body (``person.phone``, ``scores.creativity``), or a
    header's name."""
    message: str
    model_id: str | UnsetType = UNSET
    """The model an entry is about, in a decision covering several."""


class ProblemDetails(Struct, omit_defaults=True, forbid_unknown_fields=True):
    """The body of every error answer (RFC 9457), as ``problem_body`` builds it: the schema
    the OpenAPI document gives each error status."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    """Stable and machine-readable (``invalid_input``, ``forbidden``, ``illegal_transition``)."""
    errors: list[FieldProblem] | UnsetType = UNSET
    request_id: str | UnsetType = UNSET


def invalid(field: str, message: str) -> Problem:
    """A 422 naming one field, e.g. ``raise invalid("unit_id", "unknown id")``."""
    return Problem(422, "invalid_input", errors=[(field, message)])


def problem_body(lang: Lang, problem: Problem, request_id: str | None = None) -> dict[str, Any]:
    params = {"request_id": request_id or "-", **problem.params}
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + problem.code,
        "title": problem_title(problem.code, lang),
        "status": problem.status,
        "detail": problem_detail(problem.code, lang, problem.fallback, **params),
        "code": problem.code,
    }
    if problem.errors:
        body["errors"] = [_entry(lang, e) for e in problem.errors]
    if request_id:
        body["request_id"] = request_id
    return body


def _entry(lang: Lang, entry: Entry) -> dict[str, Any]:
    message = (problem_detail(entry.code, lang, entry.message, **entry.params)
               if entry.code else field_message(entry.message, lang))
    said: dict[str, Any] = {"field": entry.field, "message": message}
    if entry.model_id is not None:
        said["model_id"] = entry.model_id
    return said


def problem_response(request: Request[Any, Any, Any], problem: Problem) -> Response[Any]:
    lang = negotiate(request.headers.get("accept-language"))
    state = request.scope.get("state") or {}
    body = problem_body(lang, problem, state.get("request_id"))
    headers = {"Content-Language": lang, "Vary": "Accept-Language", **problem.headers}
    return Response(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


# --- translating what the framework and libraries raise ------------------------------------

_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED_FIELD = re.compile(r"(?:unknown|required) field `(?P<name>[^`]+)`")


def _quoting(problem: Problem, error: DomainError) -> Problem:
    """The values the domain quotes (action, state) fill the translated detail."""
    problem.params.update(error.params)
    return problem


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


_PATTERN_MESSAGES = {f"Expected `str` matching regex {pattern!r}": rule
                     for pattern, rule in FORMAT_RULES.items()}


def rule_of(message: str) -> str:
    """The decoder's message, with a pattern it quotes replaced by the rule it stands for."""
    return _PATTERN_MESSAGES.get(message, message)


def field_of(location: str, message: str) -> str:
    """The offending member's dotted path, from where the decoder stopped and its message."""
    location = location.lstrip(".")
    named = _NAMED_FIELD.search(message)
    if named:  # unknown or missing members are reported on their parent object
        return _join(location, named.group("name"))
    return location or "body"


def msgspec_errors(error: msgspec.ValidationError) -> list[tuple[str, str]]:
    text = str(error)
    match = _AT_PATH.search(text)
    path = match.group("path") if match else ""
    message = text[: match.start()] if match else text
    return [(field_of(path, message), rule_of(message))]


def decode_body(raw: bytes, type_: type[T]) -> T:
    """Decode and validate a JSON body into ``type_`` with the same 422 answers as Litestar.

    For handlers that must answer 403/404 before 422 (the contract's order), take
    ``request: Request`` and call this after the scope checks instead of declaring ``data``.
    """
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.ValidationError as exc:
        raise Problem(422, "invalid_input", errors=msgspec_errors(exc)) from exc
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise Problem(422, "malformed_body") from exc


def _validation_problem(exc: ValidationException) -> Problem:
    errors: list[tuple[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        key = str(item.get("key", ""))
        source = item.get("source")
        location = "" if key == "data" and source == "body" else key
        if key == "data" and message == "'data'":  # no body at all
            message = "required"
        errors.append((field_of(location, message), rule_of(message)))
    if not errors:
        errors.append(("body", str(exc.detail)))
    return Problem(422, "invalid_input", errors=errors)


_STATUS_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "version_conflict", 412: "precondition_failed",
                 413: "payload_too_large", 415: "unsupported_media_type",
                 422: "invalid_input", 429: "rate_limited",
                 503: "store_unavailable"}

UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError,
    psycopg_pool.PoolTimeout, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
)


SERVICE_STATUS: dict[type[refused.ServiceError], int] = {
    refused.NotFound: 404, refused.Forbidden: 403, refused.AlreadyExists: 409,
    refused.StaleVersion: 412, refused.Unavailable: 503, refused.DecisionRefused: 409,
}


def _service_problem(exc: refused.ServiceError) -> Problem:
    status = next((code for kind, code in SERVICE_STATUS.items() if isinstance(exc, kind)), 422)
    headers = {"Retry-After": "5"} if status == 503 else {}
    entries = [_refusal_entry(model_id, why) for model_id, why in exc.refusals] \
        if isinstance(exc, refused.DecisionRefused) else []
    problem = Problem(status, exc.code, fallback=exc.message, headers=headers, errors=entries)
    problem.params.update(exc.params)
    return problem


def _refusal_entry(model_id: str, why: DomainError) -> Entry:
    """Why one model of a decision may not take it, said as the refusal itself would be."""
    if isinstance(why, InvalidInput):
        return Entry("model_ids", next(iter(why.errors.values())), model_id)
    return Entry("model_ids", why.message, model_id, code=why.code, params=why.params)


def to_problem(exc: BaseException) -> Problem:
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, refused.ServiceError):
        return _service_problem(exc)
    if isinstance(exc, InvalidInput):
        return Problem(422, "invalid_input", errors=list(exc.errors.items()))
    if isinstance(exc, NotPermitted):
        return Problem(403, exc.code, fallback=exc.message)
    if isinstance(exc, IllegalTransition):
        errors = [(exc.member, exc.message)] if exc.member else []
        return _quoting(Problem(409, exc.code, fallback=exc.message, errors=errors), exc)
    if isinstance(exc, DomainError):
        errors = [(exc.member, exc.message)] if exc.member else []
        return _quoting(Problem(422, exc.code, fallback=exc.message, errors=errors), exc)
    if isinstance(exc, AggregateNotFoundError):
        return Problem(404, "not_found")
    if isinstance(exc, IntegrityError):
        return Problem(409, "version_conflict")
    if isinstance(exc, CommitOutcomeUnknown):
        return Problem(503, "outcome_unknown", headers={"Retry-After": "5"})
    if isinstance(exc, InvalidPosition):
        return Problem(400, "invalid_position", header=InvalidPosition.header,
                       errors=[(InvalidPosition.header, "must be a non-negative integer")])
    if isinstance(exc, UNAVAILABLE):
        return Problem(503, "store_unavailable", headers={"Retry-After": "5"})
    if isinstance(exc, ValidationException):
        return _validation_problem(exc)
    if isinstance(exc, RequestEntityTooLarge):
        return Problem(413, "payload_too_large", limit=MAX_BODY_BYTES)
    if isinstance(exc, TooManyRequestsException):
        return Problem(429, "rate_limited", headers=exc.headers or {}, retry_after="60")
    if isinstance(exc, NotAuthorizedException):
        return Problem(401, "unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, PermissionDeniedException):
        return Problem(403, "forbidden")
    if isinstance(exc, NotFoundException):
        return Problem(404, "not_found")
    if isinstance(exc, MethodNotAllowedException):
        return Problem(405, "method_not_allowed", headers=exc.headers or {})
    if isinstance(exc, HTTPException):
        if exc.status_code == 400 and str(exc.detail).startswith("JSON is malformed"):
            return Problem(422, "malformed_body")
        if exc.status_code >= 500:
            return Problem(500, "internal_error")
        code = _STATUS_CODES.get(exc.status_code, "bad_request")
        return Problem(exc.status_code, code, headers=exc.headers or {}, fallback=str(exc.detail))
    return Problem(500, "internal_error")


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler for everything: the single error exit of the API."""
    problem = to_problem(exc)
    if problem.status == 503:
        log.warning("store_unavailable", error_type=type(exc).__name__, error=str(exc)[:500],
                    path=request.url.path)
    elif problem.status >= 500:
        log.error("unhandled_exception", exc_info=exc, path=request.url.path)
    return problem_response(request, problem)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {Exception: handle_exception}
