"""The live quota feed's bound: a subscriber that does not read is dropped once its queue
would overflow (its subscription ends with ``SlowSubscriber``), and the others go on."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from danvan.graphql.live import Group, QuotaFeed, SlowSubscriber
from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.rows import TenantQuota

ROW = TenantQuota(TenantRef("t1", "04252", "Phường Yên Bái", "ward", "15"), 2026,
                  1, 10, 0, 2, 0, 1, 1, 0, 0, 0, 1, "in_progress", True)


def test_a_slow_subscriber_is_dropped_and_a_reader_is_not() -> None:
    async def scenario() -> None:
        feed = QuotaFeed(pool=None, figures=None, conninfo="", queue_size=4)
        group = feed.groups[("15", 2026)] = Group("15", 2026, last={})
        slow = feed.rows("15", 2026).__aiter__()
        quick = feed.rows("15", 2026).__aiter__()
        waiting = [asyncio.ensure_future(slow.__anext__()),
                   asyncio.ensure_future(quick.__anext__())]
        await asyncio.sleep(0)
        assert len(group.subscribers) == 2 and feed.subscribers() == 2
        for n in range(1, 6):
            feed._hand(group, [replace(ROW, new_models=n)])
            await asyncio.sleep(0)
            if n == 1:
                assert (await waiting[0]).new_models == 1  # the slow one read once
            assert (await (waiting[1] if n == 1 else quick.__anext__())).new_models == n
        assert feed.dropped == 1
        with pytest.raises(SlowSubscriber):
            await slow.__anext__()
        assert len(group.subscribers) == 1  # the quick one is still there
        feed._hand(group, [replace(ROW, new_models=9)])
        assert (await quick.__anext__()).new_models == 9
        await quick.aclose()
        assert feed.groups == {}

    asyncio.run(scenario())
