"""``POST /api/v1/auth/token``: username and password for a short-lived bearer token; and
``POST /api/v1/auth/password``: the signed-in user's own new password.

Both are rate limited per user (``LoginLimits.per_username``): guessing a password through the
change is no cheaper than through the sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody

from danvan.backend.auth.guards import answering, principal_of
from danvan.backend.auth.middleware import EXCLUDE_FROM_AUTH, PASSWORD_CHANGE_ROUTE
from danvan.backend.auth.passwords import hash_password
from danvan.backend.auth.ratelimit import Limit
from danvan.backend.auth.tokens import issue_token
from danvan.backend.controllers.deps import Answer, Ctx, HttpRequest, store_of
from danvan.backend.controllers.responses import run_command
from danvan.backend.dto import PasswordChange
from danvan.backend.errors import Problem
from danvan.backend.observability.metrics import record_command
from danvan.backend.services import people
from danvan.backend.services.sign_in import SignInAttempt, authenticate
from danvan.backend.wiring import Services
from danvan.domain.limits import MAX_PASSWORD, MAX_USERNAME, TEXT_PATTERN

PER_USERNAME = Limit(attempts=10, window_seconds=300)
PER_ADDRESS = Limit(attempts=100, window_seconds=300)


@dataclass(frozen=True)
class LoginLimits:
    """Login attempts allowed per username and per client address (all attempts count)."""

    per_username: Limit = PER_USERNAME
    per_address: Limit = PER_ADDRESS


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_USERNAME,
                                          pattern=TEXT_PATTERN)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD,
                                          pattern=TEXT_PATTERN)]


class AccessToken(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    must_change_password: bool
    """The password is a one-time one: the token serves only ``POST /auth/password``."""


def _client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/auth"
    tags = ("auth",)
    opt = {EXCLUDE_FROM_AUTH: True}  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/token", operation_id="auth_token", status_code=200,
          summary="Exchange a username and password for a bearer token",
          raises=[NotAuthorizedException, TooManyRequestsException])
    async def token(self, request: Request[Any, Any, Any],
                    data: JSONBody[Credentials]) -> AccessToken:
        services: Services = request.app.state["services"]
        limits: LoginLimits = request.app.state["login_limits"]
        username = data.username.strip().lower()
        address = _client_address(request)
        retry_after = 0
        for key, limit in ((f"login:user:{username}", limits.per_username),
                           (f"login:addr:{address}", limits.per_address)):
            decision = await services.limiter.hit(key, limit)
            if not decision.allowed:
                retry_after = max(retry_after, decision.retry_after)
        if retry_after:
            record_command("auth.token", "limited")
            raise Problem(429, "rate_limited", headers={"Retry-After": str(retry_after)},
                          retry_after=retry_after)
        store = services.store
        if store is None:
            raise Problem(503, "store_unavailable", headers={"Retry-After": "5"})
        state = request.scope.get("state") or {}
        attempt = SignInAttempt(username=username, password=data.password, address=address,
                               request_id=str(state.get("request_id") or ""),
                               correlation_id=str(state.get("correlation_id") or ""))
        user = await sync_to_thread(authenticate, store, attempt)
        if user is None:
            record_command("auth.token", "rejected")
            raise Problem(401, "invalid_credentials", headers={"WWW-Authenticate": "Bearer"})
        settings = services.settings
        token = issue_token(user_id=str(user.id), username=user.username, grants=user.grants,
                            generation=user.credentials_generation,
                            must_change_password=user.must_change_password,
                            secret=settings.secret_key,
                            lifetime_seconds=settings.token_lifetime_seconds)
        record_command("auth.token", "ok")
        return AccessToken(access_token=token, token_type="bearer",
                           expires_in=settings.token_lifetime_seconds,
                           must_change_password=user.must_change_password)


async def password_attempts(connection: ASGIConnection[Any, Any, Any, Any],
                            _: BaseRouteHandler) -> None:
    """A guard counting the caller's password changes as sign-in attempts (429 past them)."""
    services: Services = connection.app.state["services"]
    limits: LoginLimits = connection.app.state["login_limits"]
    user_id = principal_of(connection).user_id
    decision = await services.limiter.hit(f"password:user:{user_id}", limits.per_username)
    if not decision.allowed:
        record_command("user.change_password", "limited")
        raise Problem(429, "rate_limited", headers={"Retry-After": str(decision.retry_after)},
                      retry_after=decision.retry_after)


class PasswordController(Controller):
    path = "/auth"
    tags = ("auth",)

    @post("/password", operation_id="changeOwnPassword", status_code=200,
          summary="Change one's own password (the only route a one-time password may call)",
          guards=[answering(password_attempts, 429)], opt={PASSWORD_CHANGE_ROUTE: True},
          sync_to_thread=True)
    def change_password(self, request: HttpRequest, ctx: Ctx,
                        data: JSONBody[PasswordChange]) -> Answer:
        change = people.PasswordChange(data.current_password, data.new_password)
        return run_command("user.change_password", lambda: people.change_own_password(
            store_of(request), ctx, principal_of(request).user_id, change, hash_password))
