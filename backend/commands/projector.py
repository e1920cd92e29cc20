"""``danvan projector [--only NAME ...] [--batch-size N] [--poll-interval S]``: follow the
event log and keep the read models up to date until SIGTERM or Ctrl-C.

Start as many as you like: one applies (advisory locks), the others stand by and take over
within about half a second when it dies. Give ``--only`` to run projections as shards.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("projector", help="keep the read models up to date")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="only these projections (default: all)")
    parser.add_argument("--batch-size", type=int, default=5000,
                        help="events per transaction (default 5000)")
    parser.add_argument("--poll-interval", type=float, default=1.0,
                        help="seconds between polls when no NOTIFY arrives (default 1)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from danvan.backend.cli import CommandError
    from danvan.infra.settings import get_settings
    from danvan.projections.catalog import by_names
    from danvan.projections.embedded import make_runner

    try:
        projections = by_names(args.only)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from exc
    runner = make_runner(get_settings(), projections, batch_size=args.batch_size,
                         poll_interval=args.poll_interval)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.run(stop)
    return 0
