"""``danvan jobs dead|retry ID|show ID|ping|reminders``: the jobs' dead letters, a check of
the pipeline, a day's reminders by hand.

``dead`` lists jobs that failed their last retry; ``retry ID`` queues one again (its retries
start afresh); ``show ID`` prints a job as the API shows it; ``ping`` records a job that does
nothing and waits for a worker to do it (exit 1 if none did within ``--timeout``);
``reminders [--at MOMENT] [--here]`` records the reminders of that moment's day (Vietnam
time; a day already recorded is not recorded again) and, with ``--here``, does them in this
process and prints what was recorded.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands
    from danvan.infra.jobs import JobStore


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("jobs", help="dead jobs, replays, a pipeline check")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    dead = verbs.add_parser("dead", help="list jobs that failed their last retry")
    dead.add_argument("--limit", type=int, default=100)
    dead.add_argument("--json", action="store_true", help="print JSON lines")
    dead.set_defaults(handler=run_dead)
    retry = verbs.add_parser("retry", help="queue a dead job again")
    retry.add_argument("job_id", metavar="ID")
    retry.set_defaults(handler=run_retry)
    show = verbs.add_parser("show", help="print one job")
    show.add_argument("job_id", metavar="ID")
    show.set_defaults(handler=run_show)
    ping = verbs.add_parser("ping", help="record a no-op job and wait for it to be done")
    ping.add_argument("--timeout", type=float, default=30.0)
    ping.set_defaults(handler=run_ping)
    remind = verbs.add_parser("reminders", help="record (and with --here, do) a day's reminders")
    remind.add_argument("--at", help="the moment (ISO 8601; default now), Vietnam time if no "
                                     "offset is given")
    remind.add_argument("--here", action="store_true",
                        help="do the jobs in this process and print the reminders recorded")
    remind.add_argument("--timeout", type=float, default=600.0)
    remind.set_defaults(handler=run_reminders)


def _store() -> JobStore:
    from danvan.backend.commands.serve import settings_with_database
    from danvan.infra.database import connect_app
    from danvan.infra.jobs import JobStore
    from danvan.infra.settings import get_settings

    settings = settings_with_database(get_settings())
    return JobStore(lambda: connect_app(settings))


def run_dead(args: argparse.Namespace) -> int:
    from danvan.backend.services.jobs import job_body

    rows = _store().dead(args.limit)
    for row in rows:
        if args.json:
            print(json.dumps({**job_body(row), "tenant_id": row.tenant_id,
                              "attempts": row.attempts, "last_error": row.last_error},
                             ensure_ascii=False))
        else:
            print(f"{row.id}  {row.kind:<18} tenant={row.tenant_id or '-'} "
                  f"attempts={row.attempts} failed_at={row.finished_at:%Y-%m-%d %H:%M:%S}  "
                  f"{(row.last_error or '')[:120]}")
    if not rows and not args.json:
        print("no dead jobs")
    return 0


def run_retry(args: argparse.Namespace) -> int:
    from danvan.backend.cli import CommandError

    store = _store()
    row = store.get(args.job_id)
    if row is None:
        raise CommandError(f"no job {args.job_id}")
    if not row.dead:
        raise CommandError(f"job {args.job_id} is {row.state}, not dead: nothing to retry")
    store.revive(args.job_id)
    print(f"queued {args.job_id} ({row.kind}) again")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from danvan.backend.cli import CommandError
    from danvan.backend.services.jobs import job_body

    row = _store().get(args.job_id)
    if row is None:
        raise CommandError(f"no job {args.job_id}")
    print(json.dumps({**job_body(row), "tenant_id": row.tenant_id, "dead": row.dead,
                      "attempts": row.attempts, "last_error": row.last_error},
                     ensure_ascii=False, indent=2))
    return 0


def run_ping(args: argparse.Namespace) -> int:
    from danvan.backend.commands.serve import settings_with_database
    from danvan.infra.database import connect_app
    from danvan.infra.outbox import JobRequest, enqueue
    from danvan.infra.settings import get_settings

    settings = settings_with_database(get_settings())
    job = JobRequest("ping")
    started = time.monotonic()
    with connect_app(settings) as conn:
        enqueue(conn, [job])
    store = _store()
    while time.monotonic() - started < args.timeout:
        row = store.get(str(job.id))
        if row is not None and row.state == "succeeded":
            print(f"pong: job {job.id} done in {time.monotonic() - started:.3f} s")
            return 0
        time.sleep(0.05)
    print(f"no worker did job {job.id} within {args.timeout:.0f} s")
    return 1


def run_reminders(args: argparse.Namespace) -> int:
    from collections import Counter
    from datetime import datetime

    from danvan.backend.cli import CommandError
    from danvan.backend.commands.serve import settings_with_database
    from danvan.backend.jobs.process import InProcessJobs
    from danvan.backend.jobs.schedule import daily_reminders
    from danvan.domain.clock import VIETNAM
    from danvan.infra.database import connect_app
    from danvan.infra.outbox import enqueue
    from danvan.infra.settings import get_settings

    settings = settings_with_database(get_settings())
    try:
        at = datetime.fromisoformat(args.at) if args.at else datetime.now(VIETNAM)
    except ValueError as exc:
        raise CommandError(f"--at: {exc}") from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=VIETNAM)
    if at > datetime.now(VIETNAM):
        raise CommandError("--at is in the future: reminders are of a day that has begun")
    request = daily_reminders(at)
    with connect_app(settings) as conn:
        recorded = enqueue(conn, [request])
    day = at.astimezone(VIETNAM).date()
    if not recorded:
        print(f"the reminders of {day} were recorded already")
    else:
        print(f"recorded the reminders of {day}: job {request.id}")
    if not args.here:
        return 0
    runner = InProcessJobs(settings, schedule=False).start()
    started = time.monotonic()
    try:
        with connect_app(settings) as conn:
            while time.monotonic() - started < args.timeout:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE state IN ('queued', 'running')), "
                    "count(*) FILTER (WHERE state = 'failed') FROM jobs WHERE kind IN "
                    "('reminders', 'tenant_reminders') AND (dedup_key LIKE %s OR "
                    "dedup_key = %s)", (f"reminders:%:{day}", f"reminders:{day}")).fetchone()
                if row is not None and row[0] == 0:
                    break
                time.sleep(0.2)
            else:
                print(f"not done within {args.timeout:.0f} s")
                return 1
            sent = conn.execute(
                "SELECT tenant_id, convert_from(state, 'UTF8')::jsonb AS data "
                "FROM danvan_events WHERE topic LIKE '%%Reminder.Sent'").fetchall()
            today = [(tenant, data["subject"]) for tenant, data in sent
                     if data["day"] == day.isoformat()]
            subjects: Counter[str] = Counter(subject for _, subject in today)
            tenants = len({tenant for tenant, _ in today})
    finally:
        runner.stop()
    print(f"done in {time.monotonic() - started:.1f} s; failed jobs: {row[1]}")
    print(f"Reminder.Sent of {day}: {sum(subjects.values())} events for "
          f"{tenants} tenants")
    for subject, count in sorted(subjects.items()):
        print(f"  {subject:<28} {count}")
    return 0 if row[1] == 0 else 1
