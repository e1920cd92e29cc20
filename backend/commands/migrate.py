"""``danvan migrate [--check] [--reset-app-password]``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands


def register(commands: Subcommands) -> None:
    parser = commands.add_parser(
        "migrate", help="create or upgrade the database schema (as the DATABASE_URL owner)")
    parser.add_argument("--check", action="store_true",
                        help="only list pending steps; exit 1 if there are any")
    parser.add_argument("--reset-app-password", action="store_true",
                        help="set the application role's password from DANVAN_APP_DB_PASSWORD")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from danvan.backend.setup import prepare_database
    from danvan.infra.migrations import pending_migrations
    from danvan.infra.settings import get_settings

    settings = get_settings()
    if args.check:
        pending = pending_migrations(settings)
        for name in pending:
            print(f"pending {name}")
        return 1 if pending else 0
    applied = prepare_database(settings, reset_app_password=args.reset_app_password)
    for name in applied:
        print(f"applied {name}")
    if not applied:
        print("schema is up to date")
    return 0
