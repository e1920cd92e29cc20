"""What refusing revoked tokens costs each authenticated request.

    .venv/bin/python -m bench.token_revocation [--requests 2000] [--rounds 7] [--concurrency 32]

One process, one fresh migrated database (``DATABASE_URL`` or ``DANVAN_BENCH_DATABASE_URL``, a
role that may create databases), one store: the same app built twice, with the credentials
generation check (``backend/auth/credentials.py``) and without it (``generations=None``), both
serving ``GET /api/v1/bench/ping`` behind the bearer token middleware. The apps are called
directly as ASGI callables (no server, no sockets: what differs is all that is timed), in
interleaved rounds, first one at a time (latency: wall and this process's CPU per request),
then ``--concurrency`` requests in flight (throughput). Medians of the rounds are printed.

Measured on the shared 2-core machine (uvloop, PostgreSQL 15 on loopback TCP, December 2026),
with other helpers' test suites beside it (load average about 2), 3 rounds of 1,000:

- one at a time: the bare ping costs 43-71 us of wall and CPU time; the check adds 255-280 us
  of wall and 195-235 us of this process's CPU. About 100 us of that is the lookup itself
  (psycopg on a pooled connection, measured alone); the rest is the request leaving the
  event loop's turn, which the bare ping never does (a real handler does anyway).
- 32 in flight: 0.84-0.86 of the bare ping's throughput (12,200-14,900 against
  14,600-17,400 req/s); with one query per request instead of shared ones it was 0.15-0.17.
- With the load average at 6-16 the wall figures spread to milliseconds, the added CPU to
  250-600 us and the throughput ratio to 0.4-0.6: re-measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar

from bench.commands import bench_database
from bench.ping_app import ping
from danvan.backend.app import HttpOptions, create_app
from danvan.backend.auth.tokens import issue_token
from danvan.backend.wiring import build
from danvan.domain.base import Actor, Context
from danvan.domain.commands import ChangeGrants, RegisterUser
from danvan.domain.policies import RoleGrant, province_scope
from danvan.domain.users import User

PATH = "/api/v1/bench/ping"


def _context() -> Context:
    return Context(tenant_id=province_scope("15"), actor=Actor("system", "system"),
                   at=datetime.now(UTC), correlation_id="bench")


async def _call(app: Litestar, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": PATH, "raw_path": PATH.encode(),
             "root_path": "", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {}}
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)  # type: ignore[arg-type]
    return status


async def _sequential(app: Litestar, headers: list[tuple[bytes, bytes]], n: int
                      ) -> tuple[float, float]:
    """Wall and CPU microseconds per request, one request at a time."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        if await _call(app, headers) != 200:
            raise RuntimeError("the ping was refused")
    return ((time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6)


async def _concurrent(app: Litestar, headers: list[tuple[bytes, bytes]], n: int,
                      concurrency: int) -> float:
    """Requests per second with ``concurrency`` in flight."""
    remaining = n

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            if await _call(app, headers) != 200:
                raise RuntimeError("the ping was refused")

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


async def _measure(apps: dict[str, Litestar], headers: list[tuple[bytes, bytes]],
                   requests: int, rounds: int, concurrency: int) -> dict[str, dict[str, float]]:
    samples: dict[str, dict[str, list[float]]] = {
        name: {"wall_us": [], "cpu_us": [], "rps": []} for name in apps}
    for app in apps.values():  # warm up: caches, prepared statements, pools
        await _sequential(app, headers, 200)
    names = list(apps)
    for round_ in range(rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            wall, cpu = await _sequential(apps[name], headers, requests)
            samples[name]["wall_us"].append(wall)
            samples[name]["cpu_us"].append(cpu)
        for name in order:
            rps = await _concurrent(apps[name], headers, requests, concurrency)
            samples[name]["rps"].append(rps)
    return {name: {k: statistics.median(v) for k, v in s.items()}
            for name, s in samples.items()}


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    with bench_database() as settings:
        services = build(settings, redis=None)
        try:
            store = services.store
            assert store is not None and services.generations is not None
            user = User.register(_context(), RegisterUser(
                username="bench.user", password_hash="-", full_name="Bench",
                grants=(RoleGrant("province_admin", "15"),)))
            user.change_grants(_context(), ChangeGrants(
                grants=(RoleGrant("province_analyst", "15"),)))
            store.save(user)  # a user with a row: the lookup finds one
            token = issue_token(user_id=str(user.id), username=user.username,
                                grants=user.grants, secret=settings.secret_key,
                                lifetime_seconds=3600, generation=user.credentials_generation)
            headers = [(b"authorization", f"Bearer {token}".encode())]
            options = HttpOptions(access_log=False)
            apps = {
                "without check": create_app(settings, services=replace(services,
                                                                       generations=None),
                                            controllers=[ping], options=options),
                "with check": create_app(settings, services=services, controllers=[ping],
                                         options=options),
            }
            async with apps["without check"].lifespan(), apps["with check"].lifespan():
                figures = await _measure(apps, headers, args.requests, args.rounds,
                                         args.concurrency)
        finally:
            services.close()
    base, checked = figures["without check"], figures["with check"]
    return {"requests": args.requests, "rounds": args.rounds,
            "concurrency": args.concurrency, **figures,
            "added_wall_us": checked["wall_us"] - base["wall_us"],
            "added_cpu_us": checked["cpu_us"] - base["cpu_us"],
            "throughput_ratio": checked["rps"] / base["rps"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:  # the loop the servers run on when it is installed
        import uvloop

        result = uvloop.run(_run(args))
    except ImportError:
        result = asyncio.run(_run(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name in ("without check", "with check"):
        f = result[name]
        print(f"{name:>14}: {f['wall_us']:7.1f} us wall, {f['cpu_us']:7.1f} us CPU per request "
              f"(one at a time); {f['rps']:8.0f} req/s with {args.concurrency} in flight")
    print(f"{'added':>14}: {result['added_wall_us']:7.1f} us wall, "
          f"{result['added_cpu_us']:7.1f} us CPU per request; throughput x "
          f"{result['throughput_ratio']:.2f}")


if __name__ == "__main__":
    main()
