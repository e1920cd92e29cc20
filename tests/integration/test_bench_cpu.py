"""``bench/audit.cpu_spent``: the CPU a phase cost PostgreSQL's backends, read from /proc
around it. A backend that ends during the phase (a pool closing a connection, its lifetime
over) must not take the CPU it had spent before the phase off the phase's figure."""

from __future__ import annotations

import os

import psycopg

from bench.audit import cpu_spent
from bench.serving import Served
from danvan.infra.database import app_params
from danvan.infra.settings import Settings


def test_a_backend_that_ends_during_the_phase_does_not_count_against_it(
        settings: Settings) -> None:
    params = app_params(settings).conninfo()
    with psycopg.connect(params, autocommit=True) as watcher:
        busy = psycopg.connect(params, autocommit=True)
        busy.execute("SELECT count(*) FROM generate_series(1, 3000000)")  # CPU before the phase
        _, spent = cpu_spent(busy.close, Served("", os.getpid()), watcher)
    assert spent.database >= 0.0, spent
