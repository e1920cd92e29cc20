"""Province figures computed once and shared by every caller who may read the province.

A province's quotas and summary take a few queries over all its tenants; a dashboard asks for
them all day and they change only when a projection applies a batch that touches the province.
So the figures of ``(province, year, asOf)`` are kept per process and reused while the read
models have not moved (``freshness.Freshness``: checked on every request outside production,
so a read after the projector caught up always sees it; at most every 0.1 s in production).
When they moved, the figures are still good if no batch since touched the province (the
projector counts the batches per province, ``projections.province_changes``) and no rebuild
switched a version in; else the next caller waits for fresh figures. Figures judged at "now"
(no ``asOf``) also age with the clock (status and "at risk" depend on it): after ``now_ttl``
seconds they are recomputed in the background while callers keep the previous ones.
Concurrent misses for one key share one computation. Access is checked before ``get``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from danvan.graphql.db import Reader
from danvan.graphql.freshness import Freshness, Stamp, scope_mark
from danvan.projections.models.read import province_figures
from danvan.projections.models.rows import ProvinceFigures

log = logging.getLogger(__name__)

Key = tuple[str, int, datetime | None]
Mark = object
"""The active versions and the province's count of changed batches (``scope_mark``)."""


@dataclass(frozen=True)
class _Entry:
    stamp: Stamp
    mark: Mark
    computed_at: float
    figures: ProvinceFigures


class FiguresCache:
    def __init__(self, *, freshness: Freshness | None = None, now_ttl: float = 60.0,
                 max_entries: int = 1024, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.freshness = freshness or Freshness(clock=clock)
        self.now_ttl = now_ttl
        self.max_entries = max_entries
        self.enabled = enabled
        self.clock = clock
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._computing: dict[Key, asyncio.Future[_Entry]] = {}
        self.hits = 0
        self.misses = 0

    async def get(self, reader: Reader, code: str, year: int,
                  as_of: datetime | None) -> ProvinceFigures:
        scoped = reader.scoped_to(province_codes=(code,))
        if not self.enabled:
            return await scoped.run(province_figures, code, year, as_of=as_of)
        stamp = await self.freshness.stamp(scoped)
        key = (code, year, as_of)
        entry = self._entries.get(key)
        if entry is not None and entry.stamp != stamp \
                and self._mark(code, stamp) == entry.mark:
            entry = self._entries[key] = replace(entry, stamp=stamp)  # still good
        if entry is not None and entry.stamp == stamp:
            self._entries.move_to_end(key)
            self.hits += 1
            if as_of is None and self.clock() - entry.computed_at >= self.now_ttl:
                self._computing_for(scoped, key, stamp)  # refresh in the background
            return entry.figures
        self.misses += 1
        return (await asyncio.shield(self._computing_for(scoped, key, stamp))).figures

    def _computing_for(self, reader: Reader, key: Key, stamp: Stamp
                       ) -> asyncio.Future[_Entry]:
        pending = self._computing.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._compute(reader, key, stamp))
            self._computing[key] = pending
            pending.add_done_callback(lambda done: self._computed(key, done))
        return pending

    def _mark(self, code: str, stamp: Stamp) -> Mark:
        return scope_mark(stamp, self.freshness.changes(), (code,))

    async def _compute(self, reader: Reader, key: Key, stamp: Stamp) -> _Entry:
        code, year, as_of = key
        mark = self._mark(code, stamp)  # read before: a later batch is seen again
        figures = await reader.run(province_figures, code, year, as_of=as_of)
        entry = _Entry(stamp, mark, self.clock(), figures)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return entry

    def _computed(self, key: Key, done: asyncio.Future[_Entry]) -> None:
        self._computing.pop(key, None)
        if not done.cancelled() and done.exception() is not None:
            log.warning("province figures %s failed: %s", key, done.exception())
