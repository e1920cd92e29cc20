"""How fresh the read models are: a stamp that changes whenever a projection applies a batch
or a rebuild switches in (the active versions and positions), read at most every ``max_age``
seconds (0: on every call), together with every province's count of changed batches
(``projections.province_changes``). Concurrent callers share one read. The caches key on them:
what one province shows stays valid while another province's data moves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from danvan.graphql.db import Reader
from danvan.projections.base import Connection
from danvan.projections.province_changes import EVERY_PROVINCE, every_change
from danvan.projections.schema import read_models_stamp

Stamp = tuple[int, ...]
Changes = Mapping[str, int]
PRODUCTION_MAX_AGE = 0.1
"""In production a reader may see the read models up to 0.1 s later than a strict check would:
far less than the projector's own lag, for one database round trip less per request."""


class Freshness:
    def __init__(self, *, max_age: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self.clock = clock
        self._stamp: Stamp | None = None
        self._changes: Changes = {}
        self._read_at = 0.0
        self._reading: asyncio.Future[tuple[Stamp, Changes]] | None = None
        self.reads = 0

    async def stamp(self, reader: Reader, *, max_age: float | None = None) -> Stamp:
        """The stamp, read again if the last read is older than ``max_age`` (default: the
        configured one). Reads never overlap, so a later answer is never an older stamp."""
        allowed = self.max_age if max_age is None else max_age
        if self._stamp is not None and self.clock() - self._read_at < allowed:
            return self._stamp
        if self._reading is None:
            self.reads += 1
            self._reading = asyncio.ensure_future(reader.run_unscoped(read_marks))
            self._reading.add_done_callback(self._read)
        return (await asyncio.shield(self._reading))[0]

    def changes(self) -> Changes:
        """Every province's count of changed batches, read with the last stamp (so before
        whatever a caller reads after ``stamp``)."""
        return self._changes

    def _read(self, done: asyncio.Future[tuple[Stamp, Changes]]) -> None:
        self._reading = None
        if not done.cancelled() and done.exception() is None:
            (self._stamp, self._changes), self._read_at = done.result(), self.clock()


def read_marks(conn: Connection) -> tuple[Stamp, Changes]:
    return read_models_stamp(conn), every_change(conn)


def scope_mark(stamp: Stamp, changes: Changes, provinces: Sequence[str] | None) -> Any:
    """What an answer read in a scope of ``provinces`` depends on: the active versions and
    those provinces' counts of changed batches (``*``'s too: events of unknown tenants);
    ``None`` (every province): the whole stamp."""
    if provinces is None:
        return stamp
    return (stamp[0::2], tuple(changes.get(p, 0) for p in provinces),
            changes.get(EVERY_PROVINCE, 0))
