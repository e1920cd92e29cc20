"""``danvan graphql export-schema [--output PATH] [--check]`` and ``danvan graphql operations``.

The SDL of the read API is committed as ``graphql/schema.graphql``; a test fails when the code
and that file differ. Run ``danvan graphql export-schema`` after changing the schema (and
review the diff: clients rely on it). ``operations`` lists the persisted queries (id, hash).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("graphql", help="the GraphQL read API's schema and operations")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    export = verbs.add_parser("export-schema", help="write the SDL (graphql/schema.graphql)")
    export.add_argument("--output", type=Path, default=None,
                        help="where to write ('-' for standard output; default: the "
                             "committed graphql/schema.graphql)")
    export.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the committed SDL is out of date")
    export.set_defaults(handler=export_schema)
    listing = verbs.add_parser("operations", help="list the persisted queries and hashes")
    listing.set_defaults(handler=list_operations)


def export_schema(args: argparse.Namespace) -> int:
    from danvan.graphql.schema import SDL_PATH, schema_sdl

    sdl = schema_sdl()
    target: Path = args.output or SDL_PATH
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != sdl:
            print(f"{target} is out of date: run danvan graphql export-schema", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    if str(target) == "-":
        sys.stdout.write(sdl)
        return 0
    target.write_text(sdl, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def list_operations(args: argparse.Namespace) -> int:
    from danvan.graphql.persisted import persisted_queries

    for key, query in sorted(persisted_queries().items()):
        if key == query.id:
            print(f"{query.id}\t{query.sha256}")
    return 0
