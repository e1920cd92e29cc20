"""uvicorn against granian, one worker each, on loopback, through ``danvan serve``.

    .venv/bin/python -m bench.http_servers [--seconds 5] [--rounds 3] [--guarded] [--json]

For each server it starts ``danvan serve --server S --workers 1`` on free loopback ports, for
``GET /api/v1/bench/ping`` (the real frame: bearer token middleware, request ids, access
log, metrics) and, as the baseline measured in the same run, a bare Litestar JSON hello.
Targets are loaded in interleaved rounds (the machine is shared and noisy) and the medians
reported; then each server is stopped with SIGTERM and must exit with status 0. The load
comes from ``wrk`` (one thread) when installed, else from the asyncio client below. Every
run is bounded by ``--seconds``; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bench.load_client import KeepAlive
from bench.ping_app import SECRET
from bench.serving import HOST
from danvan.backend.auth.tokens import issue_token
from danvan.domain.policies import RoleGrant
from danvan.infra.services import free_port

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    server: str
    app: str
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    tool: str
    clean_exit: bool = False



def bench_token() -> str:
    return issue_token(user_id="bench", username="bench", secret=SECRET, lifetime_seconds=3600,
                       grants=[RoleGrant(role="province_admin", province_code="15")])


def start_server(server: str, app: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": "postgresql://unused/x",
           "DANVAN_SECRET_KEY": SECRET, "DANVAN_ENV": "test"}
    command = [str(Path(sys.executable).parent / "danvan"), "serve", "--server", server,
               "--workers", "1", "--host", HOST, "--port", str(port), "--app", app]
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{port}/", timeout=1).status_code < 500:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{server} did not start")


def stop_server(process: subprocess.Popen[bytes]) -> bool:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30) == 0
    except subprocess.TimeoutExpired:
        process.kill()
        return False


def run_wrk(url: str, headers: dict[str, str], seconds: int, connections: int
            ) -> tuple[float, float | None, float | None, int]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True,
                         timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(pct: str) -> float | None:
        match = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        if not match:
            return None
        factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return round(float(match.group(1)) * factor, 2)

    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    return rps, latency("50"), latency("99"), errors


async def _client(port: int, request: bytes, stop_at: float, latencies: list[float],
                  errors: list[int]) -> None:
    connection = await KeepAlive.open(HOST, port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            status, _ = await connection.send_raw(request)
            latencies.append(time.perf_counter() - started)
            if not 200 <= status < 300:
                errors.append(1)
    finally:
        connection.close()


def run_python(port: int, path: str, headers: dict[str, str], seconds: int,
               connections: int) -> tuple[float, float | None, float | None, int]:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}",
             *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, request, stop_at, latencies, errors)
                               for _ in range(connections)))

    asyncio.run(main())
    latencies.sort()
    if not latencies:
        return 0.0, None, None, len(errors)
    pick = lambda q: round(latencies[int(q * (len(latencies) - 1))] * 1000, 2)  # noqa: E731
    return len(latencies) / seconds, pick(0.5), pick(0.99), len(errors)


@dataclass
class Target:
    server: str
    label: str
    app: str
    path: str
    headers: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None


def load(target: Target, seconds: int, connections: int, tool: str
         ) -> tuple[float, float | None, float | None, int]:
    if tool == "wrk":
        return run_wrk(f"http://{HOST}:{target.port}{target.path}", target.headers, seconds,
                       connections)
    return run_python(target.port, target.path, target.headers, seconds, connections)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per run (at most 60)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (at most 9)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--servers", default="uvicorn,granian")
    parser.add_argument("--guarded", action="store_true",
                        help="also load a route behind a guard (Litestar copies the handler)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seconds = max(1, min(args.seconds, 60))
    rounds = max(1, min(args.rounds, 9))
    tool = "wrk" if shutil.which("wrk") else "python-asyncio"
    auth = {"Authorization": f"Bearer {bench_token()}"}
    runs = [("bare hello (baseline)", "bench.ping_app:create_plain_app", "/hello", {}),
            ("danvan frame, JWT ping", "bench.ping_app:create_app", "/api/v1/bench/ping", auth)]
    if args.guarded:
        runs.append(("frame, ping + guard", "bench.ping_app:create_app",
                     "/api/v1/bench/guarded", auth))
    targets = [Target(server, *run) for server in args.servers.split(",") for run in runs]
    samples: dict[int, list[tuple[float, float | None, float | None, int]]] = {}
    try:
        for target in targets:
            target.port = free_port()
            target.process = start_server(target.server, target.app, target.port)
            check = httpx.get(f"http://{HOST}:{target.port}{target.path}",
                              headers=target.headers, timeout=5)
            assert check.status_code == 200, check.text
            load(target, 1, args.connections, tool)  # warm-up
        for _ in range(rounds):  # interleaved, so that a noisy neighbour hits every target
            for index, target in enumerate(targets):
                samples.setdefault(index, []).append(
                    load(target, seconds, args.connections, tool))
    finally:
        clean = [stop_server(t.process) if t.process else False for t in targets]
    figures = []
    for index, target in enumerate(targets):
        runs_of = samples.get(index, [])
        figures.append(Figure(
            target.server, target.label, round(median([r[0] for r in runs_of])),
            median([r[1] for r in runs_of if r[1] is not None] or [0.0]),
            median([r[2] for r in runs_of if r[2] is not None] or [0.0]),
            sum(r[3] for r in runs_of), tool, clean[index]))
    if args.json:
        print(json.dumps([asdict(f) for f in figures], indent=2))
        return 0
    print(f"{rounds} interleaved rounds of {seconds} s, {args.connections} connections, "
          f"{tool}; medians")
    print(f"{'server':8} {'app':24} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} clean_exit")
    for f in figures:
        print(f"{f.server:8} {f.app:24} {f.requests_per_second:>8} {f.p50_ms!s:>7} "
              f"{f.p99_ms!s:>7} {f.errors:>6} {f.clean_exit}")
    by_key = {(f.server, f.app): f.requests_per_second for f in figures}
    for _, label, *_ in runs:
        if ("uvicorn", label) in by_key and ("granian", label) in by_key:
            ratio = by_key[("granian", label)] / max(1, by_key[("uvicorn", label)])
            print(f"granian / uvicorn, {label}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
