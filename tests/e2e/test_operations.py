"""Health, metrics, the OpenAPI document, request ids and the admin command, over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from danvan.backend.app import create_app
from danvan.backend.wiring import build, open_redis
from danvan.infra.database import connect_owner
from danvan.infra.event_store import EventStore
from danvan.infra.services import free_port
from danvan.infra.settings import Settings
from danvan.projections.catalog import all_projections
from danvan.projections.embedded import make_runner
from danvan.projections.schema import ensure_read_models
from tests.e2e.conftest import MadeUser
from tests.integration.poison import older_release, poisoned_history
from tests.integration.test_projection_histories import World

REPO = Path(__file__).resolve().parents[2]
DANVAN = str(Path(sys.executable).parent / "danvan")  # the console script


def test_liveness_always_answers(client: httpx.Client) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}


def test_readiness_checks_postgres_redis_and_the_read_models(
        client: httpx.Client, settings: Settings) -> None:
    with connect_owner(settings) as conn:  # as `danvan migrate` leaves a new database
        ensure_read_models(conn, settings.app_db_role)
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["redis"]["ok"] is True
    assert checks["projections"]["ok"] is True
    assert {p["name"] for p in checks["projections"]["projections"]} == {
        p.name for p in all_projections()}


def test_readiness_stays_200_but_degraded_when_redis_does_not_answer(
        settings: Settings, event_store: EventStore, serve: Callable[[Litestar], str]) -> None:
    """Only logins need Redis: the replica keeps serving, so the balancer keeps it."""
    dead = open_redis(f"redis://127.0.0.1:{free_port()}/0")
    services = build(settings, store=event_store, redis=dead,
                     projection_lag=lambda: {"ok": True, "lag_events": 0})
    try:
        url = serve(create_app(settings, services=services))
        response = httpx.get(f"{url}/health/ready", timeout=10)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded"
        assert body["checks"]["redis"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["projections"] == {"ok": True, "lag_events": 0,
                                                 "latency_ms": body["checks"]["projections"]
                                                 ["latency_ms"]}
    finally:
        services.close()


def test_a_quarantined_event_shows_in_readiness_and_metrics_read_from_the_database(
        settings: Settings, event_store: EventStore, client: httpx.Client) -> None:
    """The projector ran elsewhere (here: a runner of the test); the API's own services,
    built from the settings, read lag and quarantine from the database."""
    with older_release():
        world = poisoned_history(World(event_store))
        runner = make_runner(settings, batch_size=5)
        runner.catch_up()
        runner.close()
    response = client.get("/health/ready")
    assert response.status_code == 200  # serving; the read models lack one event
    body = response.json()
    assert body["status"] == "degraded"
    projections = body["checks"]["projections"]
    assert projections["ok"] is False
    tenant = world.models[0].tenant_id
    assert projections["quarantined"]["by_projection"] == {"models": {tenant: 1}}
    [event] = projections["quarantined"]["events"]
    assert event["tenant_id"] == tenant and "NumericValueOutOfRange" in event["error"]
    models = next(p for p in projections["projections"] if p["name"] == "models")
    assert models["quarantined"] == 1 and models["lag_events"] == 0
    text = client.get("/metrics").text
    assert 'danvan_projection_quarantined_events{projection="models"} 1.0' in text
    assert 'danvan_projection_quarantined_events{projection="audit"} 0.0' in text
    assert 'danvan_projection_lag_events{projection="models"} 0.0' in text
    assert 'danvan_projection_lag_seconds{projection="models"} 0.0' in text
    assert 'danvan_projection_halted{projection="models"} 0.0' in text


def test_metrics_expose_the_latency_histogram_by_route_template(client: httpx.Client) -> None:
    client.get("/health/live")
    client.post("/api/v1/auth/token", json={"username": "nobody.at.all", "password": "x"})
    text = client.get("/metrics").text
    assert "# TYPE danvan_http_request_duration_seconds histogram" in text
    assert ('danvan_http_request_duration_seconds_count{method="POST",'
            'route="/api/v1/auth/token",status="401"}') in text
    assert 'danvan_commands_total{outcome="rejected",type="auth.token"}' in text


def test_the_openapi_document_and_its_viewer_are_served(client: httpx.Client) -> None:
    document = client.get("/schema/openapi.json")
    assert document.status_code == 200
    spec = document.json()
    assert "/api/v1/auth/token" in spec["paths"]
    assert spec["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    viewer = client.get("/schema")
    assert viewer.status_code == 200
    assert "text/html" in viewer.headers["content-type"]


def test_request_ids_are_echoed_or_made(client: httpx.Client) -> None:
    given = client.get("/health/live", headers={"X-Request-ID": "req-42"})
    assert given.headers["x-request-id"] == "req-42"
    assert given.headers["x-correlation-id"] == "req-42"
    made = client.get("/health/live", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32


def test_admin_create_reads_the_password_from_stdin_and_the_user_can_log_in(
        client: httpx.Client, settings: Settings) -> None:
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "DANVAN_APP_DB_ROLE": settings.app_db_role,
           "DANVAN_APP_DB_PASSWORD": settings.app_db_password,
           "DANVAN_ENV": "test", "DANVAN_SECRET_KEY": settings.secret_key}
    done = subprocess.run(
        [DANVAN, "admin", "create",
         "--username", "Admin.LaoCai", "--role", "province_admin", "--province", "15"],
        input="Mật-khẩu-tỉnh-15\n", capture_output=True, text=True, env=env, cwd=REPO,
        timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "created admin.laocai" in done.stdout
    response = client.post("/api/v1/auth/token",
                           json={"username": "admin.laocai", "password": "Mật-khẩu-tỉnh-15"})
    assert response.status_code == 200, response.text
    again = subprocess.run(
        [DANVAN, "admin", "create",
         "--username", "admin.laocai"], input="another-password\n", capture_output=True,
        text=True, env=env, cwd=REPO, timeout=60, check=False)
    assert again.returncode == 2
    assert "already exists" in again.stderr


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_serve_answers_and_stops_cleanly_on_sigterm(
        server: str, settings: Settings, make_user: Callable[..., MadeUser]) -> None:
    user = make_user("admin.served")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "DANVAN_APP_DB_ROLE": settings.app_db_role,
           "DANVAN_APP_DB_PASSWORD": settings.app_db_password, "DANVAN_ENV": "test",
           "DANVAN_SECRET_KEY": settings.secret_key}
    env.pop("REDIS_URL", None)
    # One worker: what is tested is answering and a clean stop; two workers double the
    # start-up a loaded 2-core machine must get through before the deadline.
    process = subprocess.Popen([DANVAN, "serve", "--server", server, "--port", str(port),
                                "--workers", "1"],
                               env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        response = httpx.post(f"{base}/api/v1/auth/token", timeout=10,
                              json={"username": user.username, "password": user.password})
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0
