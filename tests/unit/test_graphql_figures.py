"""The province figures cache: reused while the read models stand still, recomputed (once,
however many callers) when they move, refreshed in the background as the clock moves on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from danvan.domain.policies import RoleGrant
from danvan.graphql.figures import FiguresCache
from danvan.graphql.freshness import Freshness, read_marks, scope_mark
from danvan.graphql.limits import Plan
from danvan.graphql.responses import ResponseCache, cacheable, scope_provinces
from danvan.graphql.sources import caches_from_env
from danvan.projections.models.rows import ProvinceFigures


class FakeReader:
    """Answers ``read_marks`` with ``stamp`` and every province's count of changed batches
    from ``changes`` (``*``: every province), and counts figure computations."""

    def __init__(self) -> None:
        self.stamp: tuple[int, ...] = (1, 10)
        self.changes: dict[str, int] = {}
        self.computed = 0
        self.stamps_read = 0

    def scoped_to(self, **_: Any) -> FakeReader:
        return self

    def applied(self, *provinces: str, version: int = 1) -> None:
        """A batch touching ``provinces`` committed (in a version ``version``)."""
        self.stamp = (version, self.stamp[1] + 1)
        for code in provinces:
            self.changes[code] = self.changes.get(code, 0) + 1

    async def run_unscoped(self, fn: Callable[..., Any], *args: Any) -> Any:
        await asyncio.sleep(0)
        assert fn is read_marks
        self.stamps_read += 1
        return self.stamp, dict(self.changes)

    async def run(self, fn: Callable[..., Any], code: str, year: int, **_: Any) -> Any:
        self.computed += 1
        await asyncio.sleep(0.01)
        return ProvinceFigures(code, year, [], [])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_figures_are_reused_until_the_read_models_move() -> None:
    reader, clock = FakeReader(), Clock()
    cache = FiguresCache(freshness=Freshness(clock=clock), clock=clock, now_ttl=5)

    async def scenario() -> None:
        get = cache.get
        await asyncio.gather(*(get(reader, "15", 2026, None) for _ in range(10)))  # type: ignore[arg-type]
        assert reader.computed == 1
        await get(reader, "15", 2026, None)  # type: ignore[arg-type]
        assert reader.computed == 1 and cache.hits >= 1
        reader.applied("15")
        await get(reader, "15", 2026, None)  # type: ignore[arg-type]
        assert reader.computed == 2
        await get(reader, "15", 2025, None)  # type: ignore[arg-type]
        assert reader.computed == 3

    asyncio.run(scenario())


def test_figures_outlive_batches_of_other_provinces_but_not_a_rebuild() -> None:
    reader, clock = FakeReader(), Clock()
    cache = FiguresCache(freshness=Freshness(clock=clock), clock=clock)

    async def scenario() -> None:
        first = await cache.get(reader, "15", 2026, None)  # type: ignore[arg-type]
        reader.applied("01")
        assert await cache.get(reader, "15", 2026, None) is first  # type: ignore[arg-type]
        assert reader.computed == 1
        reader.applied("*")  # an event of a tenant whose province is not known
        second = await cache.get(reader, "15", 2026, None)  # type: ignore[arg-type]
        assert reader.computed == 2 and second is not first
        reader.applied(version=2)  # a rebuild switched in, no batch
        await cache.get(reader, "15", 2026, None)  # type: ignore[arg-type]
        assert reader.computed == 3

    asyncio.run(scenario())


def test_the_clock_refreshes_in_the_background_and_as_of_never_ages() -> None:
    reader, clock = FakeReader(), Clock()
    cache = FiguresCache(freshness=Freshness(clock=clock), clock=clock, now_ttl=5)

    async def scenario() -> None:
        first = await cache.get(reader, "15", 2026, None)  # type: ignore[arg-type]
        clock.now = 6
        again = await cache.get(reader, "15", 2026, None)  # type: ignore[arg-type]
        assert again is first  # served at once...
        await asyncio.sleep(0.05)
        assert reader.computed == 2  # ...and recomputed behind it
        assert await cache.get(reader, "15", 2026, None) is not first  # type: ignore[arg-type]

    asyncio.run(scenario())


def test_the_stamp_is_read_at_most_every_max_age() -> None:
    reader, clock = FakeReader(), Clock()
    cache = FiguresCache(freshness=Freshness(max_age=0.1, clock=clock), clock=clock)

    async def scenario() -> None:
        for _ in range(5):
            await cache.get(reader, "15", 2026, None)  # type: ignore[arg-type]
        assert reader.stamps_read == 1
        clock.now = 0.2
        await cache.get(reader, "15", 2026, None)  # type: ignore[arg-type]
        assert reader.stamps_read == 2

    asyncio.run(scenario())


def test_the_environment_turns_the_caches_off_and_production_reads_the_stamp_less_often(
        ) -> None:
    off = caches_from_env({"DANVAN_GRAPHQL_FIGURES_CACHE": "off",
                           "DANVAN_GRAPHQL_RESPONSE_CACHE": "off"}, production=False)
    assert off["figures"].enabled is False and off["responses"].enabled is False
    assert caches_from_env({}, production=False)["freshness"].max_age == 0
    assert caches_from_env({}, production=True)["freshness"].max_age == 0.1
    assert caches_from_env({"DANVAN_GRAPHQL_STAMP_MAX_AGE": "0"},
                           production=True)["freshness"].max_age == 0


def test_whole_answers_are_kept_per_grants_and_stamp_for_a_while() -> None:
    clock = Clock()
    cache = ResponseCache(ttl=60, clock=clock)
    analyst = [RoleGrant("province_analyst", "15")]
    key = cache.key("{ provinces { code } }", None, {"b": 1, "a": 2}, analyst)
    same = cache.key("{ provinces { code } }", None, {"a": 2, "b": 1}, analyst)
    other = cache.key("{ provinces { code } }", None, {"a": 2, "b": 1},
                      [RoleGrant("province_analyst", "01")])
    assert key == same and key != other
    cache.put(key, (1,), b"answer")
    assert cache.get(same, (1,)) == b"answer"
    assert cache.get(other, (1,)) is None
    assert cache.get(key, (2,)) is None  # the read models moved
    clock.now = 61
    assert cache.get(key, (1,)) is None  # the clock moved
    assert ResponseCache(enabled=False).key("{ x }", None, None, analyst) is None


def test_answers_reading_outside_the_read_models_are_never_kept() -> None:
    assert cacheable(Plan(3, 0, (), frozenset({"province", "summary", "newModels"})))
    for field in ("history", "stateAsOf", "person", "verifyAuditChain"):
        assert not cacheable(Plan(3, 0, (), frozenset({"model", field})))
    assert not cacheable(None)


def test_whole_answers_outlive_batches_of_other_provinces_but_not_their_own() -> None:
    cache = ResponseCache(ttl=60, clock=Clock())
    grants = [RoleGrant("province_analyst", "15")]
    key = cache.key("{ provinces { code } }", None, None, grants)
    provinces = scope_provinces(grants)
    assert provinces == ("15",)
    cache.put(key, scope_mark((1, 10), {"15": 3, "01": 7}, provinces), b"answer")
    # A batch of province 01 moved the stamp: the answer still holds.
    assert cache.get(key, scope_mark((1, 11), {"15": 3, "01": 8}, provinces)) == b"answer"
    assert cache.get(key, scope_mark((1, 12), {"15": 4, "01": 8}, provinces)) is None
    assert cache.get(key, scope_mark((1, 12), {"15": 3, "01": 8, "*": 1}, provinces)) is None
    assert cache.get(key, scope_mark((2, 11), {"15": 3, "01": 8}, provinces)) is None  # rebuilt
    # A national caller reads every province: any batch moves its answers.
    assert scope_provinces([RoleGrant("national_analyst", "")]) is None
    assert scope_mark((1, 11), {"15": 3}, None) != scope_mark((1, 12), {"15": 3}, None)
