"""``danvan projector [--only NAME ...] [--shard K/N] [--batch-size N] [--poll-interval S]
[--coalesce S]``:
follow the event log and keep the read models up to date until SIGTERM or Ctrl-C.

Start as many as you like: one applies (advisory locks), the others stand by and take over
within about half a second when it dies. Give ``--only`` to run projections as shards, and
``--shard K/N`` to apply only the events of the tenants whose hash mod N is K (one process
per K; the projections must be kept in N shards: ``reshard`` or ``danvan rebuild
--shards N``). It exits with status 2, naming topic and position, when the log holds an
event this code cannot read (a renamed class without an alias, an event from a newer
release), or naming the projection when its layout does not match ``--shard``.

``danvan projector reshard --shards N [NAME ...]``: keep the projections' active versions in
N tenant shards (1: unsharded), in place; refused while a projector applies them or while
their shards stand at different positions (then rebuild with ``--shards``).

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
    parser.add_argument("--coalesce", type=float, default=None, metavar="S",
                        help="live, seconds at least between the starts of two batches: the "
                             "commits meanwhile join the next one (default 0.02)")
    parser.add_argument("--shard", metavar="K/N",
                        help="a tenant shard: only tenants whose hash mod N is K")
    parser.set_defaults(handler=run)
    verbs = parser.add_subparsers(dest="projector_verb", metavar="VERB")
    status = verbs.add_parser("status", help="position, lag and quarantined events")
    status.add_argument("--json", action="store_true", help="the report as JSON")
    status.add_argument("--events", type=int, default=50, metavar="N",
                        help="quarantined events to list (default 50)")
    status.set_defaults(handler=run_status)
    reshard = verbs.add_parser("reshard", help="keep projections in N tenant shards")
    reshard.add_argument("names", nargs="*", metavar="NAME",
                         help="projections (default: all)")
    reshard.add_argument("--shards", type=int, required=True, metavar="N",
                         help="tenant shards (1: unsharded)")
    reshard.set_defaults(handler=run_reshard)


def run(args: argparse.Namespace) -> int:
    from danvan.backend.cli import CommandError
    from danvan.infra.database import owner_params
    from danvan.infra.settings import get_settings
    from danvan.projections.catalog import by_names
    from danvan.projections.embedded import make_runner
    from danvan.projections.event_types import UnknownEvent
    from danvan.projections.rebuild import rebuild_stale
    from danvan.projections.sharding import Shard, ShardingError, check_shardable

    try:
        projections = by_names(args.only)
        shard = Shard.parse(args.shard) if args.shard is not None else None
        if shard is not None:
            check_shardable(projections)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from exc
    except (ValueError, ShardingError) as exc:
        raise CommandError(str(exc)) from exc
    settings = get_settings()
    # new code never writes into tables built by older code: those are rebuilt first
    rebuild_stale(owner_params(settings).conninfo(), projections,
                  app_role=settings.app_db_role)
    runner = make_runner(settings, projections, batch_size=args.batch_size,
                         poll_interval=args.poll_interval, shard=shard,
                         **({} if args.coalesce is None else {"coalesce": args.coalesce}),
                         name="danvan-projector" + (f"-{shard.index}of{shard.count}"
                                                    if shard else ""))
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        runner.run(stop)
    except (UnknownEvent, ShardingError) as exc:
        raise CommandError(str(exc)) from exc
    return 0


def run_reshard(args: argparse.Namespace) -> int:
    from danvan.backend.cli import CommandError
    from danvan.backend.commands.serve import settings_with_database
    from danvan.infra.database import connect_owner
    from danvan.infra.settings import get_settings
    from danvan.projections.catalog import by_names
    from danvan.projections.schema import ensure_read_models
    from danvan.projections.sharding import MAX_SHARDS, ShardingError, reshard

    if not 1 <= args.shards <= MAX_SHARDS:
        raise CommandError(f"--shards must be between 1 and {MAX_SHARDS}")
    settings = settings_with_database(get_settings())
    try:
        projections = by_names(args.names)
        with connect_owner(settings) as conn:
            ensure_read_models(conn, settings.app_db_role)
            done = reshard(conn, projections, args.shards)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from exc
    except ShardingError as exc:
        raise CommandError(str(exc)) from exc
    for name, position in sorted(done.items()):
        kept = "unsharded" if args.shards == 1 else f"in {args.shards} tenant shards"
        print(f"{name}: kept {kept} from position {position:,}")
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
        for s in p.get("shards", ()):
            shard_runner = "yes" if s["runner_alive"] else "no"
            lines.append(f"  shard {s['shard']:<5} {'':>5} {s['position']:>10,} "
                         f"{s['lag_events']:>8,} {s['lag_seconds']:>8.0f} {shard_runner:<7} "
                         f"{s['quarantined']:>11,}")
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
