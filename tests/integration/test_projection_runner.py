"""The runner under faults: killed mid-batch, its connection cut, two runners at once, a rebuild
while it follows the log live. Each time the read models must equal a clean single pass."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from danvan.infra.database import connect_owner, owner_params
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.applying import Applied, apply_next
from danvan.projections.catalog import all_projections, by_names
from danvan.projections.embedded import make_runner
from danvan.projections.events import log_head
from danvan.projections.rebuild import rebuild
from danvan.projections.runner import Runner, lock_holders
from danvan.projections.schema import active_versions, ensure_read_models
from tests.integration.test_projection_histories import (
    OPS,
    World,
    dump,
    positions,
    reset_read_models,
)


def random_history(seed: int, length: int) -> list[tuple[str, int, int]]:
    rng = random.Random(seed)
    start = [("onboard", 0, 1), ("onboard", 1, 1), ("onboard", 2, 1)]
    start += [("add_unit", i, 1) for i in range(6)]
    return start + [(rng.choice(OPS), rng.randrange(1000), rng.randrange(48))
                    for _ in range(length)]


@pytest.fixture
def owner(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
        yield conn


def reference(conn: psycopg.Connection[Any], settings: Settings) -> dict[str, Any]:
    """The read models from a clean single pass over the whole log."""
    reset_read_models(conn, settings.app_db_role)
    runner = make_runner(settings, batch_size=100_000)
    runner.catch_up()
    runner.close()
    return dump(conn)


def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def chained(batches: list[tuple[str, int, int]]) -> bool:
    """Batches (runner, after, last) cover the log once: each starts where one ended."""
    ordered = sorted(batches, key=lambda b: b[1])
    return all(prev[2] == nxt[1] for prev, nxt in itertools.pairwise(ordered)) \
        and (not ordered or ordered[0][1] == 0)


KILLABLE = """
import sys, time
from danvan.projections.catalog import all_projections
from danvan.projections.runner import Runner
runner = Runner(sys.argv[1], all_projections(), app_role=sys.argv[2], batch_size=3,
                catch_up_batch_size=3, fault=lambda batch: time.sleep(0.01))
runner.catch_up()
"""


def test_a_runner_killed_mid_batch_loses_and_duplicates_nothing(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    World(event_store).run(random_history(7, 220))
    head = log_head(owner)
    conninfo = owner_params(settings).conninfo()
    rng = random.Random(11)
    for _ in range(3):
        before = min(positions(owner).values())
        process = subprocess.Popen([sys.executable, "-c", KILLABLE, conninfo,
                                    settings.app_db_role])
        try:
            wait_until(lambda b=before: min(positions(owner).values()) > b)
            time.sleep(rng.uniform(0.0, 0.15))
        finally:
            process.kill()  # SIGKILL: no cleanup, a transaction is usually open
            process.wait()
    assert 0 < min(positions(owner).values()) < head
    survivor = make_runner(settings, batch_size=7)
    survivor.catch_up()
    survivor.close()
    assert set(positions(owner).values()) == {head}
    after_kills = dump(owner)
    assert after_kills == reference(owner, settings)


def test_two_runners_never_both_apply_and_one_takes_over(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    world = World(event_store).run(random_history(3, 60))
    batches: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    def record(name: str) -> Any:
        def on_batch(applied: Applied) -> None:
            with lock:
                batches.append((name, applied.batch.after, applied.batch.last))
        return on_batch

    stop = threading.Event()
    runners = []
    for name in ("a", "b"):
        runner = make_runner(settings, batch_size=4, poll_interval=0.2, name=f"runner-{name}",
                             catch_up_batch_size=4)
        runner.on_batch = record(name)
        runners.append(runner)
    threads = [threading.Thread(target=r.run, args=(stop,)) for r in runners]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: any(r.stats.holding for r in runners))
        assert sum(r.stats.holding for r in runners) == 1
        steps = random_history(4, 160)[9:]
        world.run(steps[:80])
        # Cut the active runner's connection: the other must take over.
        holder_pid = set(lock_holders(owner, [p.name for p in all_projections()]).values())
        assert len(holder_pid) == 1
        owner.execute("SELECT pg_terminate_backend(%s)", (holder_pid.pop(),))
        world.run(steps[80:])
        head = log_head(owner)
        wait_until(lambda: set(positions(owner).values()) == {head})
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert {b[0] for b in batches} == {"a", "b"} or sum(r.stats.reconnects for r in runners) > 0
    assert chained(batches), batches
    assert dump(owner) == reference(owner, settings)


def test_concurrent_batches_without_the_advisory_locks_still_apply_once(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    World(event_store).run(random_history(5, 120))
    projections = all_projections()
    batches: list[tuple[str, int, int]] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with psycopg.connect(owner_params(settings).conninfo(), autocommit=True) as conn:
                while True:
                    applied = apply_next(conn, projections, 3)
                    if not applied.count:
                        return
                    batches.append((name, applied.batch.after, applied.batch.last))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert chained(batches)
    assert dump(owner) == reference(owner, settings)


def test_the_runner_follows_live_by_notification_and_survives_a_cut_connection(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    world = World(event_store).run(random_history(9, 40))
    runner = make_runner(settings, batch_size=50, poll_interval=60.0)  # polling would be late
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: set(positions(owner).values()) == {log_head(owner)})
        world.run([("register", 5, 1)])
        started = time.monotonic()
        wait_until(lambda: set(positions(owner).values()) == {log_head(owner)}, timeout=5)
        assert time.monotonic() - started < 2.0  # woken by NOTIFY, not by the 60 s poll
        pid = next(iter(lock_holders(owner, ["models"]).values()))
        owner.execute("SELECT pg_terminate_backend(%s)", (pid,))
        world.run(random_history(10, 60)[9:])
        wait_until(lambda: set(positions(owner).values()) == {log_head(owner)})
        assert runner.stats.reconnects >= 1
    finally:
        stop.set()
        thread.join(10)
    assert dump(owner) == reference(owner, settings)


def test_a_rebuild_while_the_runner_follows_switches_readers_without_a_gap(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    world = World(event_store).run(random_history(21, 150))
    runner = make_runner(settings, batch_size=5, poll_interval=0.1, catch_up_batch_size=6)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    writing = threading.Event()

    def writer() -> None:
        world.run(random_history(22, 120)[9:])
        writing.set()

    try:
        threading.Thread(target=writer).start()
        [done] = rebuild(owner, by_names(["models"]), app_role=settings.app_db_role,
                         batch_size=7)
        assert (done.old_version, done.new_version) == (1, 2)
        assert active_versions(owner)["models"].version == 2
        wait_until(writing.is_set, timeout=60)
        wait_until(lambda: set(positions(owner).values()) == {log_head(owner)})
    finally:
        stop.set()
        thread.join(10)
    schemas = {row[0] for row in owner.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rm_models_%'").fetchall()}
    assert schemas == {"rm_models_v2"}  # the old version was dropped after the switch
    assert dump(owner) == reference(owner, settings)


def test_a_standby_runner_does_not_take_the_locks_while_another_holds_them(
        settings: Settings, owner: psycopg.Connection[Any]) -> None:
    first = make_runner(settings)
    second = make_runner(settings)
    try:
        assert first.acquire(wait=False)
        assert not second.acquire(wait=False)
        first.close()  # the server lets the locks go when the session ends, a moment later
        wait_until(lambda: second.acquire(wait=False), timeout=5)
    finally:
        first.close()
        second.close()


def test_a_runner_needs_projections() -> None:
    with pytest.raises(ValueError):
        Runner("dbname=x", [], app_role="r")
