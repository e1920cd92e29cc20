"""End-to-end fixtures: the real app served by uvicorn on a free loopback port.

``serve(app)`` runs an app in a background thread and returns its base URL; ``api`` is the
production app (real PostgreSQL from ``settings``, real Redis with a random key prefix) and
``client`` an ``httpx.Client`` on it. ``make_user`` registers a user straight in the store.
"""

from __future__ import annotations

import functools
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from litestar import Litestar

from danvan.backend.app import HttpOptions, create_app
from danvan.backend.auth.passwords import hash_password
from danvan.backend.wiring import Services, build, open_redis
from danvan.domain.base import Actor, Context
from danvan.domain.commands import RegisterUser
from danvan.domain.policies import (
    EVERY_PROVINCE,
    NATIONAL_ROLES,
    NATIONAL_SCOPE,
    RoleGrant,
    province_scope,
)
from danvan.domain.users import User
from danvan.infra.event_store import EventStore
from danvan.infra.services import free_port
from danvan.infra.settings import Settings
from tests.e2e.pages_browsing import Visitor
from tests.e2e.probe import ProbeController

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "mật-khẩu-đủ-dài-1"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


class LiveServer:
    def __init__(self, app: Litestar) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def serve() -> Iterator[Callable[[Litestar], str]]:
    servers: list[LiveServer] = []

    def start(app: Litestar) -> str:
        server = LiveServer(app).__enter__()
        servers.append(server)
        return server.url

    yield start
    for server in reversed(servers):
        server.__exit__(None, None, None)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"danvan-test:{secrets.token_hex(6)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url())
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def services(settings: Settings, event_store: EventStore, redis_prefix: str
             ) -> Iterator[Services]:
    built = build(settings, store=event_store, redis=open_redis(redis_url()),
                  redis_prefix=redis_prefix)
    built.owns_redis = True
    yield built
    built.close()


@pytest.fixture
def options() -> HttpOptions:
    return HttpOptions()


@pytest.fixture
def api(settings: Settings, services: Services, options: HttpOptions,
        serve: Callable[[Litestar], str]) -> str:
    return serve(create_app(settings, services=services, options=options,
                            controllers=[ProbeController]))


@pytest.fixture
def client(api: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api, timeout=30) as http:
        yield http


def system_context(scope: str) -> Context:
    return Context(tenant_id=scope, actor=Actor(user_id="system", role="system"),
                   at=datetime.now(UTC), correlation_id=uuid.uuid4().hex)


@dataclass(frozen=True)
class MadeUser:
    id: uuid.UUID
    username: str
    password: str


def register_user(store: EventStore, username: str = "admin.laocai", *,
                  password: str = PASSWORD, role: str = "province_admin", province: str = "15",
                  tenant_id: str | None = None, **extra: Any) -> MadeUser:
    """A user registered straight in ``store`` by the system: a province role in
    ``province``, a tenant role in ``tenant_id``, a national role for the whole country."""
    if role in NATIONAL_ROLES:
        grant = RoleGrant(role=role, province_code=EVERY_PROVINCE)
        scope = NATIONAL_SCOPE
    else:
        grant = RoleGrant(role=role, province_code=province, tenant_id=tenant_id, **extra)
        scope = tenant_id or province_scope(province)
    user = User.register(system_context(scope), RegisterUser(
        username, hash_password(password), "Nguyễn Văn A", (grant,)))
    store.save(user)
    return MadeUser(user.id, username, password)


@pytest.fixture
def make_user(event_store: EventStore) -> Callable[..., MadeUser]:
    return functools.partial(register_user, event_store)


def login(client: httpx.Client, user: MadeUser) -> dict[str, str]:
    response = client.post("/api/v1/auth/token",
                           json={"username": user.username, "password": user.password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def visitor(api: str) -> Iterator[Visitor]:
    """A browser without JavaScript on the test server: cookies, CSRF tokens, forms
    (``pages_browsing.Visitor``)."""
    browser = Visitor(api)
    yield browser
    browser.close()
