"""A real deployment on loopback, for the fault and load suites: a migrated database of its
own, a private ``redis-server`` on a free port, ``danvan serve`` (granian, two workers) and
``danvan projector`` as child processes, each of which can be killed, stopped and started.

    with deployment(admin, template, tmp) as live:
        live.server.url, live.kill_projector(), live.kill_worker(),
        live.terminate_app_connections(), live.restart_redis()
        live.settle()                      # every process up, the projector at the head
        live.compare_with_rebuild()        # read models EXCEPT ALL a blue/green rebuild
        live.audit_verify()                # ``danvan audit verify``

Every fault is counted in ``live.faults``; what a fault broke (a server that exited after a
worker was killed, a projector that did not reach the head) goes to ``live.findings``.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from bench.serving import Served, danvan_serve
from danvan.infra.database import ConnParams, connect_owner
from danvan.infra.services import free_port, probe_redis, redis_server_binary
from danvan.infra.settings import Settings
from danvan.projections.catalog import all_projections
from danvan.projections.events import log_head
from danvan.projections.schema import active_versions
from tests.conftest import make_settings, migrated_database
from tests.reliability.findings import Findings

WORKERS = 2
STARTED_WITHIN = 120.0
"""Seconds a process may take to come up on a loaded two-core machine."""
SETTLE_WITHIN = 300.0
"""Seconds the projector may take to reach the head after the load."""


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = [int(c) for c in (task / "children").read_text().split()]
                found += children
                pending += children
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


class PrivateRedis:
    """``redis-server`` on a port of its own, keeping nothing on disk; stop and start it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the child holds it
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + STARTED_WITHIN
        while probe_redis(self.url) is not None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class Server:
    """``danvan serve`` (bench.serving), started again on a new port after it exited."""

    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.env, self.workers = env, workers
        self._stack = ExitStack()
        self.served: Served | None = None
        self.starts = 0
        self._url = ""

    def start(self) -> None:
        self.served = self._stack.enter_context(
            danvan_serve(self.env, workers=self.workers, started_within=STARTED_WITHIN))
        self._url = self.served.url
        self.starts += 1

    def stop(self) -> None:
        self._stack.close()
        self._stack = ExitStack()
        self.served = None

    @property
    def url(self) -> str:
        """Where the server listens, or listened last (clients then fail and retry)."""
        return self._url

    @property
    def pid(self) -> int:
        assert self.served is not None
        return self.served.pid

    def up(self) -> bool:
        return self.served is not None and alive(self.served.pid)

    def worker_pids(self) -> list[int]:
        return [p for p in descendants(self.pid) if alive(p)] if self.up() else []

    def rss(self) -> int:
        return rss_bytes([self.pid, *self.worker_pids()]) if self.up() else 0

    def answers(self, timeout: float = 5.0) -> bool:
        try:
            return httpx.get(f"{self.url}/health/live", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False


class Projector:
    """``danvan projector`` as a child process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        out = open(self.log, "ab")  # noqa: SIM115 - the child holds it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "danvan.backend.cli", "projector", "--poll-interval", "0.5"],
            env=self.env, stdout=out, stderr=out, start_new_session=True)
        out.close()
        self.starts += 1

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def up(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Live:
    settings: Settings
    env: dict[str, str]
    folder: Path
    redis: PrivateRedis
    server: Server
    projector: Projector
    faults: Counter[str] = field(default_factory=Counter)
    findings: Findings = field(default_factory=Findings)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    _round: list[str] = field(default_factory=list)

    def conn(self) -> psycopg.Connection[tuple[object, ...]]:
        return connect_owner(self.settings)

    # --- faults -------------------------------------------------------------------------

    def kill_projector(self) -> None:
        """SIGKILL the projector wherever it is, and start another."""
        self.projector.kill()
        self.faults["projector SIGKILL"] += 1
        time.sleep(self.rng.uniform(0.0, 1.5))
        self.projector.start()

    def kill_worker(self) -> None:
        """SIGKILL one API worker process; the server must go on serving on its own."""
        workers = self.server.worker_pids()
        if not workers:
            self.ensure_server("no worker to kill")
            return
        os.kill(self.rng.choice(workers), signal.SIGKILL)
        self.faults["API worker SIGKILL"] += 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(1.0)
            if not self.server.up():
                break
            if len(self.server.worker_pids()) >= len(workers) and self.server.answers():
                return
        self.ensure_server("after an API worker was killed")

    def ensure_server(self, why: str) -> None:
        """A server that exited (or stopped answering) is a finding; start a new one."""
        if self.server.up() and self.server.answers(timeout=15):
            workers = len(self.server.worker_pids())
            if workers < self.server.workers:
                self.findings.add("worker not respawned", "danvan serve", caller="-",
                                  status=0, detail=f"{workers} processes below the server "
                                                   f"{why}", request="SIGKILL a worker")
            return
        self.findings.add("server down", "danvan serve", caller="-", status=0,
                          detail=f"the server exited or stopped answering {why}",
                          request="SIGKILL a worker")
        self.server.stop()
        self.server.start()

    def terminate_app_connections(self, burst: int = 8) -> int:
        """``pg_terminate_backend`` every connection of the application's role, several
        times a tenth of a second apart (so that some land between a commit and its answer)."""
        terminated = 0
        with self.conn() as conn:
            for _ in range(burst):
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND usename = %s "
                    "AND pid <> pg_backend_pid()", (self.settings.app_db_role,)).fetchall()
                terminated += len(rows)
                time.sleep(0.1)
        self.faults["database terminations"] += 1
        self.faults["backends killed"] += terminated
        return terminated

    def restart_redis(self) -> None:
        """Stop the private Redis for a moment, then start it again on the same port."""
        self.redis.stop()
        self.faults["Redis stopped"] += 1
        time.sleep(self.rng.uniform(1.0, 4.0))
        self.redis.start()

    FAULTS = ("kill_projector", "kill_worker", "terminate_app_connections", "restart_redis")

    def inject_one(self) -> str:
        """The next fault of a shuffled round of all four (each kind comes every round)."""
        if not self._round:
            self._round = self.rng.sample(self.FAULTS, len(self.FAULTS))
        name = self._round.pop()
        getattr(self, name)()
        return name

    # --- afterwards ---------------------------------------------------------------------

    def settle(self) -> None:
        """Every process up; the projector at the log's head (a finding otherwise)."""
        if self.redis.process is None:
            self.redis.start()
        if not self.server.up():
            self.ensure_server("at the end")
        if not self.projector.up():
            self.projector.start()
        deadline = time.monotonic() + SETTLE_WITHIN
        while True:
            behind = self.behind()
            if not behind:
                return
            if time.monotonic() > deadline:
                self.findings.add("read models short of the head", "danvan projector",
                                  caller="-", status=0,
                                  detail=f"{behind} events behind; log: "
                                         f"{self.projector.tail(600)}",
                                  request="wait for the projector")
                return
            time.sleep(1.0)

    def behind(self) -> dict[str, int]:
        with self.conn() as conn:
            head = log_head(conn)
            return {name: head - v.position for name, v in active_versions(conn).items()
                    if v.position < head}

    def compare_with_rebuild(self) -> dict[str, int]:
        """``danvan rebuild --keep-old`` (projector stopped), then each table of the live
        versions against the rebuilt ones, EXCEPT ALL both ways: rows that differ, by table."""
        self.projector.stop()
        with self.conn() as conn:
            before = {n: v.schema for n, v in active_versions(conn).items()}
        done = self.run_cli("rebuild", "--keep-old")
        if done.returncode != 0:
            self.findings.add("rebuild failed", "danvan rebuild", caller="-", status=0,
                              detail=(done.stdout + done.stderr)[-600:], request="rebuild")
            return {}
        differ: dict[str, int] = {}
        with self.conn() as conn:
            after = {n: v.schema for n, v in active_versions(conn).items()}
            for projection in all_projections():
                old, new = before.get(projection.name), after.get(projection.name)
                if old is None or new is None or old == new:
                    continue
                for table in projection.tables:
                    rows = 0
                    for a, b in ((old, new), (new, old)):
                        row = conn.execute(sql.SQL(
                            "SELECT count(*) FROM (SELECT * FROM {} EXCEPT ALL "
                            "SELECT * FROM {}) AS differ").format(
                            sql.Identifier(a, table), sql.Identifier(b, table))).fetchone()
                        rows += int(row[0]) if row else 0
                    if rows:
                        differ[table] = rows
        for table, rows in differ.items():
            self.findings.add("read model differs from a rebuild", table, caller="-", status=0,
                              detail=f"{rows} rows differ (EXCEPT ALL both ways)",
                              request="danvan rebuild --keep-old")
        return differ

    def audit_verify(self) -> bool:
        """Seal what is due, as the scheduled job does, then verify every chain: a chain
        rewritten after the faults would fail its seal; exit 0 only when all is intact and
        sealed."""
        sealed = self.run_cli("audit", "seal", "--due")
        if sealed.returncode != 0:
            self.findings.add("audit chain broken", "danvan audit seal --due", caller="-",
                              status=sealed.returncode,
                              detail=(sealed.stdout + sealed.stderr)[-600:],
                              request="danvan audit seal --due")
        done = self.run_cli("audit", "verify")
        if done.returncode != 0:
            self.findings.add("audit chain broken", "danvan audit verify", caller="-",
                              status=done.returncode, detail=(done.stdout + done.stderr)[-600:],
                              request="danvan audit verify")
        return done.returncode == 0

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "danvan.backend.cli", *args],
                              env=self.env, capture_output=True, text=True, timeout=600,
                              check=False)


@contextmanager
def deployment(admin: ConnParams, template: str, folder: Path, *,
               projector: bool = True) -> Iterator[Live]:
    with migrated_database(admin, template) as url:
        settings = make_settings(url, folder, db_pool_size=4, db_max_overflow=4)
        redis_server = PrivateRedis(folder / "redis")
        redis_server.start()
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_server.url,
               "DANVAN_ENV": "development", "DANVAN_SECRET_KEY": secrets.token_urlsafe(48),
               "DANVAN_DATA_DIR": str(folder / "data"), "DANVAN_LOG_LEVEL": "WARNING",
               "DANVAN_APP_DB_ROLE": settings.app_db_role,
               "DANVAN_APP_DB_PASSWORD": settings.app_db_password,
               "DANVAN_TOKEN_LIFETIME": "7200"}
        live = Live(settings, env, folder, redis_server, Server(env, WORKERS),
                    Projector(env, folder / "projector.log"))
        try:
            live.server.start()
            if projector:
                live.projector.start()
            yield live
        finally:
            live.projector.stop()
            live.server.stop()
            redis_server.stop()
