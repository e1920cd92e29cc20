"""``danvan bench projections``: how fast the projector catches up, how much memory it takes,
and how far behind it follows live writers, against the library's own ProjectionRunner
measured in the same run on the same events.

The work happens in a database of its own (``danvan_bench_<N>`` on the DATABASE_URL server),
filled by ``bench.data_generator`` with N realistic events (kept for the next run with
``--reuse``). Each measured runner is a child process, so its peak RSS is its own:

- catch-up: the live runner from position 0, all read models, indexes maintained, batches
  prepared ahead on a second connection;
- rebuild: ``danvan rebuild`` of all read models in one pass (blue/green, secondary indexes
  built at the end);
- baseline: ``eventsourcing.projection.ProjectionRunner`` with an equivalent simple projection
  (count events per tenant and type; one transaction per event, as the library does), over
  the first ``--baseline-events`` events of the same log (it would take hours on a million);
- live lag: a writer appends through the event store (one aggregate per commit) while the
  runner follows; lag = commit of the batch holding an event - commit of the event.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATE = 50_000  # issue 15 (issue 4 asked 25,000/s and 10x)
TARGET_RATIO = 25.0
TARGET_RSS_MB = 300.0


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    baseline: str
    baseline_value: float | None
    ratio: float | None
    target: str
    met: bool | None


# --- the bench database --------------------------------------------------------------------

def bench_database(admin_url: str, events: int, *, reuse: bool,
                   progress: Callable[[str], None],
                   name: str | None = None) -> tuple[str, list[Row]]:
    """URL of a migrated database holding ``events`` generated events (at least, when an
    earlier one is reused); the insert figures when it had to be filled."""
    from danvan.infra.database import ConnParams, connect
    from danvan.infra.migrations import migrate
    from danvan.infra.settings import Settings

    admin = ConnParams.from_url(admin_url)
    name = name or f"danvan_bench_{events}"
    url = admin.with_dbname(name).url(password=True)
    with connect(admin.with_dbname("postgres")) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone()
    if exists and reuse:
        _commit_without_flush(admin, name)
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM public.danvan_events").fetchone()
        if row and row[0] >= events:
            progress(f"reusing {name} ({row[0]:,} events)")
            # a database kept from older code lacks the newer migrations (the shards' table)
            migrate(Settings(env="test", database_url=url))
            return url, []
    with connect(admin.with_dbname("postgres")) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    _commit_without_flush(admin, name)
    settings = Settings(env="test", database_url=url)
    migrate(settings)
    return url, fill(settings, events, progress)


def _commit_without_flush(admin: Any, name: str) -> None:
    """Every runner measured here (ours and the library's) commits without waiting for the
    WAL flush: a lost commit loses its tracking position with it, so it is safe for both, and
    it keeps the comparison about their designs rather than the disk."""
    from danvan.infra.database import connect

    with connect(admin.with_dbname("postgres")) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
            sql.Identifier(name)))


def fill(settings: Any, events: int, progress: Callable[[str], None]) -> list[Row]:
    from bench.data_generator import copy_chunk, write_events
    from danvan.backend.console import ProgressBar
    from danvan.infra.database import connect_owner
    from danvan.infra.event_store import EVENTS_TABLE, open_event_store

    store = open_event_store(settings, "owner")
    bar = ProgressBar("bench data", events)
    try:
        with connect_owner(settings) as conn:
            conn.execute("SET synchronous_commit = off")
            stats = write_events(conn, store.mapper, events, progress=bar.update)
            bar.finish(f"{stats.events / stats.seconds:,.0f} events/s")
            # The same rows again into a copy of the table without its triggers: what the
            # per-row hash-chain trigger costs.
            sample = conn.execute(
                f"SELECT originator_id, originator_version, topic, state "
                f"FROM public.{EVENTS_TABLE} ORDER BY notification_id LIMIT 100000"
            ).fetchall()
            # The library's own table: same columns and keys, no tenant, chain or triggers.
            conn.execute("CREATE TEMP TABLE plain (originator_id uuid, originator_version "
                         "bigint, topic text, state bytea, notification_id bigserial, "
                         "PRIMARY KEY (originator_id, originator_version))")
            conn.execute("CREATE UNIQUE INDEX ON plain (notification_id)")
            started = time.perf_counter()
            copy_chunk(conn, [tuple(r) for r in sample], table="plain")
            plain_rate = len(sample) / (time.perf_counter() - started)
    finally:
        store.close()
    progress(f"generated {events:,} events")
    insert_rate = stats.events / stats.copy_seconds
    return [
        Row("store.bulk_insert", round(insert_rate), "events/s",
            "COPY without the hash-chain trigger", round(plain_rate),
            round(insert_rate / plain_rate, 3), "measure", None),
        Row("bench.generate", round(stats.events / stats.seconds), "events/s",
            "", None, None, "measure", None),
    ]


# --- children: each measured runner in a process of its own --------------------------------

def child(argv: Sequence[str]) -> None:
    """``python -m bench.projections <mode> <url> [args]``; prints one JSON line."""
    import gc

    mode, url, *rest = argv
    gc.set_threshold(100_000, 50, 100)
    started_cpu = time.process_time()
    if mode == "catchup":
        result = _catch_up(url, int(rest[0]))
    elif mode == "rebuild":
        result = _rebuild(url, int(rest[0]))
    elif mode == "library":
        result = _library(url, int(rest[0]))
    elif mode == "live":
        result = _live(url, int(rest[0]), float(rest[1]))
    elif mode == "shard":
        result = _shard(url, int(rest[0]), rest[1])
    else:
        raise SystemExit(f"unknown mode {mode}")
    result["cpu_seconds"] = time.process_time() - started_cpu
    result["max_rss_mb"] = peak_rss_mb()
    print(json.dumps(result), flush=True)


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ``getrusage``: Linux keeps its ``ru_maxrss`` across
    ``exec``, so a child started by a big parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class BackendCpu:
    """CPU time of this database's ``danvan*`` backends, sampled from /proc (when the server
    runs on this machine): the server's share of the work, whatever else the machine does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seconds: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.tick = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> BackendCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while True:
                pids = [pid for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name LIKE 'danvan%%'")]
                for pid in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.seconds[pid] = (int(fields[11]) + int(fields[12])) / self.tick
                if self._stop.wait(0.2):
                    return

    @property
    def total(self) -> float | None:
        return sum(self.seconds.values()) if self.seconds else None


def _settings(url: str) -> Any:
    from danvan.infra.settings import Settings

    return Settings(env="test", database_url=url)


def _reset(url: str) -> None:
    from danvan.projections.schema import ensure_read_models, versions

    settings = _settings(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for version in versions(conn):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(version.schema)))
        conn.execute("DELETE FROM public.danvan_projection_versions")
        conn.execute("DELETE FROM public.danvan_projections")
        ensure_read_models(conn, settings.app_db_role)


def _catch_up(url: str, batch_size: int) -> dict[str, Any]:
    from danvan.projections.embedded import make_runner

    _reset(url)
    runner = make_runner(_settings(url), batch_size=batch_size)
    with BackendCpu(url) as server:
        started, cpu = time.perf_counter(), time.process_time()
        events = runner.catch_up()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        runner.close()
    return {"events": events, "seconds": seconds, "python_cpu": cpu,
            "server_cpu": server.total}


def _shard(url: str, batch_size: int, shard: str) -> dict[str, Any]:
    """One tenant shard's catch-up (its siblings run beside it, each in its own process)."""
    from danvan.projections.embedded import make_runner
    from danvan.projections.sharding import Shard

    runner = make_runner(_settings(url), batch_size=batch_size, shard=Shard.parse(shard),
                         name=f"danvan-shard-{shard}")
    started = time.perf_counter()
    events = runner.catch_up()
    seconds = time.perf_counter() - started
    runner.close()
    return {"events": events, "seconds": seconds}


def sharded_catch_up(url: str, batch_size: int, shards: int) -> dict[str, Any]:
    """``shards`` tenant shards catching up side by side, each a process: ``seconds`` is the
    slowest shard's catch-up (as the one runner's, without the interpreter's start; the
    shards start together), ``wall`` includes the starts, ``cpu_seconds`` is their sum."""
    from danvan.projections.catalog import all_projections
    from danvan.projections.sharding import reshard

    _reset(url)
    with psycopg.connect(url, autocommit=True) as conn:
        reshard(conn, all_projections(), shards)
    started = time.perf_counter()
    processes = [subprocess.Popen([sys.executable, "-m", "bench.projections", "shard", url,
                                   str(batch_size), f"{k}/{shards}"], cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
                 for k in range(shards)]
    results = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"bench shard child failed ({process.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    seconds = time.perf_counter() - started
    _reset(url)  # the other measurements start unsharded
    return {"events": results[0]["events"], "wall": seconds,
            "seconds": max(r["seconds"] for r in results),
            "cpu_seconds": sum(r["cpu_seconds"] for r in results),
            "max_rss_mb": max(r["max_rss_mb"] for r in results)}


def _rebuild(url: str, batch_size: int) -> dict[str, Any]:
    from danvan.projections.catalog import all_projections
    from danvan.projections.rebuild import rebuild_all

    settings = _settings(url)
    with BackendCpu(url) as server:
        started, cpu = time.perf_counter(), time.process_time()
        done = rebuild_all(url, all_projections(), app_role=settings.app_db_role,
                           batch_size=batch_size)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"events": done[0].events, "seconds": seconds, "python_cpu": cpu,
            "server_cpu": server.total}


def _library(url: str, limit: int) -> dict[str, Any]:
    from bench.library_baseline import run_library_runner

    events, seconds = run_library_runner(url, limit)
    return {"events": events, "seconds": seconds}


def _live(url: str, batch_size: int, seconds: float) -> dict[str, Any]:
    """Follow the log; print each batch's (last position, commit time) as it commits."""
    from danvan.projections.embedded import make_runner

    runner = make_runner(_settings(url), batch_size=batch_size, poll_interval=1.0)
    commits: list[tuple[int, float]] = []
    runner.on_batch = lambda applied: commits.append((applied.batch.last,
                                                      applied.committed_at))
    runner.catch_up()
    commits.clear()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # or stop early
    print(json.dumps({"ready": True}), flush=True)
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    runner.run(stop)
    timer.cancel()
    return {"commits": commits}


def run_child(mode: str, url: str, *args: object) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.projections", mode, url,
                          *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                         check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise RuntimeError(f"bench child {mode} failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# --- live lag ------------------------------------------------------------------------------

def live_lag(admin_url: str, batch_size: int, seconds: float, rate: float) -> dict[str, float]:
    """Lag of every event written during ``seconds`` at about ``rate`` commits a second, in
    a small database of its own (so the big one keeps exactly its events)."""
    from bench.library_baseline import LiveWriter

    url, _ = bench_database(admin_url, 10_000, reuse=False, name="danvan_bench_live",
                            progress=lambda message: None)
    process = start_live_runner(url, batch_size, seconds + 2)
    writer = LiveWriter(url)
    try:
        written = writer.write_for(seconds, rate)
    finally:
        writer.close()
    return lag_figures(written, live_runner_commits(process, timeout=seconds + 60))


def start_live_runner(url: str, batch_size: int, seconds: float) -> subprocess.Popen[str]:
    """The live runner in a child process, caught up and following the log for ``seconds``
    (or until SIGTERM); ``live_runner_commits`` collects its batch commits."""
    process = subprocess.Popen([sys.executable, "-m", "bench.projections", "live", url,
                                str(batch_size), str(seconds)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout is not None
    ready = process.stdout.readline()
    if "ready" not in ready:
        process.kill()
        raise RuntimeError("the live runner did not start")
    return process


def live_runner_commits(process: subprocess.Popen[str], *, timeout: float,
                        stop: bool = False) -> list[list[float]]:
    """``(last position, committed_at)`` of each batch the live runner committed."""
    if stop:
        process.terminate()
    out, _ = process.communicate(timeout=timeout)
    return list(json.loads(out.strip().splitlines()[-1])["commits"])


def lag_figures(written: Sequence[tuple[int, float]], commits: Sequence[Sequence[float]]
                ) -> dict[str, float]:
    """Lag of each written ``(position, committed_at)`` behind the runner's batch commits
    ``(last position, committed_at)`` (both ``time.time()``): p50, p99 (ms) and count."""
    lags = []
    index = 0
    for position, committed_at in written:
        while index < len(commits) and commits[index][0] < position:
            index += 1
        if index == len(commits):
            break
        lags.append((commits[index][1] - committed_at) * 1000)
    if not lags:
        raise RuntimeError("no live event was seen applied")
    lags.sort()
    return {"p50": statistics.median(lags), "p99": lags[int(len(lags) * 0.99) - 1]
            if len(lags) >= 100 else lags[-1], "events": float(len(lags))}


# --- the figures ---------------------------------------------------------------------------

def measure(admin_url: str, events: int, *, reuse: bool = True, batch_size: int = 20_000,
        baseline_events: int = 20_000, live_seconds: float = 20.0, live_rate: float = 200.0,
        shards: int = 0,
        progress: Callable[[str], None] = lambda m: print(m, file=sys.stderr)
        ) -> list[Row]:
    url, rows = bench_database(admin_url, events, reuse=reuse, progress=progress)
    progress(f"library ProjectionRunner over the first {baseline_events:,} events...")
    library = run_child("library", url, baseline_events)
    library_rate = library["events"] / library["seconds"]
    progress(f"  {library_rate:,.0f} events/s")

    progress(f"projector catch-up over {events:,} events...")
    catch_up = run_child("catchup", url, batch_size)
    rate = catch_up["events"] / catch_up["seconds"]
    progress(f"  {rate:,.0f} events/s, peak RSS {catch_up['max_rss_mb']:.0f} MB")

    if shards > 1:
        progress(f"{shards} tenant shards catching up side by side over {events:,} events...")
        sharded = sharded_catch_up(url, batch_size, shards)
        shard_rate = sharded["events"] / sharded["seconds"]
        progress(f"  {shard_rate:,.0f} events/s together, peak RSS "
                 f"{sharded['max_rss_mb']:.0f} MB each")
        rows.append(Row(f"projections.catch_up_{shards}_tenant_shards", round(shard_rate),
                        "events/s", "one runner's catch-up (same run)", round(rate),
                        round(shard_rate / rate, 2), "measure", None))

    progress(f"rebuild of every read model over {events:,} events...")
    rebuilt = run_child("rebuild", url, batch_size)
    rebuild_rate = rebuilt["events"] / rebuilt["seconds"]
    progress(f"  {rebuild_rate:,.0f} events/s, peak RSS {rebuilt['max_rss_mb']:.0f} MB")

    progress(f"live lag for {live_seconds:.0f} s at about {live_rate:.0f} commits/s...")
    lag = live_lag(admin_url, 1000, live_seconds, live_rate)
    progress(f"  p50 {lag['p50']:.1f} ms, p99 {lag['p99']:.1f} ms")

    baseline = f"eventsourcing ProjectionRunner (first {library['events']:,} events)"
    for name, run_ in (("catch_up", catch_up), ("rebuild", rebuilt)):
        if run_.get("server_cpu"):
            python_us = run_["python_cpu"] / run_["events"] * 1e6
            server_us = run_["server_cpu"] / run_["events"] * 1e6
            ceiling = 1e6 / max(python_us, server_us)
            progress(f"  {name}: {python_us:.1f} us CPU/event in Python, {server_us:.1f} in "
                     f"PostgreSQL: {ceiling:,.0f} events/s with a core each")
            rows.append(Row(f"projections.{name}_cpu_ceiling", round(ceiling), "events/s",
                            baseline, round(library_rate), round(ceiling / library_rate, 1),
                            f"(Python {python_us:.1f} us + PostgreSQL {server_us:.1f} us "
                            "CPU per event; rate with one core each)", None))
    target = f">= {TARGET_RATIO:.0f}x baseline and >= {TARGET_RATE:,} events/s"
    rows += [
        Row("projections.catch_up", round(rate), "events/s", baseline, round(library_rate),
            round(rate / library_rate, 1), target,
            rate >= TARGET_RATE and rate >= TARGET_RATIO * library_rate),
        Row("projections.rebuild", round(rebuild_rate), "events/s", baseline,
            round(library_rate), round(rebuild_rate / library_rate, 1), target,
            rebuild_rate >= TARGET_RATE and rebuild_rate >= TARGET_RATIO * library_rate),
        Row("projections.runner_rss", round(catch_up["max_rss_mb"], 1), "MB",
            "eventsourcing ProjectionRunner", round(library["max_rss_mb"], 1),
            round(catch_up["max_rss_mb"] / library["max_rss_mb"], 2),
            f"< {TARGET_RSS_MB:.0f} MB", catch_up["max_rss_mb"] < TARGET_RSS_MB),
        Row("projections.rebuild_rss", round(rebuilt["max_rss_mb"], 1), "MB", "", None, None,
            f"< {TARGET_RSS_MB:.0f} MB", rebuilt["max_rss_mb"] < TARGET_RSS_MB),
        Row("projections.live_lag_p99", round(lag["p99"], 1), "ms",
            "live lag p50", round(lag["p50"], 1), None, "measure", None),
    ]
    return rows


# --- as an area of ``danvan bench`` (bench/registry.py) --------------------------------------

DESCRIPTION = ("Projector: catch-up and rebuild events/s over N generated events, RSS, live "
               "lag, against the library's ProjectionRunner in the same run")
SCALES = {"small": 20_000, "province": 200_000, "national": 1_000_000}


def add_arguments(parser: Any) -> None:
    parser.add_argument("--events", type=int, default=None,
                        help="events in the bench database (default by --scale: small 20k, "
                             "province 200k, national 1M)")
    parser.add_argument("--baseline-events", type=int, default=20_000,
                        help="events for the library's runner (default 20000)")
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--live-seconds", type=float, default=20.0)
    parser.add_argument("--shards", type=int, default=0, metavar="N",
                        help="also N tenant shards catching up side by side (processes)")
    parser.add_argument("--fresh", action="store_true",
                        help="regenerate the bench database even if it exists")


def run(args: Any) -> list[Any]:
    """``danvan bench projections``: the rows as ``bench.registry.Figure``."""
    from bench.cluster import admin_url
    from bench.registry import Figure

    events = args.events or SCALES[args.scale]
    rows = measure(admin_url(), events, reuse=not args.fresh,
                   batch_size=args.batch_size,
                   baseline_events=min(args.baseline_events, events),
                   live_seconds=args.live_seconds, shards=args.shards)
    return [Figure(**asdict(row)) for row in rows]


if __name__ == "__main__":
    child(sys.argv[1:])
