"""Logging in over real HTTP against PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import jwt
import pytest

from danvan.backend.app import HttpOptions
from danvan.backend.auth.controller import LoginLimits
from danvan.backend.auth.ratelimit import Limit
from danvan.domain.users import User
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser, login


def event_names(store: EventStore, user_id: object) -> list[str]:
    return [type(e).__name__ for e in store.events.get(user_id)]  # type: ignore[arg-type]


def test_a_right_password_gives_a_bearer_token(client: httpx.Client, settings: Settings,
                                               make_user: Callable[..., MadeUser]) -> None:
    user = make_user("admin.laocai")
    response = client.post("/api/v1/auth/token",
                           json={"username": user.username, "password": user.password})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.token_lifetime_seconds
    claims = jwt.decode(body["access_token"], settings.secret_key, algorithms=["HS256"],
                        issuer="danvan")
    assert claims["sub"] == str(user.id)
    assert claims["username"] == "admin.laocai"
    assert claims["grants"] == [{"role": "province_admin", "province_code": "15",
                                 "tenant_id": None, "unit_id": None}]
    assert claims["exp"] - claims["iat"] == settings.token_lifetime_seconds
    assert claims["jti"]


def test_a_wrong_password_is_a_401_problem_and_is_recorded_as_an_event(
        client: httpx.Client, event_store: EventStore,
        make_user: Callable[..., MadeUser]) -> None:
    user = make_user("reviewer.one")
    response = client.post("/api/v1/auth/token",
                           json={"username": user.username, "password": "not-the-password"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    problem = response.json()
    assert problem["code"] == "invalid_credentials"
    assert problem["status"] == 401
    assert problem["detail"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert event_names(event_store, user.id) == ["Registered", "LoginFailed"]
    stored = event_store.repository.get(user.id)
    assert isinstance(stored, User)
    assert stored.failed_logins == 1
    failed = list(event_store.events.get(user.id))[-1]
    assert failed.address == "127.0.0.1"  # type: ignore[attr-defined]
    assert failed.meta["actor_id"] == "anonymous"  # type: ignore[attr-defined]
    assert failed.meta["request_id"] == response.headers["x-request-id"]  # type: ignore[attr-defined]


def test_an_unknown_user_gets_the_same_401_as_a_wrong_password(
        client: httpx.Client, make_user: Callable[..., MadeUser]) -> None:
    user = make_user("known.user")
    unknown = client.post("/api/v1/auth/token",
                          json={"username": "nobody.here", "password": "whatever-123"})
    wrong = client.post("/api/v1/auth/token",
                        json={"username": user.username, "password": "whatever-123"})
    assert unknown.status_code == wrong.status_code == 401
    strip = ("request_id",)
    assert ({k: v for k, v in unknown.json().items() if k not in strip}
            == {k: v for k, v in wrong.json().items() if k not in strip})


def test_a_good_login_after_failures_resets_the_counter(
        client: httpx.Client, event_store: EventStore,
        make_user: Callable[..., MadeUser]) -> None:
    user = make_user("unit.secretary")
    client.post("/api/v1/auth/token", json={"username": user.username, "password": "nope-nope"})
    login(client, user)
    assert event_names(event_store, user.id) == ["Registered", "LoginFailed", "LoggedIn"]


@pytest.fixture
def options() -> HttpOptions:
    return HttpOptions(login_limits=LoginLimits(per_username=Limit(3, 60),
                                                per_address=Limit(100, 60)))


def test_logins_are_rate_limited_per_username_with_retry_after(
        client: httpx.Client, event_store: EventStore,
        make_user: Callable[..., MadeUser]) -> None:
    user = make_user("target.user")
    statuses = [client.post("/api/v1/auth/token",
                            json={"username": user.username, "password": "guess-" + str(i)}
                            ).status_code for i in range(3)]
    assert statuses == [401, 401, 401]
    limited = client.post("/api/v1/auth/token",
                          json={"username": user.username, "password": user.password},
                          headers={"Accept-Language": "en"})
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert limited.json()["code"] == "rate_limited"
    assert limited.json()["detail"].startswith("Too many attempts")
    # a limited attempt is not checked, so it is not recorded as a failed login either
    assert event_names(event_store, user.id).count("LoginFailed") == 3
    # another username from the same address is still served
    other = make_user("other.user")
    login(client, other)


def test_a_token_opens_authenticated_routes_and_garbage_does_not(
        client: httpx.Client, make_user: Callable[..., MadeUser]) -> None:
    headers = login(client, make_user("admin.two"))
    missing = client.get("/api/v1/probe/whoami")
    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthenticated"
    bad = client.get("/api/v1/probe/whoami", headers={"Authorization": "Bearer x.y.z"})
    assert bad.status_code == 401
    me = client.get("/api/v1/probe/whoami", headers={**headers, "X-Correlation-ID": "corr-1"})
    assert me.status_code == 200
    assert me.json()["username"] == "admin.two"
    assert me.json()["tenant_id"] == "province:15"
    assert me.json()["role"] == "province_admin"
    assert me.json()["correlation_id"] == "corr-1"
    assert me.json()["request_id"] == me.headers["x-request-id"]
    assert me.headers["x-correlation-id"] == "corr-1"
