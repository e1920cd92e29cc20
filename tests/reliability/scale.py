"""How hard the reliability suites push: a short run inside ``make test``, a long one in
``make reliability`` (``DANVAN_RELIABILITY=long``). The same tests run in both; only these
numbers change, so a failure seen in the long run reproduces in the short one's code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV = "DANVAN_RELIABILITY"


@dataclass(frozen=True)
class Scale:
    name: str
    fuzz_examples: int
    """Generated requests per (operation, role) of the OpenAPI document."""
    graphql_examples: int
    """Generated queries per (root field, role)."""
    hostile_everywhere: bool
    """Every hostile value in every member; otherwise each value once per route and each
    member once (a rotation that still puts every value on every route)."""
    load_seconds: float
    load_clients: int
    load_tenants: int
    faults: int
    """Faults injected under load (rounds of the four kinds, shuffled)."""
    fault_every: tuple[float, float]
    """Seconds between two faults: drawn uniformly from this range."""
    history_examples: int
    """Random histories per property test of the read models (every way of applying the log,
    time travel), besides the deep history each of them always runs."""


SHORT = Scale("short", fuzz_examples=2, graphql_examples=4, hostile_everywhere=False,
              load_seconds=30, load_clients=32, load_tenants=8, faults=4,
              fault_every=(4, 8), history_examples=5)
LONG = Scale("long", fuzz_examples=40, graphql_examples=60, hostile_everywhere=True,
             load_seconds=600, load_clients=32, load_tenants=50, faults=48,
             fault_every=(4, 10), history_examples=50)


def current() -> Scale:
    return LONG if os.environ.get(ENV, "").strip().lower() == "long" else SHORT
