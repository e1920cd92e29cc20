"""``danvan bench [AREA|all] [--scale S] [--json] [AREA's options]``: the benchmarks.

The areas are modules of the source tree's ``bench/`` folder, listed in ``bench/registry.py``
(``commands``: the command API against the event store's own save); ``danvan bench`` alone
runs them all. Each prints one row per figure with its baseline measured in the same run (see
API.md). Other modules may add verbs of their own to ``danvan bench`` (``bench_data.py``:
``data``, ``projections``): this one creates the verbs' sub-parser or joins the one it finds.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands

log = logging.getLogger(__name__)

SOURCE_TREE = Path(__file__).resolve().parents[2]


def _registry() -> object | None:
    """``bench.registry``, importable from a source checkout whatever the working folder."""
    if not (SOURCE_TREE / "bench" / "registry.py").is_file():
        return None
    if str(SOURCE_TREE) not in sys.path:
        sys.path.insert(0, str(SOURCE_TREE))
    from bench import registry

    return registry


def _verbs(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="bench_verb", metavar="AREA")


def register(commands: Subcommands) -> None:
    parser = commands.choices.get("bench") or commands.add_parser(
        "bench", help="benchmarks, each figure beside a baseline measured in the same run",
        description="Benchmarks (loopback only, bounded in time). Without AREA: all of "
                    "bench/registry.py's areas. Put options after the AREA.")
    registry = _registry()
    if registry is None:  # an installed package without the source tree's bench/
        parser.set_defaults(handler=_no_source_tree)
        return
    from bench.registry import AREAS, add_common_arguments, load

    add_common_arguments(parser)
    parser.set_defaults(handler=run, bench_area="all")
    verbs = _verbs(parser)
    for name in [*AREAS, "all"]:
        if name in verbs.choices:
            continue
        module = load(name) if name != "all" else None
        help_ = getattr(module, "DESCRIPTION", None) or "every area of bench/registry.py"
        verb = verbs.add_parser(name, help=help_, description=help_)
        add_common_arguments(verb)
        if module is not None:
            module.add_arguments(verb)
        verb.set_defaults(handler=run, bench_area=name)


def _no_source_tree(args: argparse.Namespace) -> int:
    from danvan.backend.cli import CommandError

    raise CommandError("the benchmarks live in the source tree's bench/ folder, which this "
                       "installation does not have")


def run(args: argparse.Namespace) -> int:
    from bench.registry import AREAS, Figure, area_parser, load, render_json, render_table

    figures: list[Figure] = []
    failed = 0
    if args.bench_area != "all":
        figures.extend(load(args.bench_area).run(args))
    for name in (list(AREAS) if args.bench_area == "all" else []):
        module = load(name)
        # each area with its defaults and the common options; one that fails is a row that
        # says so, and the areas after it still run
        common = ["--scale", args.scale, *(["--json"] if args.json else [])]
        try:
            figures.extend(module.run(area_parser(name, module).parse_args(common)))
        except Exception as exc:
            log.exception("bench %s failed", name)
            failed += 1
            figures.append(Figure(f"{name} (the area failed)", 0.0, "",
                                  target=f"runs to its end (got {type(exc).__name__}: {exc})",
                                  met=False))
    print(render_json(figures) if args.json else render_table(figures), flush=True)
    return 1 if failed else 0
