"""A real ``danvan worker`` process and a private ``redis-server`` for the job tests."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import psutil
import redis

from danvan.infra.services import free_port, probe_redis, redis_server_binary
from danvan.infra.settings import Settings


class PrivateRedis:
    """A redis-server of this test's own on a fixed port: stopped and started again at will
    (keeping nothing on disk, so whatever it held is gone once stopped)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while probe_redis(self.url) is not None:
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def worker_env(settings: Settings, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DANVAN_", "REDIS_URL", "DATABASE_URL"))}
    env.update({
        "DATABASE_URL": settings.database_url or "", "REDIS_URL": redis_url,
        "DANVAN_ENV": "test", "DANVAN_DATA_DIR": str(settings.data_dir),
        "DANVAN_APP_DB_ROLE": settings.app_db_role,
        "DANVAN_APP_DB_PASSWORD": settings.app_db_password,
        "DANVAN_DB_POOL_SIZE": "4", "DANVAN_DB_LOCK_TIMEOUT": "30",
        "DANVAN_JOB_NAMESPACE": f"danvan-test-{secrets.token_hex(6)}",
        "DANVAN_JOB_LEASE": "2", "DANVAN_JOB_MAX_RETRIES": "2",
        "DANVAN_JOB_MIN_BACKOFF": "1", "DANVAN_JOB_MAX_BACKOFF": "2",
        "DANVAN_JOB_POLL_MS": "50",
    })
    env.update(extra)
    return env


class Worker:
    """``danvan worker`` as a subprocess (one worker process unless told otherwise)."""

    def __init__(self, env: dict[str, str], log: Path, *, processes: int = 1,
                 threads: int = 4) -> None:
        self.env = env
        self.log = log
        self.args = [sys.executable, "-m", "danvan.backend.cli", "worker", "--no-schedule",
                     "--processes", str(processes), "--threads", str(threads),
                     "--graceful-timeout", "20"]
        self.process: subprocess.Popen[bytes] | None = None
        self._out: IO[Any] | None = None

    @property
    def namespace(self) -> str:
        return self.env["DANVAN_JOB_NAMESPACE"]

    def start(self) -> Worker:
        self._out = self.log.open("ab")
        self.process = subprocess.Popen(self.args, env=self.env, stdout=self._out,
                                        stderr=subprocess.STDOUT)
        return self

    def worker_processes(self) -> list[psutil.Process]:
        """The supervisor's worker processes (not multiprocessing's resource tracker)."""
        assert self.process is not None
        children = psutil.Process(self.process.pid).children()
        return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]

    def kill_worker_processes(self) -> list[int]:
        killed = []
        for child in self.worker_processes():
            child.send_signal(signal.SIGKILL)
            killed.append(child.pid)
        return killed

    def terminate(self, timeout: float = 40) -> int:
        """SIGTERM, as a service manager stops it; answers the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            if self._out is not None:
                self._out.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.terminate()
            except subprocess.TimeoutExpired:
                for child in psutil.Process(self.process.pid).children(recursive=True):
                    child.kill()
                self.process.kill()
                self.process.wait(10)
        if self._out is not None and not self._out.closed:
            self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def clear_namespace(url: str, namespace: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
