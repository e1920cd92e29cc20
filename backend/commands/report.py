"""``danvan report``: write an official report to a file, as the report job would, and say
how long it took (the figures read, the document laid out, converted to PDF).

    danvan report --province 15 --kind quota --year 2026 --format pdf --out quota.pdf
    danvan report --tenant <id> --kind review --period h1 --format docx --repeat 3

It reads the DATABASE_URL database's read models as the application's role (the same read
API and layout as ``POST .../reports``) and keeps nothing in the database.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from danvan.backend.cli import Subcommands


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("report", help="write an official report to a file, timed")
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--province", help="a province's code (its consolidated report)")
    scope.add_argument("--tenant", help="a tenant's id")
    parser.add_argument("--kind", required=True,
                        choices=["registration_list", "recognition_list", "quota", "review"])
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument("--format", default="docx", choices=["docx", "xlsx", "pdf"])
    parser.add_argument("--period", choices=["h1", "9m", "year"])
    parser.add_argument("--as-of", help="ISO moment with its offset, e.g. 2026-06-30T23:59+07:00")
    parser.add_argument("--out", help="the file to write (default: the report's own name)")
    parser.add_argument("--repeat", type=int, default=1, help="times to make it (default 1)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import statistics
    import time
    from datetime import datetime
    from pathlib import Path

    from danvan.backend.jobs.reports import render
    from danvan.domain.policies import province_scope
    from danvan.domain.reports import ReportFormat, ReportKind, ReportPeriod, ReportRequest
    from danvan.infra.settings import get_settings

    request = ReportRequest(
        ReportKind(args.kind), args.year, ReportFormat(args.format),
        ReportPeriod(args.period) if args.period else None,
        datetime.fromisoformat(args.as_of) if args.as_of else None).checked()
    scope_id = province_scope(args.province) if args.province else args.tenant
    settings = get_settings()
    seconds = []
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        content, name, _, moment, position = render(settings, scope_id, request)
        seconds.append(time.perf_counter() - started)
    out = Path(args.out or name)
    out.write_bytes(content)
    print(f"{out}: {len(content):,} bytes, figures at position {position}"
          f"{' as of ' + moment.isoformat() if moment else ''}; "
          f"{statistics.median(seconds):.2f} s (median of {len(seconds)}: "
          + ", ".join(f"{s:.2f}" for s in seconds) + ")")
    return 0
