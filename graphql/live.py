"""Live quota rows for the ``quotaChanged(provinceCode, year)`` subscription.

One ``QuotaFeed`` per API process LISTENs on the projector's ``danvan_applied`` channel
(``projections/runner.py``: a NOTIFY after every committed batch). On a notification it
waits ``settle`` seconds (more batches coalesce), then, for each (province, year) someone
subscribed to, reads the province's quota rows once through the figures cache (the same
reading as ``province.quotas``) and hands every subscriber the rows that differ from the last
ones it saw.

Bounded: each subscriber has a queue of ``queue_size`` rows; a subscriber whose queue is
full (a client that does not read) is dropped, its subscription ending with an error, rather
than buffered without limit. An idle subscriber costs its queue and one async generator.

    feed = QuotaFeed(sources, conninfo)          # started and stopped by the app's lifespan
    async for row in feed.rows("15", 2026):      # the subscription's resolver
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from danvan.graphql.db import Reader
from danvan.projections.models.rows import TenantQuota
from danvan.projections.runner import APPLIED_CHANNEL

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
SETTLE_SECONDS = 0.2


class SlowSubscriber(Exception):
    """The subscriber's queue filled up: it is dropped."""


@dataclass(eq=False)
class Subscriber:
    queue: asyncio.Queue[TenantQuota]
    dropped: bool = False


@dataclass
class Group:
    """Everyone watching one province and year, and the rows they were last given."""

    code: str
    year: int
    subscribers: set[Subscriber] = field(default_factory=set)
    last: dict[str, TenantQuota] | None = None


class QuotaFeed:
    def __init__(self, pool: Any, figures: Any, conninfo: str, *,
                 queue_size: int = QUEUE_SIZE, settle: float = SETTLE_SECONDS,
                 connect: Callable[[str], Any] | None = None) -> None:
        self.pool = pool
        self.figures = figures
        self.conninfo = conninfo
        self.queue_size = queue_size
        self.settle = settle
        self._connect = connect or (lambda info: psycopg.AsyncConnection.connect(
            info, autocommit=True))
        self.groups: dict[tuple[str, int], Group] = {}
        self._moved = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0
        self.published = 0

    # --- lifecycle (the app's lifespan) ---------------------------------------------------

    async def start(self) -> None:
        self._moved = asyncio.Event()
        self._tasks = [asyncio.create_task(self._listen(), name="quota-feed-listen"),
                       asyncio.create_task(self._publish(), name="quota-feed-publish")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    # --- subscribing ----------------------------------------------------------------------

    async def rows(self, code: str, year: int) -> AsyncIterator[TenantQuota]:
        """The province's quota rows of ``year`` as they change, until the client goes or is
        dropped (``SlowSubscriber``)."""
        key = (code, year)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(code, year)
        subscriber = Subscriber(asyncio.Queue(self.queue_size))
        group.subscribers.add(subscriber)
        try:
            if group.last is None:
                group.last = await self._read(group)
            while True:
                row = await subscriber.queue.get()
                if subscriber.dropped:
                    raise SlowSubscriber("too slow: the subscription was dropped; subscribe "
                                         "again to go on")
                yield row
        finally:
            group.subscribers.discard(subscriber)
            if not group.subscribers and self.groups.get(key) is group:
                del self.groups[key]

    def subscribers(self) -> int:
        return sum(len(g.subscribers) for g in self.groups.values())

    # --- the work -------------------------------------------------------------------------

    async def _read(self, group: Group) -> dict[str, TenantQuota]:
        reader = Reader(self.pool, province_codes=(group.code,))
        figures = await self.figures.get(reader, group.code, group.year, None)
        return {q.tenant.id: q for q in figures.quotas}

    async def _listen(self) -> None:
        backoff = 0.5
        while True:
            try:
                conn = await self._connect(self.conninfo)
                async with conn:
                    await conn.execute(f"LISTEN {APPLIED_CHANNEL}")
                    backoff = 0.5
                    self._moved.set()  # may have missed some while away
                    async for _ in conn.notifies():
                        self._moved.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("quota feed: listening failed (%s); again in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _publish(self) -> None:
        while True:
            await self._moved.wait()
            await asyncio.sleep(self.settle)
            self._moved.clear()
            for group in list(self.groups.values()):
                if not group.subscribers or group.last is None:
                    continue
                try:
                    now = await self._read(group)
                except Exception as exc:
                    log.warning("quota feed: reading %s/%s failed: %s", group.code,
                                group.year, exc)
                    continue
                changed = [row for tenant, row in now.items() if group.last.get(tenant) != row]
                group.last = now
                if changed:
                    self._hand(group, changed)

    def _hand(self, group: Group, rows: list[TenantQuota]) -> None:
        for subscriber in list(group.subscribers):
            if subscriber.dropped:
                continue
            if subscriber.queue.maxsize - subscriber.queue.qsize() < len(rows) + 1:
                subscriber.dropped = True
                self.dropped += 1
                with contextlib.suppress(asyncio.QueueFull):
                    subscriber.queue.put_nowait(rows[0])  # wakes it to end
                continue
            for row in rows:
                subscriber.queue.put_nowait(row)
            self.published += len(rows)
