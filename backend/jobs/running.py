"""One delivery of a job's message: claim the job, run its handler, record one outcome.

    runtime = Runtime(settings)                     # once per process: the services, opened lazily
    perform(runtime, job_id, retries=0, max_retries=5)      # what every actor does

- The claim makes a repeated message do nothing (``infra/jobs.JobStore.claim``).
- While the handler runs, the process's heartbeat thread signs life for it every third of
  the lease, so the reaper resends the job only when its worker is really gone.
- ``JobFailed`` (a refusal another try would not change) fails the job with its errors and
  is not retried. Any other exception is transient: the job goes back to ``queued`` and the
  exception goes on to dramatiq, which retries with backoff; after the last retry the job is
  ``failed`` and ``dead`` (listed by ``danvan jobs dead``, replayed by ``danvan jobs retry``).
- A worker stopped with SIGTERM lets its running jobs finish (``danvan worker``); one that
  dies mid-job leaves it ``running`` until the lease runs out, then it runs again, so each
  handler must be idempotent: its events have derived ids, its other writes are upserts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from danvan.backend.jobs.kinds import handler_of
from danvan.backend.wiring import Services, build, open_db_pool
from danvan.infra.jobs import ClaimedJob, JobStore
from danvan.infra.settings import Settings

log = logging.getLogger(__name__)


class JobFailed(Exception):
    """The job cannot succeed as asked; ``errors`` are ``{row, field, message}`` items."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or [{"row": None, "field": None, "message": message}]


@dataclass
class Runtime:
    """What the handlers of one process share: settings and the services (built on first
    use, closed by ``close``)."""

    settings: Settings
    pool_size: int = 4
    _services: Services | None = field(default=None, repr=False)
    _jobs: JobStore | None = field(default=None, repr=False)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    heartbeats: Heartbeats = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.heartbeats = Heartbeats(lambda: self.jobs, self.settings.job_lease_seconds / 3)

    @property
    def services(self) -> Services:
        with self._lock:
            if self._services is None:
                self._services = build(self.settings, redis=None,
                                       aux_pool_size=self.pool_size)
            return self._services

    @property
    def jobs(self) -> JobStore:
        """The job bookkeeping, on a pool of its own whose commits do not wait for the WAL
        flush (``infra/jobs.py``)."""
        with self._lock:
            if self._jobs is None:
                pool = open_db_pool(self.settings, max_size=self.pool_size, name="danvan-jobs",
                                    durable=False)
                self._jobs = JobStore(pool.connection)
                self._closers.append(pool.close)
            return self._jobs

    def close(self) -> None:
        with self._lock:
            if self._jobs is not None:
                try:
                    self._jobs.flush_metrics()
                except Exception as exc:
                    log.warning("job figures not written: %s", exc)
                self._jobs = None
            while self._closers:
                self._closers.pop()()
            if self._services is not None:
                self._services.close()
                self._services = None


@dataclass
class JobRun:
    """What a handler gets: the job, the process's services, and ways to report."""

    job: ClaimedJob
    runtime: Runtime

    @property
    def services(self) -> Services:
        return self.runtime.services

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    def progress(self, done: int, total: int | None = None) -> None:
        self.runtime.jobs.progress(self.job, done, total)

    def attach(self, name: str, media_type: str, content: bytes) -> None:
        self.runtime.jobs.attach(self.job, name, media_type, content)


class Heartbeats:
    """One thread per process signs life for every job the process is running, every third
    of the lease, in one statement (a thread per job would cost more than a short job),
    and adds the process's job figures to the shared counters every ``FLUSH_SECONDS``."""

    FLUSH_SECONDS = 5.0

    def __init__(self, jobs: Callable[[], JobStore], every: float) -> None:
        self.jobs = jobs
        self.every = every
        self._running: dict[str, ClaimedJob] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def held(self, job: ClaimedJob) -> Iterator[None]:
        with self._lock:
            self._running[job.id] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="danvan-heartbeats",
                                                daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(job.id, None)

    def _beat(self) -> None:
        period = min(self.every, self.FLUSH_SECONDS)
        beaten = time.monotonic()
        while True:
            time.sleep(period)
            try:
                jobs = self.jobs()
                if time.monotonic() - beaten >= self.every - period / 2:
                    beaten = time.monotonic()
                    with self._lock:
                        running = list(self._running.values())
                    jobs.heartbeat(running)
                jobs.flush_metrics()
            except Exception as exc:  # the database is away: the lease decides
                log.warning("job heartbeats failed: %s", exc)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:500]}"


def perform(runtime: Runtime, job_id: str, *, retries: int, max_retries: int) -> None:
    """Do the job ``job_id`` once (see the module docstring). ``retries``: how many earlier
    deliveries of this message failed; the one at ``max_retries`` is the last."""
    jobs = runtime.jobs
    lease = runtime.settings.job_lease_seconds
    job = jobs.claim(job_id, lease_seconds=lease)
    if job is None:
        log.info("job %s: nothing to do (done, dead or running elsewhere)", job_id)
        return
    run = JobRun(job, runtime)
    try:
        with runtime.heartbeats.held(job):
            result = handler_of(job.kind)(run)
    except JobFailed as exc:
        log.info("job %s (%s) failed: %s", job.id, job.kind, exc)
        jobs.fail(job, exc.errors)
        return
    except BaseException as exc:
        if retries >= max_retries:
            log.error("job %s (%s) is dead after %d tries: %s", job.id, job.kind,
                      retries + 1, describe(exc))
            jobs.die(job, describe(exc))
        else:
            log.warning("job %s (%s) failed, to be retried: %s", job.id, job.kind,
                        describe(exc))
            jobs.retry_later(job, describe(exc))
        raise
    jobs.succeed(job, result)
