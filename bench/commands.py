"""``danvan bench commands``: the command API under load, against the event store's own save.

    danvan bench commands [--seconds 30] [--clients 16] [--rounds 3] [--workers N]
                          [--server granian|uvicorn] [--json]

1. A fresh database on the cluster of ``$DANVAN_BENCH_DATABASE_URL`` (else ``$DATABASE_URL``,
   else ``postgresql://postgres@127.0.0.1:5432/postgres``; the role needs CREATEDB), migrated
   with ``danvan.infra.migrations.migrate``, dropped at the end.
2. The real app, served by ``danvan serve --server granian`` (its default workers: one per core,
   or ``--workers``) in a subprocess on a
   free loopback port (production wiring from the environment: its pools and executor, token
   cache, access log to /dev/null; no ``REDIS_URL``, since Redis holds nothing but login rate
   limits, which then live in the server's memory, fresh each run). A province admin is saved
   in the store; tenants (from the official catalogue: 2, 8 or 16 by ``--scale``), one unit
   and one unit user per client are set up through the API, tokens from ``/auth/token``.
3. ``--rounds`` interleaved rounds (drift on a shared machine then hits both sides) of
   - the baseline, in this process: ``--clients`` threads register a ``Model`` with the domain
     and ``EventStore.save`` it, submit it and save again; no HTTP and no reads; the store is
     the app's (``open_event_store``, same settings, so the same pool) but saves the library's
     way, one transaction each (the app's group commit off);
   - the HTTP load: ``--clients`` clients, each with its own keep-alive connection and token
     (``bench.load_client``, all on one asyncio loop: the load generator shares the machine),
     register a model and submit it, again and again; a command counts when it answered 2xx
     inside the window (``--warmup`` seconds of load come first, not counted).
   Each side gets ``--seconds`` in all.

Figures: HTTP commands/s ÷ saves/s (target ≥ 0.70); per-command latency p50 and p99 beside one
save's (target p99 < 50 ms); CPU per command of the server (all its processes) beside the
baseline's CPU per save, and of the load generator, which shares the machine; failed requests
(target 0). With ``--projector``, the projector's live runner follows the database all along
(a child process, as ``danvan projector`` runs beside the server) and the lag from each HTTP
command's answer (its ``Danvan-Position``) to the runner's commit of the batch holding that
event is reported (target p99 < 100 ms); the runner's CPU then comes out of the same two cores,
so its throughput figures are not the ones above.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.cluster import admin_url
from bench.cpu import each_process_cpu, spent_since
from bench.registry import Figure
from bench.serving import HOST, Served, danvan_serve

if TYPE_CHECKING:  # every `danvan` invocation imports this module: heavy imports go inside
    import httpx

    from danvan.domain.base import Context
    from danvan.infra.settings import Settings

DESCRIPTION = ("The command API under load (register + submit) against EventStore.save of the "
               "same aggregate without HTTP, measured in the same run.")
PROVINCE = "15"
TENANTS_BY_SCALE = {"small": 2, "province": 8, "national": 16}
RATIO_TARGET = 0.70
P99_TARGET_MS = 50.0
_POSITION = re.compile(rb"(?im)^danvan-position:\s*(\d+)\s*$")
LAG_TARGET_MS = 100.0
FORM_TEXT = {
    "field": "economy", "kind": "collective",
    "problem": "Đường liên thôn xuống cấp", "goals": "Bê tông hóa 2 km đường",
    "content": "Vận động Nhân dân hiến đất, góp công", "area": "Tổ dân phố 5",
    "implementers": "Chi bộ tổ dân phố 5", "resources": "Nhân dân đóng góp",
    "outputs": "2 km đường bê tông", "sustainability": "Tổ tự quản duy trì",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="measured seconds of each phase (default 30)")
    parser.add_argument("--clients", type=int, default=16,
                        help="concurrent HTTP clients, and threads of the baseline (default 16)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of HTTP load before measuring, not counted (default 2)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="the seconds are split in this many baseline/HTTP rounds, "
                             "interleaved (default 3)")
    parser.add_argument("--server", choices=("granian", "uvicorn"), default="granian",
                        help="the ASGI server danvan serve runs (default granian)")
    parser.add_argument("--workers", type=int, default=None,
                        help="server worker processes (default: danvan serve's, one per core)")
    parser.add_argument("--projector", action="store_true",
                        help="also run the projector (``danvan projector``'s live runner) on "
                             "the database and report how far behind the commands it follows")


# --- measuring ---------------------------------------------------------------------------

@dataclass
class Samples:
    """Successful operations in a window: their count and latencies (seconds)."""

    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds spent meanwhile, by process (``bench``, ``server``)."""
    answered: list[tuple[int, float]] = field(default_factory=list)
    """``(Danvan-Position, time.time())`` of every successful command, in the window or not:
    when its answer arrived, the position of its last event."""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def merge(self, other: Samples) -> None:
        self.elapsed += other.elapsed
        self.latencies.extend(other.latencies)
        self.failures.update(other.failures)
        self.answered.extend(other.answered)
        for process, seconds in other.cpu.items():
            self.cpu[process] = self.cpu.get(process, 0.0) + seconds

    def cpu_ms_each(self, process: str) -> float:
        """CPU milliseconds of ``process`` per successful operation."""
        return self.cpu.get(process, 0.0) * 1000 / len(self.latencies) if self.latencies \
            else float("nan")


def in_threads(n: int, work: Callable[[int, float, float], Samples], seconds: float,
               warmup: float = 0.0) -> Samples:
    """``work(i, window_start, window_end)`` on ``n`` threads started together; merged."""
    results: list[Samples] = [Samples() for _ in range(n)]
    barrier = threading.Barrier(n + 1)
    window: list[float] = []

    def thread(i: int) -> None:
        barrier.wait()
        results[i] = work(i, window[0], window[1])

    threads = [threading.Thread(target=thread, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    start = time.perf_counter() + warmup
    window.extend((start, start + seconds))
    barrier.wait()
    for t in threads:
        t.join()
    merged = Samples()
    for result in results:
        merged.merge(result)
    merged.elapsed = seconds
    return merged


def context(tenant_id: str, role: str = "unit_user") -> Context:
    from danvan.domain.base import Actor, Context

    return Context(tenant_id=tenant_id, actor=Actor(user_id="bench", role=role),
                   at=datetime.now(UTC), correlation_id=uuid.uuid4().hex,
                   request_id=uuid.uuid4().hex)


def this_year() -> int:
    from danvan.domain.clock import vietnam_date

    return vietnam_date(datetime.now(UTC)).year


def form(year: int) -> dict[str, Any]:
    return {**FORM_TEXT, "start_date": f"{year}-03-01", "end_date": f"{year}-12-31"}


# --- the database ----------------------------------------------------------------------------

@contextmanager
def bench_database() -> Iterator[Settings]:
    """Settings of a fresh, migrated database (and data folder), both removed on exit."""
    from psycopg import sql

    from danvan.infra.database import ConnParams, connect
    from danvan.infra.migrations import migrate
    from danvan.infra.settings import Settings

    admin = ConnParams.from_url(admin_url())
    name = f"danvan_bench_{secrets.token_hex(4)}"
    data_dir = Path(tempfile.mkdtemp(prefix="danvan-bench-"))
    with connect(admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        settings = Settings(env="development", database_url=admin.with_dbname(name).url(
                                password=True),
                            secret_key=secrets.token_urlsafe(48),
                            data_dir=data_dir)
        migrate(settings)
        yield settings
    finally:
        with connect(admin) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
        shutil.rmtree(data_dir, ignore_errors=True)


# --- the baseline: the library's own save, no HTTP -------------------------------------------

@contextmanager
def raw_writer(settings: Settings) -> Iterator[Callable[[int, float], Samples]]:
    """``saves(threads, seconds)``: register + save, submit + save of ``Model`` aggregates
    on ``threads`` threads, for ``seconds``, with the app's event store and settings except
    group commit: each save is the library's own transaction."""
    from danvan.domain.commands import AddUnit, RegisterModel, RegistrationForm, SubmitModel
    from danvan.domain.model import Model
    from danvan.domain.registration_form import Field, ModelKind
    from danvan.domain.units import Unit, UnitKind
    from danvan.infra.event_store import open_event_store

    texts: dict[str, Any] = {k: v for k, v in FORM_TEXT.items() if k not in ("field", "kind")}

    # The library's own path: one transaction and one commit per save, no group commit.
    store = open_event_store(replace(settings, db_group_commit=False))
    try:
        tenant_id = str(uuid.uuid4())
        unit = Unit.add(context(tenant_id, "tenant_admin"),
                        AddUnit("Chi bộ đo đạc", UnitKind("party_cell")))
        store.save(unit)
        year = this_year()
        rounds = itertools.count(1)

        def saves(threads: int, seconds: float) -> Samples:
            round_ = next(rounds)

            def work(i: int, start: float, end: float) -> Samples:
                samples = Samples()
                n = 0
                while time.perf_counter() < end:
                    n += 1
                    model = Model.register(context(tenant_id), unit, RegisterModel(
                        str(unit.id), year, f"Mô hình đo đạc {round_}-{i}-{n}",
                        ModelKind(FORM_TEXT["kind"]), Field(FORM_TEXT["field"]),
                        RegistrationForm(**texts, start_date=date(year, 3, 1),
                                         end_date=date(year, 12, 31))))
                    for step in range(2):
                        if step:
                            model.handle(SubmitModel(), context(tenant_id))
                        began = time.perf_counter()
                        store.save(model)
                        done = time.perf_counter()
                        if began >= start and done <= end:
                            samples.latencies.append(done - began)
                return samples

            return in_threads(threads, work, seconds)

        yield saves
    finally:
        store.close()


# --- the real app ----------------------------------------------------------------------------

@contextmanager
def served(settings: Settings, server: str, workers: int | None = None) -> Iterator[Served]:
    """``danvan serve`` on the bench database, as in development, without Redis: it holds
    nothing but login rate limits (commands never touch it), which then live in the server's
    memory, fresh each run, so runs in a row are not rate limited."""
    env = {**os.environ, "DATABASE_URL": str(settings.database_url),
           "DANVAN_SECRET_KEY": settings.secret_key, "DANVAN_ENV": "development",
           "DANVAN_DATA_DIR": str(settings.data_dir)}
    env.pop("REDIS_URL", None)
    with danvan_serve(env, server=server, workers=workers) as serving:
        yield serving


@dataclass(frozen=True)
class Client:
    tenant_id: str
    unit_id: str
    headers: dict[str, str]


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: "
                           f"{response.status_code} {response.text[:500]}")
    body = response.json()
    assert isinstance(body, dict)
    return body


def set_up(base: str, settings: Settings, clients: int, tenants: int) -> list[Client]:
    """A province admin in the store; tenants, units and unit users through the API."""
    import httpx

    from danvan.backend.auth.passwords import hash_password
    from danvan.backend.services.people import NewUser, create_user, province_grants
    from danvan.domain.policies import Role, province_scope
    from danvan.infra.catalogue import official_catalogue
    from danvan.infra.event_store import open_event_store

    run = secrets.token_hex(3)
    password = secrets.token_urlsafe(16)
    store = open_event_store(settings)
    try:
        create_user(store, context(province_scope(PROVINCE), "system"),
                    NewUser(f"bench.admin.{run}", password, "Đo đạc", [Role.PROVINCE_ADMIN]),
                    province_grants(PROVINCE, [Role.PROVINCE_ADMIN], None), hash_password)
    finally:
        store.close()
    codes = [u.code for u in official_catalogue().units_of(PROVINCE)][:tenants]
    with httpx.Client(base_url=base + "/api/v1", timeout=60, verify=False) as http:
        def login(username: str) -> dict[str, str]:
            token = _ok(http.post("/auth/token", json={"username": username,
                                                       "password": password}), 200)
            return {"Authorization": f"Bearer {token['access_token']}"}

        def user(tenant_id: str, creator: dict[str, str], username: str, role: str,
                 **extra: str) -> dict[str, str]:
            _ok(http.post(f"/tenants/{tenant_id}/users", headers=creator, json={
                "username": username, "password": password, "full_name": "Cán bộ",
                "roles": [role], **extra}))
            return login(username)

        province = login(f"bench.admin.{run}")
        made: list[tuple[str, dict[str, str]]] = []
        for code in codes:
            tenant_id = str(_ok(http.post("/tenants", headers=province,
                                          json={"code": code}))["id"])
            made.append((tenant_id, user(tenant_id, province, f"admin.{code}.{run}",
                                         "tenant_admin")))
        result = []
        for i in range(clients):
            tenant_id, tenant_admin = made[i % len(made)]
            unit = str(_ok(http.post(f"/tenants/{tenant_id}/units", headers=tenant_admin,
                                     json={"name": f"Chi bộ thôn {i + 1}",
                                           "kind": "party_cell"}))["id"])
            headers = user(tenant_id, tenant_admin, f"bi.thu.{i + 1}.{run}", "unit_user",
                           unit_id=unit)
            result.append(Client(tenant_id, unit, headers))
    return result


def http_commands(base: str, clients: list[Client], seconds: float, warmup: float = 0.0,
                  label: str = "", rate: float | None = None) -> Samples:
    """Each client registers a model and submits it, over and over, on its own keep-alive
    connection; all clients on one asyncio loop (``bench.load_client``), so the load costs the
    shared machine little CPU. ``rate``: commands per second in all, evenly paced (a client
    late for its slot goes at once, without catching up), else as fast as answered."""
    import asyncio
    import json
    from urllib.parse import urlsplit

    from bench.load_client import KeepAlive

    year = this_year()
    address = urlsplit(base)
    host, port = address.hostname or HOST, address.port or 80
    start = time.perf_counter() + warmup
    end = start + seconds
    results = [Samples() for _ in clients]

    gap = len(clients) / rate if rate else 0.0

    async def client(i: int) -> None:
        me, samples = clients[i], results[i]
        models = f"/api/v1/tenants/{me.tenant_id}/models"
        headers = {**me.headers, "Content-Type": "application/json"}
        connection = await KeepAlive.open(host, port)
        slot = [time.perf_counter() + gap * i / len(clients)]

        async def command(path: str, body: dict[str, Any]) -> bytes | None:
            """The response body if it succeeded; counted when inside the window."""
            if gap:
                await asyncio.sleep(max(0.0, slot[0] - time.perf_counter()))
                slot[0] = max(slot[0], time.perf_counter() - gap) + gap
            began = time.perf_counter()
            answer: bytes | None = None
            try:
                status, content = await connection.send("POST", path, headers,
                                                        json.dumps(body).encode())
                failure = "" if 200 <= status < 300 else str(status)
                answer = None if failure else content
                position = _POSITION.search(connection.head)
                if position is not None:
                    samples.answered.append((int(position.group(1)), time.time()))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                failure = type(exc).__name__
            done = time.perf_counter()
            if began >= start and done <= end:
                if failure:
                    samples.failures[failure] += 1
                else:
                    samples.latencies.append(done - began)
            return answer

        try:
            n = 0
            while time.perf_counter() < end:
                n += 1
                created = await command(models, {"unit_id": me.unit_id, "year": year,
                                                 "name": f"Mô hình {label}{i + 1}-{n}",
                                                 **form(year)})
                if created is not None:
                    await command(f"{models}/{json.loads(created)['id']}/submit", {})
        finally:
            connection.close()

    async def everyone() -> None:
        await asyncio.gather(*(client(i) for i in range(len(clients))))

    asyncio.run(everyone())
    merged = Samples()
    for result in results:
        merged.merge(result)
    merged.elapsed = seconds
    return merged


# --- the projector following the load ------------------------------------------------------

@contextmanager
def projector_following(settings: Settings) -> Iterator[tuple[list[tuple[int, float]],
                                                              dict[str, float]]]:
    """The projector's live runner on the bench database while the block runs. It yields a
    list for the block to fill with its commands' ``(Danvan-Position, answered at)``
    (``Samples.answered``) and a dict that holds, once the block is over, p50/p99 ms from
    each answer to the runner's commit of the batch holding its event: how long a client
    reading its own write waits. (Nothing else watches the log meanwhile: a listener of its
    own would cost the shared machine a query per commit.)"""
    from bench.projections import lag_figures, live_runner_commits, start_live_runner

    url = str(settings.database_url)
    process = start_live_runner(url, batch_size=20_000, seconds=3600)
    answered: list[tuple[int, float]] = []
    lag: dict[str, float] = {}
    try:
        backends = _projector_backends(url)
        before = each_process_cpu([process.pid, *backends])
        yield answered, lag
        time.sleep(1.0)  # the last commands' batches
        cpu = spent_since(before, before)
    finally:
        commits = live_runner_commits(process, timeout=60, stop=True)
    lag.update(lag_figures(sorted(answered), commits))
    if len(commits) > 1:
        events = commits[-1][0] - commits[0][0]
        lag["cpu_us_per_event"] = cpu / max(events, 1) * 1e6
        lag["batches_per_s"] = len(commits) / max(commits[-1][1] - commits[0][1], 1e-9)


def _projector_backends(url: str) -> list[int]:
    """The live runner's database backends (its own connection; LISTEN and batches)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'danvan-projector'")]


# --- the area --------------------------------------------------------------------------------

def figures(http: Samples, raw: Samples, threads: int,
            lag: dict[str, float] | None = None) -> list[Figure]:
    baseline = f"EventStore.save, {threads} threads, no HTTP"
    return [
        Figure.against("commands.throughput", http.rate, "commands/s", baseline + " (saves/s)",
                       raw.rate, target=f"ratio >= {RATIO_TARGET:.2f}",
                       meets=lambda _value, ratio: ratio >= RATIO_TARGET),
        Figure.against("commands.latency_p50", http.percentile_ms(0.50), "ms",
                       baseline + " (one save, p50)", raw.percentile_ms(0.50)),
        Figure.against("commands.latency_p99", http.percentile_ms(0.99), "ms",
                       baseline + " (one save, p99)", raw.percentile_ms(0.99),
                       target=f"< {P99_TARGET_MS:.0f} ms",
                       meets=lambda value, _ratio: value < P99_TARGET_MS),
        Figure.against("commands.server_cpu", http.cpu_ms_each("server"), "ms/command",
                       baseline + " (its process's CPU, ms/save)", raw.cpu_ms_each("bench")),
        Figure("commands.client_cpu", http.cpu_ms_each("bench"), "ms/command",
               baseline="the load generator's own CPU (same machine)"),
        Figure("commands.failed", float(sum(http.failures.values())), "requests",
               target="0" + (f" (got {dict(http.failures)})" if http.failures else ""),
               met=not http.failures),
        *([Figure.against("projections.live_lag_p99", lag["p99"], "ms",
                          f"live lag p50 (ms), from {lag['events']:,.0f} command answers",
                          lag["p50"], target=f"< {LAG_TARGET_MS:.0f} ms",
                          meets=lambda value, _ratio: value < LAG_TARGET_MS)]
          if lag else []),
        *([Figure("projections.live_cpu", lag["cpu_us_per_event"], "us/event",
                  baseline=f"the live runner and its backends' CPU per event applied, "
                           f"{lag['batches_per_s']:.0f} batches/s")]
          if lag and "cpu_us_per_event" in lag else []),
    ]


def run(args: argparse.Namespace) -> list[Figure]:
    if args.clients < 1 or args.seconds <= 0 or args.rounds < 1:
        raise SystemExit("danvan bench commands: --clients, --seconds, --rounds must be positive")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    chunk = args.seconds / args.rounds
    raw, http = Samples(), Samples()
    lag: dict[str, float] = {}
    with bench_database() as settings, served(settings, args.server, args.workers) as server, \
            raw_writer(settings) as saves, ExitStack() as stack:
        clients = set_up(server.url, settings, args.clients, TENANTS_BY_SCALE[args.scale])
        answered: list[tuple[int, float]] = []
        if args.projector:
            answered, lag = stack.enter_context(projector_following(settings))
        answered.extend(http_commands(server.url, clients, args.warmup, label="warm-"
                                      ).answered)  # not counted
        for round_ in range(args.rounds):  # interleaved: drift on a shared machine hits both
            raw.merge(measured(server, lambda: saves(args.clients, chunk)))
            label = f"r{round_}-"
            http.merge(measured(server, functools.partial(
                http_commands, server.url, clients, chunk, label=label)))
        answered.extend(http.answered)
        stack.close()
    return figures(http, raw, args.clients, lag or None)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection in this process while it measures: a full collection of the
    load generator's heap stalls every client's clock for tens of milliseconds, which would
    show as the server's latency (both sides are measured this way)."""
    import gc

    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def measured(server: Served, phase: Callable[[], Samples]) -> Samples:
    """``phase()`` with the CPU time this process and the server spent meanwhile."""
    bench, served_ = time.process_time(), server.cpu_seconds()
    with collector_paused():
        samples = phase()
    samples.cpu = {"bench": time.process_time() - bench,
                   "server": server.cpu_seconds() - served_}
    return samples
