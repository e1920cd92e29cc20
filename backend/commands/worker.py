"""``danvan worker [--processes N] [--threads N] [--graceful-timeout S] [--no-schedule]``:
run background jobs from Redis (``REDIS_URL``) until SIGTERM or Ctrl-C.

Start as many as you like, on as many machines: each relays the outbox, runs the schedule
(a tick becomes one job however many run it) and takes jobs from the queues. Without
``REDIS_URL`` jobs run inside ``danvan serve`` instead (``backend/jobs/process.py``).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands

DEFAULT_THREADS = 8


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("worker", help="run background jobs (dramatiq on Redis)")
    parser.add_argument("--processes", type=int, default=None,
                        help="worker processes (default: one per core, at most 4)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help=f"threads per process (default {DEFAULT_THREADS})")
    parser.add_argument("--graceful-timeout", type=float, default=30.0,
                        help="seconds to let running jobs finish on SIGTERM (default 30)")
    parser.add_argument("--no-schedule", action="store_true",
                        help="do not record scheduled jobs from this worker")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from danvan.backend.cli import CommandError
    from danvan.backend.commands.serve import settings_with_database
    from danvan.backend.jobs.process import run_worker
    from danvan.infra.settings import get_settings

    settings = get_settings()
    if not settings.redis_url:
        raise CommandError("REDIS_URL is not set: without it, jobs run inside `danvan serve`")
    settings = settings_with_database(settings)
    processes = args.processes or max(1, min(4, os.cpu_count() or 1))
    if processes < 1 or args.threads < 1:
        raise CommandError("--processes and --threads must be at least 1")
    return run_worker(settings, processes=processes, threads=args.threads,
                      graceful_timeout=args.graceful_timeout, schedule=not args.no_schedule)
