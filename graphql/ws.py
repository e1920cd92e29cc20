"""``/graphql`` over WebSocket, ``graphql-transport-ws`` protocol (Strawberry's handler): the
subscriptions of the read API. The HTTP side of ``/graphql`` stays ``graphql/http.py``.

Who subscribes: the signed-in user of the pages' session cookie (the browser sends it with
the handshake; SameSite=Lax keeps it from other sites' sockets), else a bearer token in the
``connection_init`` payload, ``{"Authorization": "Bearer <token>"}``; nobody: closed 4403.
A page of another origin cannot open the socket (Strawberry refuses cross-origin handshakes
with 403 unless ``allowed_origins`` names them; none is named).

As POST /graphql reads a body and answers, so the socket its messages: read with msgspec and
nested at most as deep (``decode_message``; deeper: closed 4400), a subscribe payload checked
as a body is (``body.operation_problem``: refused with ``BAD_USER_INPUT`` naming the member),
one subscription more than ``MAX_SUBSCRIPTIONS`` on a socket refused with
``LIMIT_EXCEEDED``,
errors formatted by ``http.client_error`` (failures masked as ``INTERNAL``), messages encoded
with msgspec (``encode_message``).

    route_handlers=[live_graphql(sources, schema, tokens=TokenReader(secret), middleware=[...])]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import msgspec
import strawberry
from graphql import GraphQLError
from litestar import WebSocket, websocket
from litestar.types import ControllerRouterHandler, Middleware
from strawberry.exceptions import ConnectionRejectionError
from strawberry.litestar import make_graphql_controller
from strawberry.schema.schema import StreamResult
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    SubscribeMessage,
)
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType
from strawberry.utils.aio import aclosing

from danvan.graphql.access import Access
from danvan.graphql.body import deeper_than, operation_problem
from danvan.graphql.context import ReadContext, build_context
from danvan.graphql.db import Reader
from danvan.graphql.errors import BadInput, limit_exceeded
from danvan.graphql.http import client_error
from danvan.graphql.limits import MAX_NESTING
from danvan.graphql.loaders import Loaders
from danvan.graphql.sources import ReadSources

PATH = "/graphql"
MAX_SUBSCRIPTIONS = 20
"""Operations in flight on one socket."""
MESSAGE_NESTING = MAX_NESTING + 1
"""How deep a message may nest: its subscribe payload, as deep as a POST body (``body.py``)."""
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class Unread:
    """A message that is not read (the socket is closed 4400, ``reason``)."""

    reason: str


TOO_DEEP = Unread(f"a message nested more than {MESSAGE_NESTING} levels deep")


def decode_message(text: str | bytes) -> object:
    """A message, or ``TOO_DEEP``: read with msgspec, as POST /graphql reads its body, and
    checked as deep (json.loads recurses, so a message nested a hundred thousand deep would
    fail the handler). A message that msgspec cannot read is read by json, that takes a lone
    surrogate's escape (the payload's check refuses it, naming the member) and refuses what is
    not JSON (``json.JSONDecodeError``: Strawberry closes 4400)."""
    try:
        message = _decode(text)
    except RecursionError:
        return TOO_DEEP
    except msgspec.DecodeError:
        try:
            message = json.loads(text)
        except RecursionError:
            return TOO_DEEP
    return TOO_DEEP if deeper_than(message, MESSAGE_NESTING) else message


def encode_message(message: object) -> str:
    """A message as JSON text, with msgspec, as POST /graphql answers: objects the database
    encoded (``msgspec.Raw``, ``encoded.py``) stand in it unparsed. A text with a lone
    surrogate (graphql-core's messages repeat the values they refuse), which msgspec cannot
    encode, is sent as a ``\\u`` escape instead: the message is never left unsent."""
    try:
        return _encode(message).decode()
    except UnicodeEncodeError:
        return json.dumps(message, separators=(",", ":"), default=_parsed)


def _parsed(value: object) -> object:
    if isinstance(value, msgspec.Raw):
        return msgspec.json.decode(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


class _Operations(BaseGraphQLTransportWSHandler[ReadContext, None]):
    """Strawberry's handler, with the messages read, checked and answered as above."""

    async def handle_message(self, message: Message) -> None:
        if isinstance(message, Unread):  # decode_message's
            await self.handle_invalid_message(message.reason)
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        fresh = self.connection_acknowledged and message.get("id") not in self.operations
        refusal = self._refusal(message) if fresh else None
        if refusal is None:
            await super().handle_subscribe(message)
            return
        await self.send_message({"id": message["id"], "type": "error",
                                 "payload": [refusal.formatted]})

    def _refusal(self, message: SubscribeMessage) -> GraphQLError | None:
        """Strawberry's own refusal of one subscription too many, with its code; then the
        payload checked as POST /graphql checks its body (body.py): a lone surrogate or a NUL
        in a variable is BAD_USER_INPUT naming it."""
        most = self.max_subscriptions_per_connection
        if most is not None and len(self.operations) >= most:
            return limit_exceeded(f"at most {most} subscriptions on one connection")
        problem = operation_problem(message.get("payload"))
        return BadInput(problem) if problem is not None else None

    async def _send_result_stream(self, operation: Operation[ReadContext, None],
                                  result_source: StreamResult) -> None:
        # each result's errors as POST /graphql formats them (http.client_error) before
        # Strawberry sends them, in a `next` or an `error` message
        async with aclosing(_as_sent(result_source)) as results:
            await super()._send_result_stream(operation, results)


async def _as_sent(results: StreamResult) -> StreamResult:
    async for result in results:
        if isinstance(result, ExecutionResult) and result.errors:
            result = replace(result, errors=[client_error(e) for e in result.errors])
        yield result


class _Nobody:
    user_id = "anonymous"
    grants: tuple[Any, ...] = ()


def _signed_in(context: ReadContext, caller: Any) -> None:
    """Make ``context`` read as ``caller``."""
    context.access = Access(caller)
    context.reader = Reader(context.sources.pool, tenant_ids=context.access.tenant_ids(),
                            province_codes=context.access.province_codes())
    context.loaders = Loaders(context.reader, context.sources)


def live_graphql(sources: ReadSources, schema: strawberry.Schema, *, tokens: Any,
                 opt: dict[str, Any], middleware: Sequence[Middleware] = ()
                 ) -> ControllerRouterHandler:
    base = make_graphql_controller(
        schema, path=PATH, graphql_ide=None, allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout=timedelta(seconds=10), keep_alive=True,
        keep_alive_interval=30, max_subscriptions_per_connection=MAX_SUBSCRIPTIONS)

    class LiveGraphQL(base):  # type: ignore[valid-type,misc]
        include_in_schema = False
        handle_http_get = None  # queries go to graphql/http.py
        handle_http_post = None
        graphql_transport_ws_handler_class = _Operations

        @websocket(opt=opt, middleware=list(middleware))
        async def websocket_endpoint(self, socket: WebSocket[Any, Any, Any]) -> None:
            caller = socket.scope.get("user")
            context = build_context(sources, caller if caller is not None else _Nobody())
            context.raw_json = True  # messages are encoded by encode_json (msgspec)
            await self.run(request=socket, context=context, root_value=None)

        def encode_json(self, data: object) -> str:
            return encode_message(data)

        def decode_json(self, data: str | bytes) -> object:
            return decode_message(data)

        async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
            if context.access.caller.grants:
                return await super().on_ws_connect(context)
            params = getattr(context, "connection_params", None) or {}
            header = str(params.get("Authorization") or params.get("authorization") or "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ConnectionRejectionError()
            try:
                principal = tokens.read(token.strip())
            except Exception as refused:
                raise ConnectionRejectionError() from refused
            _signed_in(context, principal)
            return await super().on_ws_connect(context)

    return LiveGraphQL
