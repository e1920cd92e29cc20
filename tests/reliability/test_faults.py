"""Faults with real processes: while clients issue commands (retrying with their
``Idempotency-Key`` after a lost connection or a 5xx, as the contract invites), the harness
kills the projector with SIGKILL at random points (and starts it again), kills an API worker
with SIGKILL, terminates the application role's database connections, and stops and starts
the private Redis.

Afterwards: every acknowledged command is in the store exactly once, every refused one
appended nothing (a 409/5xx whose events are stored is *misreported*), the server is still
serving (a worker killed is replaced), the projector reaches the head, the read models
equal a blue/green rebuild (``danvan rebuild --keep-old``, EXCEPT ALL both ways), and the
audit chain verifies (``danvan audit verify``). Counts in ``.data/reliability/faults.json``.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from danvan.infra.database import ConnParams
from tests.reliability import scale
from tests.reliability.deployment import deployment
from tests.reliability.summary import record
from tests.reliability.traffic import Drive, drive, ledger, set_up

CHOSEN = scale.current()
CLIENTS = 16
TENANTS = 6
LOAD_CAP_SECONDS = 3600
TAIL_SECONDS = 5
"""Load after the last fault, so that it too meets traffic."""

pytestmark = pytest.mark.timeout(int(CHOSEN.faults * 60 + 1200))


def test_under_faults_every_acknowledged_command_is_stored_once_and_no_refusal_is(
        admin_params: ConnParams, template_database: str, tmp_path: Path) -> None:
    rng = random.Random(5)
    with deployment(admin_params, template_database, tmp_path) as live:
        crews = set_up(live, TENANTS)
        driven: list[Drive] = []
        stop = threading.Event()
        load = threading.Thread(target=lambda: driven.append(drive(
            lambda: live.server.url, crews, CLIENTS, LOAD_CAP_SECONDS, retry=True, stop=stop)))
        load.start()
        try:
            for _ in range(CHOSEN.faults):
                time.sleep(rng.uniform(*CHOSEN.fault_every))
                live.inject_one()
            time.sleep(TAIL_SECONDS)
        finally:
            stop.set()
            load.join()
        live.settle()
        book = ledger(live, driven[0].sent)
        differ = live.compare_with_rebuild()
        verified = live.audit_verify()
        injected = sum(n for kind, n in live.faults.items() if kind != "backends killed")
        record("faults", {"faults injected": injected, **live.faults,
                          "server starts": live.server.starts,
                          "projector starts": live.projector.starts, **book.counts(),
                          "tables differing": len(differ), "chain verified": int(verified)},
               findings=[*live.findings.as_dicts(),
                         *({"kind": k, "examples": v} for k, v in book.examples.items())])
    assert injected > 0 and book.acknowledged > 0
    assert (book.lost, book.duplicated, book.misreported) == (0, 0, 0), (
        f"{book.counts()}\n{book.examples}")
    assert not live.findings, live.findings.report()
