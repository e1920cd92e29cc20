"""``Danvan-Position``: every successful command answers the global position of the last event
it appended, which a GraphQL read may send back as ``Danvan-Min-Position`` to see its write
(``graphql/read_position.py``).

``PositionMiddleware`` opens ``infra.saved_positions.tracking()`` around each unsafe request;
the event store notes its saves there, and the 2xx answer gets the header. It runs inside the
idempotency middleware, which keeps the header with the answer it stores, so a replay carries
it too. A command that appended nothing (one refused, or one that only reads) has none.
"""

from __future__ import annotations

from typing import Any, cast

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from danvan.infra import saved_positions

HEADER = "danvan-position"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def position_header(position: int) -> tuple[bytes, bytes]:
    return HEADER.encode(), str(position).encode()


class PositionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or cast("dict[str, Any]", scope)["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        with saved_positions.tracking() as saved:

            async def send_with_position(message: Message) -> None:
                if (message["type"] == "http.response.start" and saved.position is not None
                        and 200 <= message["status"] < 300):
                    headers = list(message.get("headers", []))
                    headers.append(position_header(saved.position))
                    message = cast("Message", {**message, "headers": headers})
                await send(message)

            await self.app(scope, receive, send_with_position)
