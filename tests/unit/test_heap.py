"""The server's startup heap is frozen out of the collector's sight once the app has started
(``backend/heap.py``), and only in the app ``danvan serve`` runs."""

from __future__ import annotations

import asyncio
import gc

import pytest

from danvan.backend import app as app_module
from danvan.backend.commands.serve import DEFAULT_APP
from danvan.backend.heap import frozen_after_startup


def test_the_lifespan_freezes_what_startup_left_and_full_collections_skip_it() -> None:
    gc.unfreeze()
    survivors = [[i] for i in range(10_000)]  # tracked containers, as startup leaves them

    async def start_and_stop() -> int:
        async with frozen_after_startup()(None):
            return gc.get_freeze_count()

    try:
        frozen = asyncio.run(start_and_stop())
        assert frozen >= len(survivors)
        gc.collect()
        watched = {id(o) for o in gc.get_objects()}  # the frozen are out of the collector's sight
        assert not any(id(s) in watched for s in survivors)
    finally:
        gc.unfreeze()


def test_danvan_serve_runs_the_app_with_a_frozen_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[app_module.HttpOptions] = []
    monkeypatch.setattr(app_module, "create_app",
                        lambda *, options: built.append(options) or "app")
    module, name = DEFAULT_APP.split(":")
    assert module == "danvan.backend.app"
    assert getattr(app_module, name)() == "app"
    assert [options.freeze_heap for options in built] == [True]
