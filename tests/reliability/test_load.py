"""Load: clients over many tenants, several acting on the same models at once, against
``danvan serve`` (granian, two workers) and ``danvan projector`` as real processes.

Nothing but 2xx, 409 (the state moved on) and 412 (a stale ``If-Match``) may come back; every
acknowledged command is in the store once and every conflict left nothing; the server's
memory (RSS of all its processes) is back near where it started once the load stops; the
read models reach the head. ``make test``: half a minute, 32 clients, 8 tenants; ``make
reliability``: ten minutes over 50 tenants. Counts in ``.data/reliability/load.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from danvan.infra.database import ConnParams
from tests.reliability import scale
from tests.reliability.deployment import deployment
from tests.reliability.summary import record
from tests.reliability.traffic import drive, ledger, set_up

CHOSEN = scale.current()
IDLE_SECONDS = 15
"""Quiet after the load before the memory is read again."""
MIB = 1024 * 1024
MEMORY_ALLOWANCE = 0.30
"""RSS afterwards may exceed the start by this share (or 96 MiB, whichever is larger)."""

pytestmark = pytest.mark.timeout(int(CHOSEN.load_seconds * 2 + 900))


def test_conflicting_writers_meet_only_409_and_412_and_memory_comes_back(
        admin_params: ConnParams, template_database: str, tmp_path: Path) -> None:
    with deployment(admin_params, template_database, tmp_path) as live:
        crews = set_up(live, CHOSEN.load_tenants)
        start_rss = live.server.rss()
        result = drive(lambda: live.server.url, crews, CHOSEN.load_clients,
                       CHOSEN.load_seconds, retry=False)
        time.sleep(IDLE_SECONDS)
        end_rss = live.server.rss()
        book = ledger(live, result.sent)
        live.settle()
        record("load", {**book.counts(), "errors": sum(result.errors.values()),
                        "seconds": CHOSEN.load_seconds, "clients": CHOSEN.load_clients,
                        "tenants": len(crews), "rss start MiB": start_rss / MIB,
                        "rss end MiB": end_rss / MIB},
               findings=[*live.findings.as_dicts(),
                         *({"kind": k, "examples": v} for k, v in book.examples.items())])
    assert book.commands > 0 and book.acknowledged > 0
    assert not result.errors, f"statuses other than 2xx/409/412: {dict(result.errors)}"
    assert (book.lost, book.duplicated, book.misreported) == (0, 0, 0), book.examples
    assert not live.findings, live.findings.report()
    allowed = start_rss + max(96 * MIB, MEMORY_ALLOWANCE * start_rss)
    assert end_rss <= allowed, (f"RSS {start_rss / MIB:.0f} MiB before the load, "
                                f"{end_rss / MIB:.0f} MiB {IDLE_SECONDS} s after it")
