"""``danvan projector [--only NAME ...] [--batch-size N] [--poll-interval S]``: follow the
event log and keep the read models up to date until SIGTERM or Ctrl-C.

Start as many as you like: one applies (advisory locks), the others stand by and take over
within about half a second when it dies. Give ``--only`` to run projections as shards.
It exits with status 2, naming topic and position, when the log holds an event this code
cannot read (a renamed class without an alias, an event from a newer release).

``danvan projector status [--json] [--events N]``: per projection (active version) the
position, lag, whether a runner holds it, why it halted if it did, and the events it
quarantined (per tenant, then each with its position, aggregate and error). Exit status 1
unless all is well (each projection caught up or advancing, nothing quarantined or halted),
so a cron job or a probe can alert on it.
"""

from __future__ import annotations

import argparse
import json
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
    verbs = parser.add_subparsers(dest="projector_verb", metavar="VERB")
    status = verbs.add_parser("status", help="position, lag and quarantined events")
    status.add_argument("--json", action="store_true", help="the report as JSON")
    status.add_argument("--events", type=int, default=50, metavar="N",
                        help="quarantined events to list (default 50)")
    status.set_defaults(handler=run_status)


def run(args: argparse.Namespace) -> int:
    from danvan.backend.cli import CommandError
    from danvan.infra.database import owner_params
    from danvan.infra.settings import get_settings
    from danvan.projections.catalog import by_names
    from danvan.projections.embedded import make_runner
    from danvan.projections.event_types import UnknownEvent
    from danvan.projections.rebuild import rebuild_stale

    try:
        projections = by_names(args.only)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from exc
    settings = get_settings()
    # new code never writes into tables built by older code: those are rebuilt first
    rebuild_stale(owner_params(settings).conninfo(), projections,
                  app_role=settings.app_db_role)
    runner = make_runner(settings, projections, batch_size=args.batch_size,
                         poll_interval=args.poll_interval)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        runner.run(stop)
    except UnknownEvent as exc:
        raise CommandError(str(exc)) from exc
    return 0


def run_status(args: argparse.Namespace) -> int:
    from danvan.backend.commands.serve import settings_with_database
    from danvan.infra.database import connect_owner
    from danvan.infra.settings import get_settings
    from danvan.projections.lag import lag_report

    with connect_owner(settings_with_database(get_settings())) as conn:
        report = lag_report(conn, listed=args.events)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    else:
        print(status_text(report))
    return 0 if report["ok"] else 1


def status_text(report: dict[str, Any]) -> str:
    """The report as an operator reads it in a terminal."""
    lines = [f"log head {report['head']:,}" if report["head"] is not None else "no projections",
             f"{'projection':<10} {'version':>7} {'position':>10} {'lag':>8} {'lag s':>8} "
             f"{'runner':<7} {'quarantined':>11}"]
    for p in report["projections"]:
        runner = "yes" if p["runner_alive"] else "no"
        rebuilding = f"  (rebuilding v{p['rebuilding_version']})" \
            if p["rebuilding_version"] else ""
        lines.append(f"{p['name']:<10} {p['version']:>7} {p['position']:>10,} "
                     f"{p['lag_events']:>8,} {p['lag_seconds']:>8.0f} {runner:<7} "
                     f"{p['quarantined']:>11,}{rebuilding}")
        if p["halt_reason"]:
            lines.append(f"  halted since {p['halted_at']}: {p['halt_reason']}")
    quarantined = report["quarantined"]
    if not quarantined["total"]:
        lines.append("no quarantined events")
        return "\n".join(lines)
    lines.append(f"\nquarantined events: {quarantined['total']:,} (per projection and tenant)")
    for name, tenants in quarantined["by_projection"].items():
        for tenant, count in tenants.items():
            lines.append(f"  {name:<10} {tenant or '(no tenant)'}  {count:,}")
    shown = quarantined["events"]
    lines.append(f"\n{len(shown)} of them, in log order "
                 "(replay with `danvan rebuild NAME` once a fix or an upcaster is deployed):")
    for e in shown:
        lines.append(f"  {e['name']} v{e['version']} position {e['position']:,} "
                     f"tenant {e['tenant_id']} {e['topic'].rpartition(':')[2]} "
                     f"aggregate {e['aggregate_id']} v{e['aggregate_version']} "
                     f"at {e['quarantined_at']}\n    {e['error']}")
    return "\n".join(lines)
