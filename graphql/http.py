"""``POST /graphql`` on Litestar: JSON in, JSON out, the bearer token's caller in the context.

    route_handlers=[*graphql_handlers(sources, production=settings.is_production)]

A lean handler rather than Strawberry's generic view: it reads the body once with msgspec,
resolves persisted queries, builds the per-request context and runs the schema (queries only;
no batching, no GET queries). In development ``GET /graphql`` serves GraphiQL (the page
itself needs no token; its requests carry one); production serves neither GraphiQL nor
introspection. The authentication middleware has already answered 401 without a valid token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import strawberry
from graphql import GraphQLError
from litestar import Request, Response, get, post
from litestar.types import ControllerRouterHandler
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from danvan.graphql.body import read_body
from danvan.graphql.context import ReadContext, build_context
from danvan.graphql.errors import BAD_USER_INPUT, INTERNAL
from danvan.graphql.freshness import scope_mark
from danvan.graphql.persisted import UnknownPersistedQuery, query_text
from danvan.graphql.read_position import HEADER as MIN_POSITION_HEADER
from danvan.graphql.read_position import ReadAt, min_position, read_at
from danvan.graphql.replica import Route, route
from danvan.graphql.responses import cacheable, scope_provinces
from danvan.graphql.schema import build_schema, unexpected
from danvan.graphql.sources import ReadSources

PATH = "/graphql"
JSON = "application/json"
QUERIES_ONLY = frozenset({OperationType.QUERY})
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"

_encode = msgspec.json.Encoder().encode


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


def _reply(body: Mapping[str, Any], status: int = 200) -> Response[bytes]:
    return Response(_encode(body), status_code=status, media_type=JSON)


def client_error(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it (here and on the socket, ``ws.py``); failures are
    masked (the log has the details). The request's own errors (syntax, validation, a
    variable's value) carry ``BAD_USER_INPUT``."""
    if unexpected(error):
        return GraphQLError("internal error", error.nodes, path=error.path,
                            extensions={"code": INTERNAL})
    if error.path is None and "code" not in (error.extensions or {}):
        return GraphQLError(error.message, error.nodes, error.source, error.positions,
                            error.path, error.original_error,
                            {**(error.extensions or {}), "code": BAD_USER_INPUT})
    return error


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The error as the answer's JSON spells it (``client_error``)."""
    return dict(client_error(error).formatted)


def format_result(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(e) for e in result.errors]
    return body


def with_extensions(encoded: bytes, extensions: dict[str, Any]) -> bytes:
    """An encoded answer (a JSON object) with this request's ``extensions`` added: a cached
    answer is shared by requests that read at the same stamp, not from the same server."""
    return encoded[:-1] + b',"extensions":' + _encode(extensions) + b"}"


def _extensions(at: ReadAt, where: Route) -> dict[str, Any]:
    return {**at.extensions(), **where.extensions()}


def graphql_handlers(sources: ReadSources, *, production: bool, path: str = PATH,
                     public_opt: Mapping[str, Any] | None = None,
                     schema: strawberry.Schema | None = None
                     ) -> list[ControllerRouterHandler]:
    """The route handlers to mount; ``public_opt`` marks the GraphiQL page as needing no
    token (the app's ``EXCLUDE_FROM_AUTH`` option)."""
    schema = schema or build_schema(production=production)

    @post(path, status_code=200, include_in_schema=False)
    async def graphql_query(request: Request[Any, Any, Any]) -> Response[bytes]:
        wanted = min_position(request.headers.get(MIN_POSITION_HEADER))
        body = read_body(await request.body())
        where = await route(sources, wanted)
        chosen = where.sources
        context = build_context(chosen, request.user)
        context.raw_json = True  # the answer is encoded by _encode (msgspec)
        if isinstance(body, str):
            return await _refuse(context, where, body, BAD_USER_INPUT, 400)
        try:
            text = query_text(body)
        except UnknownPersistedQuery as exc:
            return await _refuse(context, where, f"no persisted query {exc.args[0]!r}",
                                 PERSISTED_QUERY_NOT_FOUND, 200)
        if text is None:
            return await _refuse(context, where, "no query in the request", BAD_USER_INPUT,
                                 400)
        at = await read_at(chosen.freshness, context.reader, wanted)
        extensions = _extensions(at, where)
        variables = body.get("variables")
        operation_name = body.get("operationName")
        key = None if at.stale else chosen.responses.key(
            text, operation_name, variables, context.access.grants_held)
        mark = scope_mark(at.stamp, chosen.freshness.changes(),
                          scope_provinces(context.access.grants_held))
        if key is not None:
            kept = chosen.responses.get(key, mark)
            if kept is not None:
                return Response(with_extensions(kept, extensions), media_type=JSON)
        try:
            result = await schema.execute(
                text, variable_values=variables, context_value=context,
                operation_name=operation_name, allowed_operation_types=QUERIES_ONLY)
        except InvalidOperationTypeError:
            return _reply({"errors": [_error(
                "only queries are served here; commands go to the REST API under /api/v1",
                BAD_USER_INPUT)], "extensions": extensions}, 400)
        except CannotGetOperationTypeError:
            return _reply({"errors": [_error(
                "name the operation to run (operationName) among those in the document",
                BAD_USER_INPUT)], "extensions": extensions}, 400)
        answer = _encode(format_result(result))
        if key is not None and not result.errors and cacheable(context.plan):
            chosen.responses.put(key, mark, answer)
        return Response(with_extensions(answer, extensions), media_type=JSON)

    async def _refuse(context: ReadContext, where: Route, message: str, code: str,
                      status: int) -> Response[bytes]:
        at = await read_at(context.sources.freshness, context.reader, None)
        return _reply({"errors": [_error(message, code)],
                       "extensions": _extensions(at, where)}, status)

    handlers: list[ControllerRouterHandler] = [graphql_query]
    if not production:
        page = get_graphql_ide_html(graphql_ide="graphiql")

        @get(path, sync_to_thread=False, include_in_schema=False, opt=dict(public_opt or {}))
        def graphiql() -> Response[str]:
            return Response(page, media_type="text/html")

        handlers.append(graphiql)
    return handlers
