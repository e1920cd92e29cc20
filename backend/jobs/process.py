"""Where jobs run: ``danvan worker`` (worker processes on Redis), or under ``danvan serve``
when there is no ``REDIS_URL`` (the same actors on dramatiq's in-process broker, in a process
the server starts: ``start_jobs_process``).

    run_worker(settings, processes=2, threads=8, graceful_timeout=30)   # until SIGTERM
    jobs = InProcessJobs(settings).start(); ...; jobs.stop()

Either way a ``Coordinator`` runs beside the actors: the relay (outbox -> broker), the reaper
(resends jobs whose worker died or whose message the broker lost) and the schedule.

``danvan worker`` is a supervisor: it starts ``processes`` worker processes (spawned, each a
dramatiq ``Worker`` with ``threads`` threads on every queue), restarts one that dies, and
runs the coordinator itself. SIGTERM (or Ctrl-C) stops taking messages and lets the jobs in
progress finish, up to ``graceful_timeout`` seconds; a job cut short after that is not
half-applied, only unfinished, and runs again once its lease runs out (every handler is
idempotent: ``running.py``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

import dramatiq

from danvan.backend.jobs.broker import declare_actors, make_broker, sender
from danvan.backend.jobs.maintenance import seal_due
from danvan.backend.jobs.running import Runtime
from danvan.backend.jobs.schedule import Schedule
from danvan.infra.database import app_params, connect_app
from danvan.infra.jobs import requeue_stale
from danvan.infra.outbox import JobRequest, Relay, Send, enqueue
from danvan.infra.settings import Settings

log = logging.getLogger(__name__)

RESTART_PAUSE = 1.0


class Coordinator:
    """The relay (with the reaper as its tick) on a thread, and the schedule."""

    def __init__(self, settings: Settings, send: Send, *, schedule: bool = True,
                 poll_seconds: float = 1.0) -> None:
        self.settings = settings
        self.stopping = threading.Event()
        self.relay = Relay(app_params(settings).conninfo(), send, poll_seconds=poll_seconds,
                           tick=self._reap)
        self._thread = threading.Thread(target=self.relay.run, args=(self.stopping,),
                                        name="danvan-relay", daemon=True)
        self.schedule = Schedule(self._record, lambda: seal_due(settings)) if schedule else None
        self._reaped_at = 0.0

    def _reap(self, conn: Any) -> None:
        lease = self.settings.job_lease_seconds
        if time.monotonic() - self._reaped_at < lease / 4:
            return
        self._reaped_at = time.monotonic()
        resent = requeue_stale(conn, lease_seconds=lease)
        if resent:
            log.warning("jobs: %d job(s) sent again (worker gone or message lost)", resent)

    def _record(self, jobs: Sequence[JobRequest]) -> None:
        with connect_app(self.settings) as conn:
            enqueue(conn, jobs)

    def start(self) -> Coordinator:
        self._thread.start()
        if self.schedule is not None:
            self.schedule.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.schedule is not None:
            self.schedule.stop()
        self.stopping.set()
        self._thread.join(timeout)


class InProcessJobs:
    """The actors, the relay and the schedule in this process, on dramatiq's in-process
    broker: ``danvan serve`` without ``REDIS_URL``."""

    def __init__(self, settings: Settings, *, threads: int = 2, schedule: bool = True) -> None:
        self.settings = settings
        self.runtime = Runtime(settings, pool_size=threads + 1)
        self.broker = make_broker(settings, in_process=True)
        declare_actors(self.broker, self.runtime)
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads,
                                      worker_timeout=settings.job_poll_ms)
        self.coordinator = Coordinator(settings, sender(self.broker), schedule=schedule)

    def start(self) -> InProcessJobs:
        self.broker.emit_after("process_boot")
        self.worker.start()
        self.coordinator.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.coordinator.stop()
        self.worker.stop(timeout=int(timeout * 1000))
        self.broker.close()
        self.runtime.close()


def in_process_jobs_main(settings: Settings, log_level: str) -> None:
    """``InProcessJobs`` until SIGTERM: the process ``danvan serve`` starts when there is no
    ``REDIS_URL``. A process of its own, spawned, rather than threads of the server's: the
    server forks its workers, and a fork copies the locks that the jobs' threads hold at
    that moment (logging's, the pools'), which the copies then wait on forever."""
    logging.basicConfig(level=log_level,
                        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops us after itself
    jobs = InProcessJobs(settings).start()
    stopping.wait()
    jobs.stop()


def start_jobs_process(settings: Settings) -> Any:
    """Start ``in_process_jobs_main`` (stop it with ``terminate()`` then ``join()``)."""
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    process = multiprocessing.get_context("spawn").Process(
        target=in_process_jobs_main, args=(settings, level), name="danvan-jobs")
    process.start()
    return process


def worker_process(threads: int, graceful_timeout: float, log_level: str) -> None:
    """One worker process (spawned by ``run_worker``): its actors on the Redis broker until
    SIGTERM, then the jobs in progress finish (up to ``graceful_timeout`` seconds)."""
    from danvan.infra.settings import get_settings

    logging.basicConfig(level=log_level,
                        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor passes Ctrl-C on as SIGTERM
    settings = get_settings()
    runtime = Runtime(settings, pool_size=threads + 1)
    broker = make_broker(settings)
    declare_actors(broker, runtime)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=settings.job_poll_ms)
    worker.start()
    log.info("worker process %d ready (%d threads)", os.getpid(), threads)
    stopping.wait()
    log.info("worker process %d stopping: letting jobs in progress finish", os.getpid())
    worker.stop(timeout=int(graceful_timeout * 1000))
    broker.close()
    runtime.close()


def run_worker(settings: Settings, *, processes: int, threads: int,
               graceful_timeout: float, schedule: bool = True) -> int:
    """``danvan worker``: supervise ``processes`` worker processes and run the coordinator,
    until SIGTERM or SIGINT; answers the exit status."""
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())

    def start(index: int) -> Any:
        process = context.Process(target=worker_process, name=f"danvan-worker-{index}",
                                  args=(threads, graceful_timeout, level))
        process.start()
        return process

    children = [start(i) for i in range(processes)]
    broker = make_broker(settings)
    coordinator = Coordinator(settings, sender(broker), schedule=schedule).start()
    log.info("danvan worker: %d process(es) x %d thread(s) on %s", processes, threads,
             settings.job_namespace)
    try:
        while not stopping.wait(RESTART_PAUSE):
            for index, child in enumerate(children):
                if not child.is_alive() and not stopping.is_set():
                    log.error("worker process %s exited (%s): starting another", child.pid,
                              child.exitcode)
                    children[index] = start(index)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM: finish what is running
        deadline = time.monotonic() + graceful_timeout + 5
        for child in children:
            child.join(max(0.1, deadline - time.monotonic()))
            if child.is_alive():
                log.error("worker process %s did not stop in time: killed", child.pid)
                child.kill()
                child.join(5)
        coordinator.stop()
        broker.close()
    return 0
