"""``danvan rebuild [NAME ...] [--stale] [--keep-old] [--batch-size N] [--shards N]``: rebuild
read models into new tables while the current ones keep serving, then switch readers
atomically (to versions kept in N tenant shards with ``--shards``; by default in the old
versions' layout)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("rebuild", help="rebuild read models (blue/green)")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="projections to rebuild (default: all)")
    parser.add_argument("--stale", action="store_true",
                        help="only those whose tables' shape differs from the code's")
    parser.add_argument("--keep-old", action="store_true",
                        help="keep the previous version's schema after the switch")
    parser.add_argument("--batch-size", type=int, default=20_000,
                        help="events per transaction (default 20000)")
    parser.add_argument("--shards", type=int, metavar="N",
                        help="keep the new versions in N tenant shards (1: unsharded; "
                             "default: as the old versions)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from danvan.backend.cli import CommandError
    from danvan.backend.commands.serve import settings_with_database
    from danvan.backend.console import ProgressBar
    from danvan.infra.database import connect_owner, owner_params
    from danvan.infra.settings import get_settings
    from danvan.projections.catalog import by_names
    from danvan.projections.rebuild import RebuildBusy, rebuild_all
    from danvan.projections.schema import ensure_read_models, stale
    from danvan.projections.sharding import MAX_SHARDS, ShardingError, check_shardable

    settings = settings_with_database(get_settings())
    try:
        projections = by_names(args.names)
    except KeyError as exc:
        raise CommandError(str(exc.args[0])) from exc
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
        if args.stale:
            names = set(stale(conn, projections))
            projections = [p for p in projections if p.name in names]
    if not projections:
        print("nothing to rebuild")
        return 0
    if args.shards is not None:
        if not 1 <= args.shards <= MAX_SHARDS:
            raise CommandError(f"--shards must be between 1 and {MAX_SHARDS}")
        if args.shards > 1:
            try:
                check_shardable(projections)
            except ShardingError as exc:
                raise CommandError(str(exc)) from exc
    label = f"rebuild {','.join(p.name for p in projections)}"
    bars: list[ProgressBar] = []

    def progress(stage: str, position: int, head: int) -> None:
        if not bars:
            bars.append(ProgressBar(label, head, stream=sys.stderr))
        if stage == "indexes":
            bars[-1].update(position, head, force=True)
            print(f"\n{label}: building indexes", file=sys.stderr)
            return
        bars[-1].update(position, head)

    try:
        done = rebuild_all(owner_params(settings).conninfo(), projections,
                           app_role=settings.app_db_role, batch_size=args.batch_size,
                           keep_old=args.keep_old, progress=progress, shards=args.shards)
    except RebuildBusy as exc:
        raise CommandError(str(exc)) from exc
    if bars:
        bars[-1].finish()
    for r in done:
        print(f"{r.name}: v{r.old_version} -> v{r.new_version} at position {r.position:,} "
              f"({r.events:,} events replayed in one pass)")
    return 0
