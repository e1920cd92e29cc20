"""How fresh the read models are: a stamp that changes whenever a projection applies a batch
or a rebuild switches in (the active versions and positions), read at most every ``max_age``
seconds (0: on every call). Concurrent callers share one read. The caches key on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from danvan.graphql.db import Reader
from danvan.projections.schema import read_models_stamp

Stamp = tuple[int, ...]
PRODUCTION_MAX_AGE = 0.1
"""In production a reader may see the read models up to 0.1 s later than a strict check would:
far less than the projector's own lag, for one database round trip less per request."""


class Freshness:
    def __init__(self, *, max_age: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self.clock = clock
        self._stamp: Stamp | None = None
        self._read_at = 0.0
        self._reading: asyncio.Future[Stamp] | None = None
        self.reads = 0

    async def stamp(self, reader: Reader, *, max_age: float | None = None) -> Stamp:
        """The stamp, read again if the last read is older than ``max_age`` (default: the
        configured one). Reads never overlap, so a later answer is never an older stamp."""
        allowed = self.max_age if max_age is None else max_age
        if self._stamp is not None and self.clock() - self._read_at < allowed:
            return self._stamp
        if self._reading is None:
            self.reads += 1
            self._reading = asyncio.ensure_future(reader.run_unscoped(read_models_stamp))
            self._reading.add_done_callback(self._read)
        return await asyncio.shield(self._reading)

    def _read(self, done: asyncio.Future[Stamp]) -> None:
        self._reading = None
        if not done.cancelled() and done.exception() is None:
            self._stamp, self._read_at = done.result(), self.clock()
