"""``danvan serve`` as the benchmarks run it: a child process on a free loopback port, ready
once ``/health/live`` answers, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from bench.cpu import process_tree_cpu
from danvan.infra.services import free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Served:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        return process_tree_cpu(self.pid)


@contextmanager
def danvan_serve(env: Mapping[str, str], *, server: str = "granian",
                 workers: int | None = None, started_within: float = 60.0) -> Iterator[Served]:
    """``danvan serve`` with ``env`` (workers: serve's default unless given)."""
    import httpx

    port = free_port()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "danvan.backend.cli", "serve", "--server", server,
             "--host", HOST, "--port", str(port),
             *(["--workers", str(workers)] if workers else [])],
            env=dict(env), stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        base = f"http://{HOST}:{port}"
        try:
            deadline = time.monotonic() + started_within
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    errors.seek(0)
                    tail = errors.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"danvan serve did not start:\n{tail}")
                try:
                    if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            yield Served(base, process.pid)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
