"""``danvan bench graphql``: the province summary and a 100-row quota page through the real
server (``danvan serve``, production mode, bearer token), beside the same figures read with
raw SQL in the same run.

The data set comes from the projections' generator (``bench.data_generator``: tenants from the
official catalogue, their units, users, targets and models through their lifecycle), in a
database of its own, ``danvan_bench_graphql_<N>`` on the DATABASE_URL server, with the read
models caught up; it is kept for the next run (``--fresh`` rebuilds it). The whole catalogue
(34 provinces, 3,321 tenants, five years to today) gives about 10.3 million events, so
``--scale national`` (10 million asked) stops a little short of the last tenants.

Figures, each beside its raw-SQL baseline (the SQL the resolvers run when nothing is cached,
one connection per client, in this process): latency p50/p95 at one client (``wrk -c1``) and
throughput at ``--clients`` (``wrk``), for the server as deployed (province figures and whole
answers cached while the read models stand still), then executing every request (answers not
cached: Strawberry runs, the figures come from their cache), then computing every request (no
cache: what the first caller after a projector batch waits), then as deployed again while
unit users of other tenants of the same province register and submit models at
``--write-rate`` commands/s (``bench.commands``'s client) and the projector's live runner
applies them beside the server, so the province's figures move all along (in a copy of the
data set, dropped after: the data set stays as built). Targets: summary p95 < 10 ms, page p95
< 20 ms (as deployed, computed, and as deployed under the writes), >= 800 summaries/s at 16
clients, GraphQL within 3x raw SQL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.cluster import admin_url
from bench.registry import Figure
from bench.serving import Served, danvan_serve

DESCRIPTION = "GraphQL read API: province summary and quota page against raw SQL"
EVENTS = {"small": 20_000, "province": 200_000, "national": 10_000_000}
WRITE_RATE = 50.0
WRITERS = 8
"""Unit users (of as many tenants of the province) writing during the phase with writes."""
SECRET = "bench-graphql-secret-key-of-enough-length"
ROOT = Path(__file__).resolve().parent.parent

SUMMARY = """query Summary($code: ID!, $year: Int!) { province(code: $code) {
  summary(year: $year) {
    tenantCount newModels recognizedTenantLevel recognizedProvinceLevel tenantsMet tenantsAtRisk
    byField { field newModels recognizedTenantLevel recognizedProvinceLevel }
    progress { participants workdays moneyVnd landM2 } } } }"""
PAGE = """query QuotaPage($code: ID!, $year: Int!) { province(code: $code) {
  quotas(year: $year, first: 100) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node {
      tenant { id code name kind }
      newModels newModelsTarget recognizedTenantLevel recognizedTenantLevelTarget
      recognizedProvinceLevel recognizedProvinceLevelTarget
      unitsWithoutRegistration status atRisk } } } } }"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=None,
                        help="events in the data set (default by --scale: 20k, 200k, 10M)")
    parser.add_argument("--province", default="15", help="province code (default 15)")
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load phase")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--server", choices=("granian", "uvicorn"), default="granian")
    parser.add_argument("--fresh", action="store_true", help="rebuild the data set")
    parser.add_argument("--database", default=None,
                        help="an existing data set's database to read (e.g. a copy of "
                             "danvan_bench_graphql_<N>); never dropped")
    parser.add_argument("--write-rate", type=float, default=WRITE_RATE,
                        help=f"commands/s written during the as-deployed phase with writes "
                             f"(default {WRITE_RATE:g})")


def say(message: str) -> None:
    print(f"bench graphql: {message}", file=sys.stderr, flush=True)


# --- the data set ----------------------------------------------------------------------------

def ensure_data(events: int, *, fresh: bool, database: str | None = None
                ) -> tuple[str, int, int]:
    """URL of the data set's database, its events and tenants (built when missing; read
    models built by older code are rebuilt in place, the events kept). ``database``: an
    existing data set's database, used as it is (never dropped)."""
    import psycopg
    from psycopg import sql

    from danvan.infra.database import ConnParams, connect
    from danvan.infra.migrations import migrate
    from danvan.infra.settings import Settings

    admin = ConnParams.from_url(admin_url())
    name = database or f"danvan_bench_graphql_{events}"
    url = admin.with_dbname(name).url(password=True)
    with connect(admin.with_dbname("postgres")) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone() is not None
    if database is not None and (not exists or fresh or _ready(url) is None):
        raise SystemExit(f"bench graphql: --database {name}: not a data set ready to read "
                         "(and --fresh never rebuilds one named this way)")
    if exists and not fresh:
        ready = _ready(url)
        if ready is not None:
            settings = Settings(env="test", database_url=url)
            say(f"reusing {name}: {ready[0]:,} events, {ready[1]:,} tenants")
            migrate(settings)  # a data set kept from older code lacks the newer migrations
            if _stale(settings):
                _rebuild_stale(settings)
            _catch_up(settings)
            return url, *ready
    with connect(admin.with_dbname("postgres")) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    settings = Settings(env="test", database_url=url)
    _fill(settings, events)
    _catch_up(settings)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        row = conn.execute("SELECT (SELECT count(*) FROM public.danvan_events), "
                           "(SELECT count(*) FROM danvan_read.tenants)").fetchone()
        assert row is not None
        conn.execute("CREATE TABLE public.bench_graphql_ready (events bigint, tenants int)")
        conn.execute("INSERT INTO public.bench_graphql_ready VALUES (%s, %s)", row)
    return url, int(row[0]), int(row[1])


def _ready(url: str) -> tuple[int, int] | None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('public.bench_graphql_ready')").fetchone() \
                in (None, (None,)):
            return None
        row = conn.execute("SELECT events, tenants FROM public.bench_graphql_ready").fetchone()
        return (int(row[0]), int(row[1])) if row else None


def _stale(settings: Any) -> bool:
    from danvan.infra.database import connect_owner
    from danvan.projections.catalog import all_projections
    from danvan.projections.schema import stale

    with connect_owner(settings) as conn:
        return bool(stale(conn, all_projections()))


def _rebuild_stale(settings: Any) -> None:
    """Read models built by older code than this, rebuilt blue/green from the kept events."""
    from danvan.infra.database import owner_params
    from danvan.infra.migrations import migrate
    from danvan.projections.catalog import all_projections
    from danvan.projections.rebuild import rebuild_stale

    migrate(settings)
    done = rebuild_stale(owner_params(settings).conninfo(), all_projections(),
                         app_role=settings.app_db_role)
    say(f"rebuilt read models built by older code: {', '.join(r.name for r in done)}")


def _fill(settings: Any, events: int) -> None:
    from bench.data_generator import write_events
    from danvan.infra.database import connect_owner
    from danvan.infra.event_store import open_event_store
    from danvan.infra.migrations import migrate

    migrate(settings)
    store = open_event_store(settings, "owner")
    started = time.monotonic()
    try:
        with connect_owner(settings) as conn:
            conn.execute("SET synchronous_commit = off")
            stats = write_events(conn, store.mapper, events, progress=lambda n: say(
                f"{n:,} events written ({time.monotonic() - started:.0f} s)")
                if n % 100_000 == 0 else None)
    finally:
        store.close()
    say(f"{stats.events:,} events in {stats.seconds:.0f} s")


def _catch_up(settings: Any) -> None:
    from danvan.infra.database import connect_owner
    from danvan.infra.migrations import migrate
    from danvan.projections.embedded import make_runner
    from danvan.projections.schema import ensure_read_models

    migrate(settings)  # a data set kept from older code lacks the newer migrations
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
    runner = make_runner(settings, batch_size=20_000)
    try:
        applied = runner.catch_up()
    finally:
        runner.close()
    if applied:
        say(f"projector applied {applied:,} events")


# --- the server and the load -----------------------------------------------------------------

@contextmanager
def served(url: str, *, workers: int, server: str, figures_cache: bool = True,
           response_cache: bool = True) -> Iterator[Served]:
    env = {**os.environ, "DATABASE_URL": url, "DANVAN_SECRET_KEY": SECRET,
           "DANVAN_ENV": "production", "DANVAN_LOG_LEVEL": "WARNING",
           "DANVAN_GRAPHQL_FIGURES_CACHE": "on" if figures_cache else "off",
           "DANVAN_GRAPHQL_RESPONSE_CACHE": "on" if response_cache else "off"}
    env.pop("REDIS_URL", None)
    with danvan_serve(env, server=server, workers=workers) as serving:
        yield serving


def token(province: str) -> str:
    from danvan.backend.auth.tokens import issue_token
    from danvan.domain.policies import RoleGrant

    return issue_token(user_id="bench-analyst", username="bench.analyst", secret=SECRET,
                       lifetime_seconds=3600,
                       grants=[RoleGrant(role="province_analyst", province_code=province)])


def check(base: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    answer = httpx.post(f"{base}/graphql", json=body, headers=headers, timeout=120).json()
    if "errors" in answer:
        raise RuntimeError(f"the query failed: {answer['errors']}")
    return answer["data"]


LUA = """wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {{\\"requests\\": %d, \\"micros\\": %d, \\"errors\\": %d, \\"status\\": %d, "
    .. "\\"p50\\": %d, \\"p95\\": %d, \\"p99\\": %d}}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk(base: str, body: dict[str, Any], bearer: str, *, connections: int,
        seconds: float) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) of ``body`` posted by ``connections`` clients."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is needed for the load (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(body=json.dumps(json.dumps(body)), token=bearer))
    try:
        threads = max(1, min(2, connections))
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "-s", script.name, f"{base}/graphql"],
            capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    found = json.loads(line[len("WRKJSON "):])
    if found["errors"] or found["status"]:
        raise RuntimeError(f"wrk saw errors: {found}")
    return {"rate": found["requests"] / (found["micros"] / 1e6), "p50": found["p50"] / 1000,
            "p95": found["p95"] / 1000, "p99": found["p99"] / 1000}


# --- reading while others write ----------------------------------------------------------------

@contextmanager
def writable_copy(url: str, *, attempts: int = 60) -> Iterator[str]:
    """A copy of the data set for the phase that writes, so that the data set itself stays as
    built (for the next run, and for whoever else reads it): ``CREATE DATABASE ... TEMPLATE``,
    tried again while someone is connected to the data set; dropped at the end."""
    from psycopg import errors, sql

    from danvan.infra.database import ConnParams, connect

    source = ConnParams.from_url(url)
    name = f"{source.dbname}_writes"
    admin = ConnParams.from_url(admin_url()).with_dbname("postgres")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with connect(admin) as conn:
        conn.execute(drop)
        for attempt in range(attempts):
            try:
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(source.dbname)))
                break
            except errors.ObjectInUse:
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
    try:
        yield source.with_dbname(name).url(password=True)
    finally:
        with connect(admin) as conn:
            conn.execute(drop)


def writers(url: str, province: str, count: int) -> list[Any]:
    """Unit users of ``count`` tenants of ``province`` (its last by code: beyond the first
    quota page), each with an open unit of its own: what ``bench.commands`` drives."""
    import psycopg

    from bench.commands import Client
    from danvan.backend.auth.tokens import issue_token
    from danvan.domain.policies import RoleGrant

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (t.code) t.tenant_id, u.unit_id::text "
            "FROM danvan_read.tenants t JOIN danvan_read.units u USING (tenant_id) "
            "WHERE t.province_code = %s AND u.closed_at IS NULL "
            "AND NOT u.reports_to_vertical_line ORDER BY t.code DESC, u.unit_id LIMIT %s",
            (province, count)).fetchall()
    if not rows:
        raise RuntimeError(f"province {province} has no tenant with an open unit to write in")
    return [Client(tenant_id, unit_id, {"Authorization": "Bearer " + issue_token(
        user_id=f"bench-writer-{i}", username=f"bench.writer.{i}", secret=SECRET,
        lifetime_seconds=3600, grants=[RoleGrant(role="unit_user", province_code=province,
                                                 tenant_id=tenant_id, unit_id=unit_id)])})
        for i, (tenant_id, unit_id) in enumerate(rows)]


def under_writes(base: str, url: str, bodies: list[dict[str, Any]], bearer: str, *,
                 province: str, rate: float, seconds: float
                 ) -> tuple[list[dict[str, float]], Any, int]:
    """``wrk -c1`` of each of ``bodies`` in turn while unit users of other tenants of the
    province register and submit models at ``rate`` commands/s (``bench.commands``'s client)
    and the projector's live runner applies them beside the server; the latencies, the
    writes' samples and the runner's batches meanwhile."""
    from bench.commands import http_commands
    from bench.projections import live_runner_commits, start_live_runner

    clients = writers(url, province, WRITERS)
    runner = start_live_runner(url, batch_size=20_000, seconds=3600)
    written: dict[str, Any] = {}
    warmup = 2.0
    window = len(bodies) * (max(1, round(seconds)) + 1.0) + 1.0
    thread = threading.Thread(target=lambda: written.update(samples=http_commands(
        base, clients, window, warmup=warmup, label="read-", rate=rate)), daemon=True)
    try:
        thread.start()
        time.sleep(warmup)
        started = time.time()
        read = [wrk(base, body, bearer, connections=1, seconds=seconds) for body in bodies]
        ended = time.time()
        thread.join()
    finally:
        commits = live_runner_commits(runner, timeout=60, stop=True)
    batches = sum(1 for _, at in commits if started <= at <= ended)
    return read, written.get("samples"), batches


# --- the raw SQL baseline ----------------------------------------------------------------------

def raw_reader(url: str, province: str, year: int, what: str) -> Callable[[Any], object]:
    from danvan.projections.models.quota_page import quota_page
    from danvan.projections.models.read import province_figures
    from danvan.projections.queries import scoped

    def read(conn: Any) -> object:
        with scoped(conn, province_codes=[province]):
            figures = province_figures(conn, province, year)
        return figures.summary() if what == "summary" else quota_page(figures.quotas)

    return read


def raw_connection(conninfo: str) -> Any:
    """A connection of the app's role that prepares what the resolvers' connections prepare
    (``graphql.db``), no more."""
    import psycopg

    from danvan.graphql.db import ONLY_WHEN_ASKED

    return psycopg.connect(conninfo, autocommit=True, prepare_threshold=ONLY_WHEN_ASKED)


def sql_latency(url: str, read: Callable[[Any], object], seconds: float) -> dict[str, float]:
    samples: list[float] = []
    with raw_connection(_app_conninfo(url)) as conn:
        read(conn)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline or len(samples) < 20:
            started = time.perf_counter()
            read(conn)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p95": samples[int(len(samples) * 0.95) - 1],
            "rate": len(samples) / (sum(samples) / 1000)}


def sql_throughput(url: str, read: Callable[[Any], object], clients: int,
                   seconds: float) -> float:
    conninfo = _app_conninfo(url)
    counts = [0] * clients
    deadline = time.monotonic() + seconds

    def client(i: int) -> None:
        with raw_connection(conninfo) as conn:
            while time.monotonic() < deadline:
                read(conn)
                counts[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


def _app_conninfo(url: str) -> str:
    from danvan.infra.database import app_params
    from danvan.infra.settings import Settings

    return app_params(Settings(env="test", database_url=url)).conninfo()


# --- the figures -----------------------------------------------------------------------------

def run(args: argparse.Namespace) -> list[Figure]:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    events = args.events or EVENTS[args.scale]
    url, stored, tenants = ensure_data(events, fresh=args.fresh, database=args.database)
    variables = {"code": args.province, "year": args.year}
    bearer = token(args.province)
    headers = {"Authorization": f"Bearer {bearer}"}
    summary_body = {"query": SUMMARY, "variables": variables}
    page_body = {"query": PAGE, "variables": variables}
    seconds, clients = args.seconds, args.clients
    say(f"{stored:,} events, {tenants:,} tenants; province {args.province}")
    with served(url, workers=args.workers, server=args.server) as server:
        base = server.url
        rows = check(base, headers, page_body)["province"]["quotas"]["totalCount"]
        check(base, headers, summary_body)
        say(f"GraphQL, as deployed: {rows} quota rows; latency and throughput")
        g_summary = wrk(base, summary_body, bearer, connections=1, seconds=seconds)
        g_page = wrk(base, page_body, bearer, connections=1, seconds=seconds)
        g_summary_load = wrk(base, summary_body, bearer, connections=clients, seconds=seconds)
        g_page_load = wrk(base, page_body, bearer, connections=clients, seconds=seconds)
    with served(url, workers=args.workers, server=args.server, response_cache=False) as server:
        base = server.url
        check(base, headers, page_body)
        check(base, headers, summary_body)
        say("GraphQL executing every request (no response cache)")
        x_summary = wrk(base, summary_body, bearer, connections=1, seconds=seconds)
        x_page = wrk(base, page_body, bearer, connections=1, seconds=seconds)
        x_summary_load = wrk(base, summary_body, bearer, connections=clients, seconds=seconds)
    with served(url, workers=args.workers, server=args.server, figures_cache=False,
                response_cache=False) as server:
        base = server.url
        check(base, headers, summary_body)
        check(base, headers, page_body)
        say("GraphQL computing every request (no cache at all)")
        g_cold = wrk(base, summary_body, bearer, connections=1, seconds=seconds)
        g_cold_page = wrk(base, page_body, bearer, connections=1, seconds=seconds)
    write_rate = args.write_rate
    say(f"GraphQL as deployed while {write_rate:g} commands/s go to other tenants of province "
        f"{args.province} (in a copy of the data set)")
    with writable_copy(url) as copy, served(copy, workers=args.workers,
                                             server=args.server) as server:
        base = server.url
        check(base, headers, summary_body)
        check(base, headers, page_body)
        (w_summary, w_page), writes, batches = under_writes(
            base, copy, [summary_body, page_body], bearer, province=args.province,
            rate=write_rate, seconds=seconds)
    say("raw SQL")
    summary_sql = raw_reader(url, args.province, args.year, "summary")
    page_sql = raw_reader(url, args.province, args.year, "page")
    r_summary = sql_latency(url, summary_sql, seconds)
    r_page = sql_latency(url, page_sql, seconds)
    r_summary_load = sql_throughput(url, summary_sql, clients, seconds)
    r_page_load = sql_throughput(url, page_sql, clients, seconds)

    def latency(name: str, value: float, baseline: float, target_ms: float | None) -> Figure:
        target = (f"< {target_ms:g} ms, <= 3x raw SQL" if target_ms else "<= 3x raw SQL")
        what = "summary" if "summary" in name else "quota page"
        pct = "p50" if "p50" in name else "p95"
        return Figure.against(
            f"graphql {name}", value, "ms", f"raw SQL {what} {pct}, 1 client", baseline,
            target, lambda v, r: (target_ms is None or v < target_ms) and r <= 3.0)

    def rate(name: str, value: float, baseline: float, floor: float | None) -> Figure:
        target = (f">= {floor:g}/s, >= 1/3 of raw SQL" if floor else ">= 1/3 of raw SQL")
        return Figure.against(name, value, "req/s", f"raw SQL, {clients} clients", baseline,
                              target, lambda v, r: (floor is None or v >= floor)
                              and r >= 1 / 3)

    return [
        Figure(f"graphql data set (province {args.province}: {rows} tenants)", float(stored),
               "events", "tenants in the data set", float(tenants)),
        latency("summary p50, 1 client", g_summary["p50"], r_summary["p50"], None),
        latency("summary p95, 1 client", g_summary["p95"], r_summary["p95"], 10),
        latency("quota page (100 rows) p50, 1 client", g_page["p50"], r_page["p50"], None),
        latency("quota page (100 rows) p95, 1 client", g_page["p95"], r_page["p95"], 20),
        rate(f"graphql summaries/s at {clients} clients", g_summary_load["rate"],
             r_summary_load, 800),
        rate(f"graphql quota pages/s at {clients} clients", g_page_load["rate"],
             r_page_load, None),
        latency("summary p95, executed (no response cache)", x_summary["p95"],
                r_summary["p95"], 10),
        latency("quota page p95, executed (no response cache)", x_page["p95"],
                r_page["p95"], 20),
        rate(f"graphql summaries/s at {clients} clients, executed (no response cache)",
             x_summary_load["rate"], r_summary_load, 800),
        latency("summary p95, computed (no cache at all)", g_cold["p95"], r_summary["p95"],
                10),
        latency("quota page p95, computed (no cache at all)", g_cold_page["p95"],
                r_page["p95"], 20),
        latency(f"summary p95, as deployed, {write_rate:g} commands/s into the province",
                w_summary["p95"], r_summary["p95"], 10),
        latency(f"quota page p95, as deployed, {write_rate:g} commands/s into the province",
                w_page["p95"], r_page["p95"], 20),
        Figure.against(f"graphql writes meanwhile (into up to {WRITERS} other tenants of "
                       f"province {args.province})",
                       writes.rate if writes else 0.0, "commands/s",
                       "commands/s asked", write_rate, f">= {0.9 * write_rate:g}/s, 0 failed",
                       lambda v, _r: v >= 0.9 * write_rate
                       and not (writes and writes.failures)),
        Figure("graphql projector batches applied meanwhile", float(batches), "batches",
               target=">= 1 (the province's figures moved)", met=batches >= 1),
    ]
