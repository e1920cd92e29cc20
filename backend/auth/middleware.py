"""Bearer-token authentication: puts a ``Principal`` on ``request.user`` or answers 401.

Every authenticated route goes through it, ``POST /graphql`` included. With ``generations``
it also refuses a token issued before its user's latest credentials change (401
``token_revoked``, ``backend/auth/credentials.py``); 503 when that cannot be read. A token
issued for a one-time password is refused (403 ``password_change_required``) on every route
but the one marked ``PASSWORD_CHANGE_ROUTE``.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from danvan.backend.auth.credentials import Generations, GenerationsUnavailable
from danvan.backend.auth.tokens import TokenError, TokenReader
from danvan.backend.errors import Problem

EXCLUDE_FROM_AUTH = "exclude_from_auth"
"""Set ``opt={EXCLUDE_FROM_AUTH: True}`` on a handler (or controller) that anyone may call."""

PASSWORD_CHANGE_ROUTE = "password_change_route"
"""Set ``opt={PASSWORD_CHANGE_ROUTE: True}`` on the one handler a user holding a one-time
password may call (changing it)."""

PUBLIC_PATHS = ["^/health/", "^/metrics$", "^/schema", "^/api/v1/auth/token$"]


def unauthenticated(*, expired: bool = False) -> Problem:
    return Problem(401, "token_expired" if expired else "unauthenticated",
                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"' if expired
                            else "Bearer"})


def revoked() -> Problem:
    return Problem(401, "token_revoked",
                   headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def password_change_required() -> Problem:
    return Problem(403, "password_change_required")


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: Any, *, tokens: TokenReader, generations: Generations | None = None,
                 exclude: list[str] | None = None) -> None:
        super().__init__(app, exclude=exclude, exclude_from_auth_key=EXCLUDE_FROM_AUTH)
        self.tokens = tokens
        self.generations = generations

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
        if self.generations is not None:
            try:
                current = await self.generations.current(principal.user_id)
            except GenerationsUnavailable as exc:
                raise Problem(503, "store_unavailable", headers={"Retry-After": "5"}) from exc
            if principal.generation < current:
                raise revoked()
        if principal.must_change_password and not connection.route_handler.opt.get(
                PASSWORD_CHANGE_ROUTE):
            raise password_change_required()
        return AuthenticationResult(user=principal, auth=token)


def bearer_auth(secret: str, exclude: list[str] | None = None, *,
                generations: Generations | None = None) -> DefineMiddleware:
    """One token cache for every route (Litestar builds a middleware instance per route)."""
    return DefineMiddleware(BearerAuthMiddleware, tokens=TokenReader(secret),
                            generations=generations,
                            exclude=[*PUBLIC_PATHS, *(exclude or [])])
