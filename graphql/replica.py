"""Reading from a streaming replica (``DANVAN_READ_REPLICA_URL``): a request is answered from
the replica while its read models are at most ``max_lag`` seconds behind the primary's
(``projections/replica_lag.py`` says how that is known) and, for read-your-writes, have reached
the position asked for; otherwise, or while the replica does not answer, from the primary. The
answer says which (``extensions.readFrom``) and how far behind the replica was
(``extensions.replicaLagSeconds``).

The replica has its own ``ReadSources`` (pool, freshness, caches): a cache never mixes what
the two servers saw.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from psycopg_pool import PoolTimeout

from danvan.graphql.db import Reader
from danvan.projections.replica_lag import ReplicaState, behind_seconds, replica_state
from danvan.projections.schema import stamp_position

if TYPE_CHECKING:
    from danvan.graphql.sources import ReadSources

PRIMARY, REPLICA = "primary", "replica"
STATE_TIMEOUT = 0.5
"""The longest a request waits for a connection to the replica before the primary answers."""
RETRY_SECONDS = 5.0
"""After the replica failed to answer, the primary serves alone this long before it is tried
again (a replica down costs no request a timeout each)."""


@dataclass(frozen=True)
class Route:
    sources: ReadSources
    read_from: str = PRIMARY
    replicated: bool = False
    """A replica is configured (the answer then says where it was read)."""
    lag_seconds: float | None = None
    """How far behind the replica was (None: it did not answer, or the bound is unknown)."""

    def extensions(self) -> dict[str, object]:
        if not self.replicated:
            return {}
        return {"readFrom": self.read_from, "replicaLagSeconds": self.lag_seconds}


class Replica:
    def __init__(self, sources: ReadSources, *, max_lag: float, max_age: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sources = sources
        self.max_lag = max_lag
        self.max_age = max_age
        self.clock = clock
        self._state: ReplicaState | None = None
        self._read_at = 0.0
        self._down_until = 0.0

    async def state(self) -> ReplicaState | None:
        """The replica's state, read at most every ``max_age`` seconds; None while it does
        not answer."""
        now = self.clock()
        if now < self._down_until:
            return None
        if self._state is not None and now - self._read_at < self.max_age:
            return self._state
        try:
            state = await asyncio.to_thread(self._read_state)
        except (psycopg.Error, PoolTimeout):
            self._down_until = self.clock() + RETRY_SECONDS
            return None
        self._state, self._read_at = state, self.clock()
        return state

    def _read_state(self) -> ReplicaState:
        with self.sources.pool.connection(timeout=STATE_TIMEOUT) as conn:
            return replica_state(conn)


async def route(sources: ReadSources, wanted: int | None) -> Route:
    """Where to read a request from (``wanted``: the position it must see)."""
    replica = sources.replica
    if replica is None:
        return Route(sources)
    state = await replica.state()
    if state is None:
        return Route(sources, replicated=True)
    primary = stamp_position(await sources.freshness.stamp(Reader(sources.pool)))
    lag = behind_seconds(primary, state)
    usable = lag is not None and lag <= replica.max_lag \
        and (wanted is None or state.position >= wanted)
    return Route(replica.sources if usable else sources, REPLICA if usable else PRIMARY,
                 replicated=True, lag_seconds=lag)
