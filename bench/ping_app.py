"""Apps for ``bench/http_servers.py``: the real frame with a trivial authenticated endpoint,
and a bare Litestar JSON hello as the baseline. No database: nothing but HTTP is measured."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, get

from danvan.backend.app import HttpOptions
from danvan.backend.app import create_app as create_danvan_app
from danvan.backend.auth.guards import authenticated, principal_of
from danvan.backend.wiring import build
from danvan.infra.settings import Settings

SECRET = "bench-secret-key-bench-secret-key-0123456789"


@get("/bench/ping", sync_to_thread=False)
def ping(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Authenticated by the middleware; no guard (Litestar copies the handler for each guard
    call, about 60 µs: measured apart with ``--guarded``)."""
    return {"pong": True, "user": principal_of(request).username}


@get("/bench/guarded", guards=[authenticated()], sync_to_thread=False)
def guarded(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"pong": True, "user": principal_of(request).username}


def create_app() -> Litestar:
    settings = Settings(env="test", secret_key=SECRET)
    services = build(settings, store=None, redis=None, db_pool=None)
    return create_danvan_app(settings, services=services, controllers=[ping, guarded],
                             options=HttpOptions(access_log=True))


@get("/hello", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


def create_plain_app() -> Litestar:
    return Litestar([hello], logging_config=None)
