"""Bearer-token authentication: puts a ``Principal`` on ``request.user`` or answers 401."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from danvan.backend.auth.tokens import TokenError, TokenReader
from danvan.backend.errors import Problem

EXCLUDE_FROM_AUTH = "exclude_from_auth"
"""Set ``opt={EXCLUDE_FROM_AUTH: True}`` on a handler (or controller) that anyone may call."""

PUBLIC_PATHS = ["^/health/", "^/metrics$", "^/schema", "^/api/v1/auth/token$"]


def unauthenticated(*, expired: bool = False) -> Problem:
    return Problem(401, "token_expired" if expired else "unauthenticated",
                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"' if expired
                            else "Bearer"})


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: Any, *, tokens: TokenReader, exclude: list[str] | None = None
                 ) -> None:
        super().__init__(app, exclude=exclude, exclude_from_auth_key=EXCLUDE_FROM_AUTH)
        self.tokens = tokens

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]
                                   ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated()
        try:
            principal = self.tokens.read(token.strip())
        except TokenError as exc:
            raise unauthenticated(expired=exc.expired) from exc
        return AuthenticationResult(user=principal, auth=token)


def bearer_auth(secret: str, exclude: list[str] | None = None) -> DefineMiddleware:
    """One token cache for every route (Litestar builds a middleware instance per route)."""
    return DefineMiddleware(BearerAuthMiddleware, tokens=TokenReader(secret),
                            exclude=[*PUBLIC_PATHS, *(exclude or [])])
