"""``danvan bench data --events N`` and ``danvan bench projections [--events N]``.

``data`` fills the DATABASE_URL database's event store with N realistic events (tenants from
the official catalogue, their units, users, targets, plans and models through their
lifecycle, made by the domain's own aggregates and encoded by the store's own transcoder),
in bulk. ``projections`` measures the projector on a database of its own (see
``bench/projections.py``, also an area for ``bench/registry.py``: list it there and
``danvan bench all`` runs it too). Both need a source checkout (the ``bench`` folder).

If another module already registered ``danvan bench``, these verbs join it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands

def _bench_verbs(commands: Subcommands) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The ``bench`` command's verbs, creating ``danvan bench`` if nobody has."""
    parser = commands.choices.get("bench")
    if parser is None:
        parser = commands.add_parser("bench", help="benchmarks (figures with a baseline)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="bench_verb", metavar="VERB")


def register(commands: Subcommands) -> None:
    verbs = _bench_verbs(commands)
    data = verbs.add_parser("data", help="write N realistic events into the event store")
    data.add_argument("--events", type=int, required=True, help="how many events")
    data.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    data.set_defaults(handler=run_data)
    if "projections" not in verbs.choices:  # until bench/registry.py lists the area
        _bench_package()
        from bench import projections as area

        projections = verbs.add_parser("projections", help=area.DESCRIPTION)
        projections.add_argument("--scale", choices=sorted(area.SCALES), default="national",
                                 help="small 20k, province 200k, national 1M (default)")
        projections.add_argument("--json", action="store_true", help="JSON rows")
        area.add_arguments(projections)
        projections.set_defaults(handler=run_projections)


def _bench_package() -> None:
    root = Path(__file__).resolve().parents[2]
    if not (root / "bench" / "data_generator.py").exists():
        from danvan.backend.cli import CommandError

        raise CommandError("the benchmarks need a source checkout (the bench/ folder)")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


def run_data(args: argparse.Namespace) -> int:
    _bench_package()
    from bench.data_generator import write_events
    from danvan.backend.console import ProgressBar
    from danvan.infra.database import connect_owner
    from danvan.infra.event_store import open_event_store
    from danvan.infra.settings import get_settings

    settings = get_settings()
    store = open_event_store(settings, "owner")
    bar = ProgressBar("bench data", args.events)
    try:
        with connect_owner(settings) as conn:
            stats = write_events(conn, store.mapper, args.events, seed=args.seed,
                                 progress=bar.update)
    finally:
        store.close()
    bar.finish(f"{stats.events:,} events in {stats.seconds:.1f} s "
               f"({stats.events / stats.seconds:,.0f}/s; writing, chain links computed in Python, "
               f"{stats.events / stats.copy_seconds:,.0f}/s)")
    return 0


def run_projections(args: argparse.Namespace) -> int:
    _bench_package()
    from bench.projections import run
    from bench.registry import render_json, render_table

    figures = run(args)
    print(render_json(figures) if args.json else render_table(figures), flush=True)
    return 0
