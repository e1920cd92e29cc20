"""What runs on a schedule, in Vietnam time (UTC+07:00, no daylight saving):

| when | job |
|---|---|
| 07:00 every day | ``reminders`` (one ``tenant_reminders`` job per tenant) |
| every minute, if a chain moved ``DANVAN_SEAL_EVERY`` events | ``seal`` of those tenants |
| 00:30 every night | ``seal`` of every tenant whose chain moved |
| :15 every hour | ``purge`` (expired idempotency keys, jobs finished long ago) |

Each tick only *records* a job through the outbox, with a ``dedup_key`` naming its slot
(``reminders:2026-12-05``), so every worker process may run the scheduler: a slot gets one
job however many schedulers tick, and a tick lost while no worker ran is caught up when one
starts (the day's reminders and the night's seal, if their hour has passed).

The scheduler is APScheduler 3 (``BackgroundScheduler``): well kept, cron triggers with a
time zone, and it runs in a thread of the process that already runs the relay. periodiq and
dramatiq-crontab were set aside: periodiq runs as a process of its own and knows no time
zone; dramatiq-crontab is made for Django (its locking and settings come from there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, time

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from danvan.domain.clock import VIETNAM
from danvan.infra.outbox import JobRequest

log = logging.getLogger(__name__)

REMINDERS_AT = time(7, 0)
NIGHTLY_SEAL_AT = time(0, 30)
PURGE_MINUTE = 15


def daily_reminders(now: datetime) -> JobRequest:
    day = now.astimezone(VIETNAM).date()
    return JobRequest("reminders", params={"at": now.isoformat()},
                      dedup_key=f"reminders:{day.isoformat()}")


def nightly_seal(now: datetime) -> JobRequest:
    day = now.astimezone(VIETNAM).date()
    return JobRequest("seal", params={"all": True}, dedup_key=f"seal:night:{day.isoformat()}")


def seal_when_due(now: datetime) -> JobRequest:
    minute = now.astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    return JobRequest("seal", params={"all": False}, dedup_key=f"seal:due:{minute}")


def hourly_purge(now: datetime) -> JobRequest:
    hour = now.astimezone(VIETNAM).strftime("%Y-%m-%dT%H")
    return JobRequest("purge", dedup_key=f"purge:{hour}")


def catch_up(now: datetime) -> list[JobRequest]:
    """The ticks of today whose hour has passed (recorded once: their keys dedupe)."""
    local = now.astimezone(VIETNAM).time()
    missed = []
    if local >= REMINDERS_AT:
        missed.append(daily_reminders(now))
    if local >= NIGHTLY_SEAL_AT:
        missed.append(nightly_seal(now))
    return missed


Record = Callable[[Sequence[JobRequest]], object]
"""Records jobs through the outbox (``outbox.enqueue`` on a connection)."""


class Schedule:
    """The ticks above on a background thread; ``seal_due()`` says whether any tenant's
    chain has moved ``DANVAN_SEAL_EVERY`` events since its last seal (checked before
    recording a job, so a quiet minute records none)."""

    def __init__(self, record: Record, seal_due: Callable[[], bool]) -> None:
        self.record = record
        self.seal_due = seal_due
        self.scheduler = BackgroundScheduler(timezone=VIETNAM, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})

    def _tick(self, make: Callable[[datetime], JobRequest]) -> Callable[[], None]:
        def tick() -> None:
            try:
                self.record([make(datetime.now(VIETNAM))])
            except Exception as exc:  # the next tick (or a catch-up) records it
                log.warning("schedule: %s not recorded: %s", make.__name__, exc)

        return tick

    def _seal_tick(self) -> None:
        try:
            if self.seal_due():
                self.record([seal_when_due(datetime.now(VIETNAM))])
        except Exception as exc:
            log.warning("schedule: seal check failed: %s", exc)

    def start(self) -> Schedule:
        add = self.scheduler.add_job
        add(self._tick(daily_reminders), CronTrigger(hour=REMINDERS_AT.hour,
                                                     minute=REMINDERS_AT.minute,
                                                     timezone=VIETNAM), id="reminders")
        add(self._tick(nightly_seal), CronTrigger(hour=NIGHTLY_SEAL_AT.hour,
                                                  minute=NIGHTLY_SEAL_AT.minute,
                                                  timezone=VIETNAM), id="seal-nightly")
        add(self._seal_tick, IntervalTrigger(minutes=1, timezone=VIETNAM), id="seal-due")
        add(self._tick(hourly_purge), CronTrigger(minute=PURGE_MINUTE, timezone=VIETNAM),
            id="purge")
        try:
            self.record(catch_up(datetime.now(VIETNAM)))
        except Exception as exc:
            log.warning("schedule: catching up failed: %s", exc)
        self.scheduler.start()
        return self

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
