"""A real ``danvan serve`` and ``danvan projector`` on a database of their own, seeded over
HTTP, and Debian's chromium driven by Playwright: what the browser tests share.

    with running_site(admin, template, tmp) as site:      # site.url, site.world
        ...

Chromium is the system's (``/usr/bin/chromium``, ``make system-packages`` installs it); Playwright
never downloads a browser. Screenshots go to ``.data/pages-screens/`` (not committed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from danvan.backend.auth.passwords import hash_password
from danvan.domain.commands import RegisterUser
from danvan.domain.policies import RoleGrant, province_scope
from danvan.domain.users import User
from danvan.infra.database import ConnParams
from danvan.infra.event_store import open_event_store
from danvan.infra.services import free_port
from danvan.infra.settings import Settings
from tests.conftest import make_settings, migrated_database
from tests.e2e.conftest import PASSWORD, MadeUser, system_context
from tests.e2e.world import World

DANVAN = str(Path(sys.executable).parent / "danvan")
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("DANVAN_CHROMIUM", "/usr/bin/chromium")
SCREENS = REPO / ".data" / "pages-screens"


@dataclass
class Site:
    url: str
    world: World
    settings: Settings
    log: Path


def _env(settings: Settings, tmp: Path) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "DANVAN_APP_DB_ROLE": settings.app_db_role,
           "DANVAN_APP_DB_PASSWORD": settings.app_db_password, "DANVAN_ENV": "test",
           "DANVAN_SECRET_KEY": settings.secret_key, "DANVAN_DATA_DIR": str(tmp),
           "DANVAN_DB_POOL_SIZE": "2", "DANVAN_DB_MAX_OVERFLOW": "2"}
    env.pop("REDIS_URL", None)
    return env


def _province_admin(settings: Settings) -> None:
    store = open_event_store(settings)
    try:
        grant = RoleGrant(role="province_admin", province_code="15")
        store.save(User.register(system_context(province_scope("15")), RegisterUser(
            "admin.laocai", hash_password(PASSWORD), "Nguyễn Văn Tỉnh", (grant,))))
    finally:
        store.close()


def _wait(url: str, processes: list[subprocess.Popen[Any]], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), log.read_text(errors="replace")
        try:
            if httpx.get(f"{url}/health/live", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("danvan serve did not answer: " + log.read_text(errors="replace"))


@contextmanager
def running_site(admin: ConnParams, template: str, tmp: Path) -> Iterator[Site]:
    with migrated_database(admin, template) as url:
        settings = make_settings(url, tmp)
        _province_admin(settings)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = _env(settings, tmp)
        log = tmp / "site.log"
        processes: list[subprocess.Popen[Any]] = []
        with log.open("wb") as output:
            processes.append(subprocess.Popen(
                [DANVAN, "serve", "--workers", "1", "--port", str(port)], env=env, cwd=REPO,
                stdout=output, stderr=subprocess.STDOUT))
            processes.append(subprocess.Popen(
                [DANVAN, "projector", "--poll-interval", "0.2"], env=env, cwd=REPO,
                stdout=output, stderr=subprocess.STDOUT))
        try:
            _wait(base, processes, log)
            client = httpx.Client(base_url=base, timeout=60)
            world = World.build(client, lambda *a, **k: MadeUser(
                None, "admin.laocai", PASSWORD))  # type: ignore[arg-type]
            yield Site(base, world, settings, log)
            client.close()
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def screenshot(page: Any, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
