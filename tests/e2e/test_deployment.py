"""The deployment files of ``infra/deploy/`` started as a province's IT team would start them:
the commands of the systemd units and of the compose file (migrations, API, projector, worker)
run as real processes on a test database and Redis, with the example environment file. The
whole backend comes up ready, a province admin made with the command line signs in, starts a
rebuild as a job, and a worker runs it; SIGTERM stops every process cleanly. The units pass
``systemd-analyze verify``. (The images of the compose file cannot be pulled here: the
machines have no internet; its commands and environment are what is tested.)
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from danvan.infra.services import free_port
from danvan.infra.settings import Settings
from tests.e2e.conftest import redis_url
from tests.integration.jobs_support import wait_for

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "infra" / "deploy"
UNITS = DEPLOY / "systemd"
DANVAN = str(Path(sys.executable).parent / "danvan")  # the console script of this checkout
SERVICES = ("migrate", "api", "projector", "worker")
PASSWORD = "Mật-khẩu-thử-2026"


def unit_commands() -> dict[str, list[str]]:
    found = {}
    for name in SERVICES:
        text = (UNITS / f"danvan-{name}.service").read_text()
        line = next(v for v in text.splitlines() if v.startswith("ExecStart="))
        found[name] = shlex.split(line.removeprefix("ExecStart="))
    return found


def compose_commands() -> dict[str, list[str]]:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    return {name: list(services[name]["command"]) for name in SERVICES}


def example_environment() -> dict[str, str]:
    found = {}
    for line in (DEPLOY / "danvan.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def here(command: list[str], port: int) -> list[str]:
    """The command as this machine runs it: this checkout's console script, a free port on
    loopback, one process of each kind (the machine has two cores)."""
    assert Path(command[0]).name == "danvan", command
    local = [DANVAN, *command[1:]]
    for option, value in (("--host", "127.0.0.1"), ("--port", str(port)),
                          ("--workers", "1"), ("--processes", "1"), ("--threads", "2")):
        if option in local:
            local[local.index(option) + 1] = value
    return local


def environment(settings: Settings, folder: Path) -> dict[str, str]:
    env = {**os.environ, **example_environment()}
    env.update({
        "DATABASE_URL": settings.database_url or "", "REDIS_URL": redis_url(),
        "DANVAN_APP_DB_ROLE": settings.app_db_role,
        "DANVAN_APP_DB_PASSWORD": settings.app_db_password,
        "DANVAN_SECRET_KEY": secrets.token_hex(32), "DANVAN_DATA_DIR": str(folder),
        "DANVAN_SEAL_KEY_FILE": str(folder / "seal.key"),
        "DANVAN_JOB_NAMESPACE": f"danvan-deploy-{secrets.token_hex(4)}",
        # the test role's password is the published default, which production refuses
        "DANVAN_ENV": "test"})
    return env


@contextmanager
def running(commands: dict[str, list[str]], env: dict[str, str], folder: Path
            ) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        for name in ("api", "projector", "worker"):
            with (folder / f"{name}.log").open("wb") as log:
                started.append(subprocess.Popen(commands[name], env=env, cwd=folder,
                                                stdout=log, stderr=subprocess.STDOUT))
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
        codes = [process.wait(timeout=60) for process in started]
        assert codes == [0, 0, 0], {p.args[1]: c for p, c in zip(started, codes, strict=True)}


def ready(base: str) -> dict[str, Any] | None:
    try:
        answer = httpx.get(f"{base}/health/ready", timeout=5)
    except httpx.HTTPError:
        return None
    body: dict[str, Any] = answer.json()
    jobs = body.get("checks", {}).get("jobs", {})
    return body if body.get("status") == "ok" and jobs.get("workers", 0) >= 1 else None


@pytest.mark.parametrize("kind", ["systemd", "compose"])
def test_the_deployment_files_start_a_working_backend(kind: str, settings: Settings,
                                                      tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    found = unit_commands() if kind == "systemd" else compose_commands()
    commands = {name: here(command, port) for name, command in found.items()}
    env = environment(settings, tmp_path)

    migrated = subprocess.run(commands["migrate"], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    created = subprocess.run([DANVAN, "admin", "create", "--username", "smoke.admin",
                              "--role", "province_admin", "--province", "15"],
                             input=PASSWORD + "\n", env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr

    with running(commands, env, tmp_path):
        report = wait_for(lambda: ready(base), 90, "the backend to become ready")
        assert report["checks"]["jobs"]["broker"] == "redis"
        with httpx.Client(base_url=base, timeout=30) as client:
            token = client.post("/api/v1/auth/token", json={
                "username": "smoke.admin", "password": PASSWORD}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            started = client.post("/api/v1/provinces/15/rebuilds", headers=headers, json={})
            assert started.status_code == 202, started.text
            job = started.headers["location"]
            done = wait_for(lambda: (body := client.get(job, headers=headers).json())
                            ["state"] in ("succeeded", "failed") and body,
                            90, "the worker to run the rebuild job")
            assert done["state"] == "succeeded", done
            summary = client.post("/graphql", headers=headers, json={
                "query": "{ province(code: \"15\") { code } }"}).json()
            assert summary["data"]["province"]["code"] == "15", summary


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on the units as installed (paths made real here)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze is missing (make test installs systemd)"
    env_file = tmp_path / "danvan.env"
    env_file.write_text((DEPLOY / "danvan.env.example").read_text())
    names = sorted(p.name for p in UNITS.iterdir())
    assert names == ["danvan-api.service", "danvan-migrate.service",
                     "danvan-projector-shard@.service", "danvan-projector.service",
                     "danvan-worker.service", "danvan.target"]
    for name in names:
        text = (UNITS / name).read_text().replace("/opt/danvan/venv/bin/danvan", DANVAN) \
            .replace("/etc/danvan/danvan.env", str(env_file)) \
            .replace("/var/lib/danvan", str(tmp_path))
        (tmp_path / name).write_text(text)
    verified = subprocess.run([analyze, "verify", "--man=no", *names], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stderr
