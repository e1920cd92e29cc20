"""Projector catch-up and the province summary, on a Citus coordinator and on plain
PostgreSQL, in one run (docs/scaling.md, "Citus"). Lab use only, not part of ``make test``.

    .venv/bin/python infra/deploy/citus/measure.py \\
        --citus postgresql://postgres@127.0.0.1:5440/danvan_citus \\
        --plain postgresql://postgres@127.0.0.1:5432/danvan_citus_plain --rounds 2

Both databases hold the same events (``danvan bench data --events N`` with the same seed).
Each round, for each database: drop the read models and make them again (empty), on Citus
place them with distribute.sql, then time one runner's catch-up from position 0 (the
projector's own code, batches of --batch-size), then time the province summary (the SQL
the GraphQL resolvers run uncached, as the application's role, scoped to the province).

CPU is counted per PostgreSQL instance from /proc: the live backends' time plus what the
postmaster has reaped from exited ones, before and after. The Citus cluster's instances run
only this; the plain server may be shared, so there only this database's ``danvan*``
backends are sampled (as bench/projections.py does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from bench.projections import BackendCpu  # noqa: E402  (after the path above)

HERE = Path(__file__).resolve().parent
PSQL = "/usr/lib/postgresql/15/bin/psql"
CITUS_DATA = Path(os.environ.get("CITUS_DATA", "/work/wt/citus-data"))
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def instance_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL instance so far: postmaster, its live children, and the
    exited children it has reaped."""
    fields = _stat(postmaster)
    total = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = _stat(int(entry.name))
        except OSError:
            continue
        if int(child[1]) == postmaster:  # ppid
            total += int(child[11]) + int(child[12])
    return total / TICK


def citus_postmasters() -> dict[str, int]:
    found = {}
    for node in ("coordinator", "worker1", "worker2"):
        pid_file = CITUS_DATA / node / "postmaster.pid"
        if pid_file.exists():
            found[node] = int(pid_file.read_text().split()[0])
    return found


def settings_for(url: str) -> Any:
    from danvan.infra.settings import Settings

    return Settings(env="test", database_url=url)


def reset_read_models(url: str, citus: bool, shard_count: int | None = None) -> None:
    from danvan.projections.schema import ensure_read_models, versions

    with psycopg.connect(url, autocommit=True) as conn:
        for version in versions(conn):
            conn.execute(f'DROP SCHEMA IF EXISTS "{version.schema}" CASCADE')
        conn.execute("DELETE FROM public.danvan_projection_versions")
        conn.execute("DELETE FROM public.danvan_projections")
        ensure_read_models(conn, settings_for(url).app_db_role)
    if citus:
        info = psycopg.conninfo.conninfo_to_dict(url)
        subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(info["host"]),
                        "-p", str(info["port"]), "-U", str(info["user"]),
                        "-d", str(info["dbname"]),
                        *(["-v", f"shard_count={shard_count}"] if shard_count else []),
                        "-f", str(HERE / "distribute.sql")],
                       check=True, stdout=subprocess.DEVNULL)


def catch_up(url: str, batch_size: int, citus: bool) -> dict[str, float]:
    from danvan.projections.embedded import make_runner

    runner = make_runner(settings_for(url), batch_size=batch_size)
    before = {n: instance_cpu(p) for n, p in citus_postmasters().items()} if citus else {}
    with BackendCpu(url) as sampled:
        started, cpu = time.perf_counter(), time.process_time()
        events = runner.catch_up()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    runner.close()
    result = {"events": float(events), "seconds": seconds, "python_cpu": cpu}
    if citus:
        for node, pid in citus_postmasters().items():
            result[f"{node}_cpu"] = instance_cpu(pid) - before[node]
        result["server_cpu"] = sum(result[f"{n}_cpu"] for n in before)
    else:
        result["server_cpu"] = sum(sampled.seconds.values())
    return result


def summary_reader(province: str, year: int) -> Any:
    """The province summary as the resolvers compute it uncached, scoped as ``scoped()``
    scopes it, plus what distribute.sql's policies need on Citus: the scope worked out once
    on the coordinator and sent with SET LOCAL danvan.scope (which Citus propagates to the
    workers; set_config() is not propagated). The extra setting is unused on plain
    PostgreSQL, whose policies read the scope themselves."""
    from psycopg import sql

    from danvan.projections.models.read import province_figures

    def read(conn: psycopg.Connection[Any]) -> object:
        with conn.transaction():
            row = conn.execute(
                "SELECT set_config('danvan.tenant_ids', '', true), "
                "set_config('danvan.province_codes', %s, true), "
                "array_to_string(danvan_read.scope(), ',')", (province,)).fetchone()
            assert row is not None
            conn.execute(sql.SQL("SET LOCAL danvan.scope = {}").format(sql.Literal(row[2])))
            return province_figures(conn, province, year).summary()

    return read


def tenant_reader(tenant_id: str, year: int) -> Any:
    """One tenant's quota for ``year`` (what a commune's page reads), scoped to that tenant:
    on Citus every statement names the tenant, so each goes to one worker."""
    from psycopg import sql

    from danvan.projections.directory.read import tenants_by_id
    from danvan.projections.models.read import quotas

    def read(conn: psycopg.Connection[Any]) -> object:
        with conn.transaction():
            conn.execute("SELECT set_config('danvan.tenant_ids', %s, true), "
                         "set_config('danvan.province_codes', '', true)", (tenant_id,))
            conn.execute(sql.SQL("SET LOCAL danvan.scope = {}").format(sql.Literal(tenant_id)))
            return quotas(conn, list(tenants_by_id(conn, [tenant_id]).values()), year)

    return read


def summary_latency(url: str, province: str, year: int, seconds: float,
                    what: str = "summary") -> dict[str, Any]:
    from danvan.infra.database import app_params

    if what == "summary":
        read = summary_reader(province, year)
    else:
        with psycopg.connect(url) as owner:
            row = owner.execute("SELECT min(tenant_id) FROM danvan_read.tenants "
                                "WHERE province_code = %s", (province,)).fetchone()
        assert row is not None and row[0] is not None
        read = tenant_reader(str(row[0]), year)
    samples: list[float] = []
    with psycopg.connect(app_params(settings_for(url)).conninfo(), autocommit=True,
                         prepare_threshold=None) as conn:
        first = read(conn)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline or len(samples) < 20:
            started = time.perf_counter()
            read(conn)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50": statistics.median(samples), "p95": samples[int(len(samples) * 0.95) - 1],
            "n": len(samples), "summary": repr(first)}


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT quote_ident(c.relnamespace::regnamespace::text) || '.' || "
            "quote_ident(c.relname) FROM pg_class c JOIN public.danvan_projection_versions v "
            "ON v.schema_name = c.relnamespace::regnamespace::text AND v.status = 'active' "
            "WHERE c.relkind IN ('r', 'p') ORDER BY 1").fetchall()
        return {str(t): int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
                for (t,) in tables}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--citus", required=True)
    parser.add_argument("--plain", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--province", default="15")
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--shard-count", type=int, default=None,
                        help="shards per distributed table (default: citus.shard_count, 32)")
    args = parser.parse_args()

    targets = (("plain", args.plain, False), ("citus", args.citus, True))
    for round_ in range(1, args.rounds + 1):
        for label, url, citus in targets:
            reset_read_models(url, citus, args.shard_count)
            run = catch_up(url, args.batch_size, citus)
            rate = run["events"] / run["seconds"]
            cpu = " ".join(f"{k}={v:.1f}s" for k, v in run.items() if k.endswith("_cpu"))
            print(f"round {round_} {label}: catch-up {run['events']:,.0f} events in "
                  f"{run['seconds']:.1f} s = {rate:,.0f} events/s; CPU {cpu}; "
                  f"server CPU/event {run['server_cpu'] / run['events'] * 1e6:.0f} us, "
                  f"Python CPU/event {run['python_cpu'] / run['events'] * 1e6:.0f} us",
                  flush=True)
            lat = summary_latency(url, args.province, args.year, args.seconds)
            print(f"round {round_} {label}: province {args.province} summary p50 "
                  f"{lat['p50']:.2f} ms, p95 {lat['p95']:.2f} ms ({lat['n']} reads)",
                  flush=True)
            if round_ == 1:
                print(f"  summary: {lat['summary'][:400]}", flush=True)
            one = summary_latency(url, args.province, args.year, args.seconds, "tenant")
            print(f"round {round_} {label}: one tenant's quota p50 {one['p50']:.2f} ms, "
                  f"p95 {one['p95']:.2f} ms ({one['n']} reads)", flush=True)
    plain, citus_counts = table_counts(args.plain), table_counts(args.citus)
    same = plain == citus_counts
    print(f"read-model row counts identical: {same}")
    if not same:
        for table in sorted(set(plain) | set(citus_counts)):
            if plain.get(table) != citus_counts.get(table):
                print(f"  {table}: plain {plain.get(table)} citus {citus_counts.get(table)}")


if __name__ == "__main__":
    main()
