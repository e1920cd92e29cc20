"""``POST /api/v1/auth/token``: username and password for a short-lived bearer token."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from litestar import Controller, Request, post
from litestar.concurrency import sync_to_thread
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.params import JSONBody

from danvan.backend.auth.middleware import EXCLUDE_FROM_AUTH
from danvan.backend.auth.passwords import (
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from danvan.backend.auth.ratelimit import Limit
from danvan.backend.auth.tokens import issue_token
from danvan.backend.errors import Problem
from danvan.backend.observability.metrics import record_command
from danvan.backend.wiring import Services
from danvan.domain.base import Actor, Context
from danvan.domain.limits import MAX_PASSWORD, MAX_USERNAME, TEXT_PATTERN
from danvan.domain.users import User

ANONYMOUS = Actor(user_id="anonymous", role="anonymous")
SAVE_ATTEMPTS = 3


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


@dataclass(frozen=True)
class LoginAttempt:
    username: str
    password: str
    address: str
    request_id: str
    correlation_id: str

    def context(self, tenant_id: str, actor: Actor) -> Context:
        return Context(tenant_id=tenant_id, actor=actor, at=datetime.now(UTC),
                       correlation_id=self.correlation_id or uuid.uuid4().hex,
                       request_id=self.request_id or None)


def _save_with_retry(store: Application, user_id: uuid.UUID, attempt: LoginAttempt,
                     change: Any) -> None:
    """Apply ``change(user)`` to the latest version and save, retrying version clashes."""
    for _ in range(SAVE_ATTEMPTS):
        user: Any = store.repository.get(user_id)
        change(user)
        try:
            store.save(user)
            return
        except IntegrityError:
            continue


def authenticate(store: Application, attempt: LoginAttempt) -> User | None:
    """The user if the password is right, else None; failed attempts become events.

    The token is issued from the version loaded here: its grants and its credentials
    generation come from the same events. Re-hashing an old-parameter hash is recorded as
    ``PasswordRehashed``, which changes no generation, so it revokes no token."""
    user_id = User.id_for(attempt.username)
    try:
        user: Any = store.repository.get(user_id)
    except AggregateNotFoundError:
        dummy_verify(attempt.password)
        return None
    if not isinstance(user, User):
        dummy_verify(attempt.password)
        return None
    if not verify_password(user.password_hash, attempt.password) or not user.active:
        ctx = attempt.context(user.tenant_id, ANONYMOUS)
        _save_with_retry(store, user_id, attempt,
                         lambda u: u.record_failed_login(ctx, address=attempt.address))
        return None
    rehash = needs_rehash(user.password_hash)
    if rehash or user.failed_logins:
        ctx = attempt.context(user.tenant_id, Actor(user_id=str(user.id), role="self"))
        new_hash = hash_password(attempt.password) if rehash else None

        def change(u: User) -> None:
            u.record_login(ctx)
            if new_hash is not None:
                u.rehash_password(ctx, password_hash=new_hash)

        with contextlib.suppress(Exception):  # bookkeeping must not refuse a good password
            _save_with_retry(store, user_id, attempt, change)
    return user


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
        attempt = LoginAttempt(username=username, password=data.password, address=address,
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
