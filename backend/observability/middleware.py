"""The outermost ASGI layer: request/correlation ids, access log line, latency histogram.

It wraps ``Litestar.asgi_handler`` (router plus exception handling), so it also sees 404s,
405s and errors raised by middleware, and knows the matched route template afterwards.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, cast

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from danvan.backend.observability.metrics import REQUEST_LATENCY

REQUEST_ID = "x-request-id"
CORRELATION_ID = "x-correlation-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
QUIET_ROUTES = frozenset({"/health/live", "/health/ready", "/metrics"})

access_log = structlog.get_logger("danvan.access")


def _incoming(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            text = value.decode("latin-1")
            return text if _SAFE_ID.match(text) else None
    return None


class RequestObservability:
    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = True) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        http = cast("dict[str, Any]", scope)
        request_id = _incoming(scope, REQUEST_ID.encode()) or uuid.uuid4().hex
        correlation_id = _incoming(scope, CORRELATION_ID.encode()) or request_id
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["correlation_id"] = correlation_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id,
                                               correlation_id=correlation_id)
        status = 500
        started = time.perf_counter()

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                headers = MutableScopeHeaders(message)
                headers[REQUEST_ID] = request_id
                headers[CORRELATION_ID] = correlation_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            REQUEST_LATENCY.labels(route=route, method=http["method"],
                                   status=str(status)).observe(elapsed)
            if self.access_log_enabled:
                user = scope.get("user")
                fields = {"method": http["method"], "path": http["path"], "route": route,
                          "status": status, "duration_ms": round(elapsed * 1000, 2),
                          "user_id": getattr(user, "user_id", None)}
                if route in QUIET_ROUTES:
                    access_log.debug("request", **fields)
                else:
                    access_log.info("request", **fields)
