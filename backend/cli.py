"""``danvan``: the command line. Subcommands live in ``backend/commands/*.py``.

To add a subcommand, drop a module into ``backend/commands/`` that defines::

    def register(commands: Subcommands) -> None:
        parser = commands.add_parser("name", help="one line")
        parser.add_argument(...)
        parser.set_defaults(handler=run)

    def run(args: argparse.Namespace) -> int:   # the exit code
        ...

Modules are found by name (no list to edit) and imported on every invocation, so keep
their top level light: import heavy dependencies inside ``run``. Nested verbs
(``danvan audit verify``) are subparsers of the module's own parser.
A ``SettingsError`` or ``CommandError`` becomes a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from danvan.backend import commands as commands_package
from danvan.infra.settings import SettingsError

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subcommands = argparse._SubParsersAction


class CommandError(RuntimeError):
    """A command failed in a way the user can fix; printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="danvan", description="danvan backend commands")
    parser.add_argument("--log-level", default=None,
                        help="logging level (default: $DANVAN_LOG_LEVEL or INFO)")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands_package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands_package.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = args.log_level or os.environ.get("DANVAN_LOG_LEVEL") or "INFO"
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = getattr(args, "handler", None)
    if handler is None:  # a command group called without its verb
        parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "--help"])
        return 2
    try:
        return int(handler(args) or 0)
    except (SettingsError, CommandError) as exc:
        print(f"danvan {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
