"""``danvan demo [--year Y] [--tenants N]``: load a realistic Lào Cai year (once).

Without ``DATABASE_URL`` it uses the embedded PostgreSQL, as ``danvan serve`` does.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("demo", help="load a realistic Lào Cai year of the movement")
    parser.add_argument("--year", type=int, default=None,
                        help="the demo year (default: this year, Vietnam time)")
    parser.add_argument("--tenants", type=int, default=None,
                        help="only the first N communes and wards (default: all 99)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from danvan.backend.commands.serve import settings_with_database
    from danvan.backend.demo import load_demo
    from danvan.infra.settings import get_settings

    settings = get_settings()
    if settings.is_production:
        print("refusing to load demo data in production")
        return 1
    settings = settings_with_database(settings)
    summary = load_demo(settings, year=args.year, tenant_limit=args.tenants)
    if summary is None:
        print("the demo year is already loaded")
        return 0
    print(f"demo {summary.year}: {summary.tenants} tenants, {summary.units} units, "
          f"{summary.models} models, {summary.events} events")
    print(f"accounts (password {summary.password!r}):")
    for username, roles in summary.accounts:
        print(f"  {username:<22} {roles}")
    return 0
