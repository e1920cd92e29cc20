"""``POST /api/v1/auth/token``: username and password for a short-lived bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.concurrency import sync_to_thread
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import JSONBody

from danvan.backend.auth.middleware import EXCLUDE_FROM_AUTH
from danvan.backend.auth.ratelimit import Limit
from danvan.backend.auth.tokens import issue_token
from danvan.backend.errors import Problem
from danvan.backend.observability.metrics import record_command
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
                            generation=user.credentials_generation, secret=settings.secret_key,
                            lifetime_seconds=settings.token_lifetime_seconds)
        record_command("auth.token", "ok")
        return AccessToken(access_token=token, token_type="bearer",
                           expires_in=settings.token_lifetime_seconds)
