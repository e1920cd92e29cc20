"""``danvan bench jobs``: jobs through the outbox against dramatiq alone, in the same run.

    danvan bench jobs [--processes 1,4] [--threads 8] [--jobs 5000] [--rate 200]
                      [--seconds 10] [--json]

For each number of worker processes:

- throughput: ``--jobs`` no-op jobs (``ping``) recorded through the outbox, 100 per
  transaction, while ``danvan worker`` runs; from the first record to the last job done
  (the jobs table's clock) — beside dramatiq's own: as many ``send()`` of a no-op actor to
  dramatiq's own worker (``python -m dramatiq``, same processes and threads), from the
  first send to the queue emptied. Target: at least half of dramatiq's rate.
- latency: ``--rate`` jobs a second for ``--seconds``, each recorded in a transaction of its
  own (as a command records its job), from its commit (as the recording client saw it
  return) to the job's start (the claim's ``started_at``; one machine, one clock), p50 and
  p99 — beside dramatiq's from ``send()`` to the actor's start at the same rate.
  Target: p99 under 100 ms.

A fresh database (as ``danvan bench commands``: ``$DANVAN_BENCH_DATABASE_URL`` or
``$DATABASE_URL``'s cluster) and Redis at ``$REDIS_URL`` (else 127.0.0.1:6379), each side
in a namespace of its own, removed afterwards. Everything shares the machine's cores.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.registry import Figure

if TYPE_CHECKING:
    from danvan.infra.settings import Settings

DESCRIPTION = ("Jobs through the outbox (record -> relay -> worker -> done) against dramatiq's "
               "own send/consume of a no-op actor, at 1 and 4 worker processes.")
SOURCE_TREE = Path(__file__).resolve().parents[1]
RATIO_TARGET = 0.5
P99_TARGET_MS = 100.0
BATCH = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--processes", default="1,4",
                        help="worker process counts to measure, comma-separated (default 1,4)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--jobs", type=int, default=5000, help="jobs of a throughput run")
    parser.add_argument("--rate", type=float, default=200.0,
                        help="jobs a second of a latency run (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="length of a latency run (default 10)")


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def percentile_ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


def paced(rate: float, seconds: float, act: Callable[[], None]) -> None:
    """``act`` ``rate`` times a second for ``seconds`` (late calls catch up, none skipped)."""
    count = int(rate * seconds)
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        act()


def clear(namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url())
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextmanager
def child(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(args, env=env, cwd=SOURCE_TREE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


# --- dramatiq alone ------------------------------------------------------------------------

def bare_dramatiq(processes: int, threads: int, jobs: int, rate: float,
                  seconds: float) -> tuple[float, list[float]]:
    """(messages/s from the first send to the queue emptied, send->start latencies)."""
    import dramatiq
    import redis
    from dramatiq.brokers.redis import RedisBroker

    namespace = f"danvan-bench-{secrets.token_hex(4)}"
    latencies_key = f"{namespace}:latencies"
    env = {**os.environ, "REDIS_URL": redis_url(), "DANVAN_BENCH_NAMESPACE": namespace}
    broker = RedisBroker(url=redis_url(), namespace=namespace)

    def send() -> None:  # what ``noop.send(time.time())`` does
        broker.enqueue(dramatiq.Message(queue_name="jobs", actor_name="noop",
                                        args=(time.time(),), kwargs={}, options={}))

    client = redis.Redis.from_url(redis_url())
    try:
        with child([sys.executable, "-m", "dramatiq", "bench.dramatiq_noop", "--processes",
                    str(processes), "--threads", str(threads), "--path", str(SOURCE_TREE)],
                   env):
            send()  # warm up: the workers are up once it is done
            wait_until(lambda: client.llen(latencies_key) >= 1, 60, "dramatiq")
            client.delete(latencies_key)
            started = time.perf_counter()
            for _ in range(jobs):
                send()
            wait_until(lambda: client.llen(latencies_key) >= jobs, 300, "dramatiq's messages")
            throughput = jobs / (time.perf_counter() - started)
            client.delete(latencies_key)
            paced(rate, seconds, send)
            count = int(rate * seconds)
            wait_until(lambda: client.llen(latencies_key) >= count, 120,
                       "dramatiq's paced messages")
            latencies = [float(v) for v in client.lrange(latencies_key, 0, -1)]
    finally:
        client.close()
        broker.close()
        clear(namespace)
    return throughput, latencies


# --- through the outbox ----------------------------------------------------------------------

def worker_env(settings: Settings, namespace: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DANVAN_")}
    env.update({"DATABASE_URL": settings.database_url or "", "REDIS_URL": redis_url(),
                "DANVAN_DATA_DIR": str(settings.data_dir), "DANVAN_JOB_NAMESPACE": namespace,
                "DANVAN_LOG_LEVEL": "WARNING"})
    return env


def through_outbox(settings: Settings, processes: int, threads: int, jobs: int, rate: float,
                   seconds: float) -> tuple[float, list[float]]:
    """(jobs/s from the first record to the last done, record->start latencies)."""
    from danvan.infra.database import connect_app
    from danvan.infra.outbox import JobRequest, enqueue

    namespace = f"danvan-bench-{secrets.token_hex(4)}"

    def unfinished(conn: Any) -> int:
        row = conn.execute("SELECT count(*) FROM jobs WHERE state <> 'succeeded'").fetchone()
        return int(row[0])

    try:
        with connect_app(settings) as conn, child(
                [sys.executable, "-m", "danvan.backend.cli", "worker", "--no-schedule",
                 "--processes", str(processes), "--threads", str(threads)],
                worker_env(settings, namespace)):
            enqueue(conn, [JobRequest("ping")])  # warm up
            wait_until(lambda: unfinished(conn) == 0, 60, "the worker")
            conn.execute("DELETE FROM jobs")
            for start in range(0, jobs, BATCH):
                enqueue(conn, [JobRequest("ping") for _ in range(min(BATCH, jobs - start))])
            wait_until(lambda: unfinished(conn) == 0, 300, "the jobs")
            row = conn.execute("SELECT extract(epoch FROM max(finished_at) - min(created_at)) "
                               "FROM jobs").fetchone()
            assert row is not None
            throughput = jobs / float(row[0])
            conn.execute("DELETE FROM jobs")
            committed: dict[str, float] = {}

            def record_one() -> None:
                job = JobRequest("ping")
                enqueue(conn, [job])
                committed[str(job.id)] = time.time()  # the commit has returned

            paced(rate, seconds, record_one)
            wait_until(lambda: unfinished(conn) == 0, 120, "the paced jobs")
            latencies = [float(started) - committed[job_id] for job_id, started in conn.execute(
                "SELECT job_id::text, extract(epoch FROM started_at) FROM jobs")]
            conn.execute("DELETE FROM jobs")
    finally:
        clear(namespace)
    return throughput, latencies


def run(args: argparse.Namespace) -> list[Figure]:
    from bench.commands import bench_database

    figures: list[Figure] = []
    counts = [int(p) for p in str(args.processes).split(",") if p.strip()]
    with bench_database() as settings:
        for processes in counts:
            label = f"{processes} proc x {args.threads} thr"
            bare_rate, bare_latency = bare_dramatiq(processes, args.threads, args.jobs,
                                                    args.rate, args.seconds)
            rate, latency = through_outbox(settings, processes, args.threads, args.jobs,
                                           args.rate, args.seconds)
            figures.append(Figure.against(
                f"jobs/s outbox to done ({label})", rate, "jobs/s",
                "dramatiq send to done, no outbox", bare_rate,
                f"ratio >= {RATIO_TARGET}", lambda v, r: r >= RATIO_TARGET))
            figures.append(Figure.against(
                f"job start latency p50 at {args.rate:g}/s ({label})",
                percentile_ms(latency, 0.5), "ms", "dramatiq send to start p50",
                percentile_ms(bare_latency, 0.5)))
            figures.append(Figure.against(
                f"job start latency p99 at {args.rate:g}/s ({label})",
                percentile_ms(latency, 0.99), "ms", "dramatiq send to start p99",
                percentile_ms(bare_latency, 0.99), f"< {P99_TARGET_MS:g} ms",
                lambda v, r: v < P99_TARGET_MS))
    return figures
