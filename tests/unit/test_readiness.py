"""Readiness says whether this replica should get requests: only the database decides."""

from __future__ import annotations

from danvan.backend.controllers.health import verdict

UP = {"ok": True}
DOWN = {"ok": False, "error": "ConnectionError"}


def test_all_answering_is_ok() -> None:
    assert verdict({"database": UP, "redis": UP, "projections": UP}) == ("ok", 200)


def test_without_the_database_the_replica_is_unavailable() -> None:
    assert verdict({"database": DOWN, "redis": UP, "projections": UP}) == ("unavailable", 503)


def test_redis_or_the_projections_failing_leave_it_serving_degraded() -> None:
    assert verdict({"database": UP, "redis": DOWN, "projections": UP}) == ("degraded", 200)
    assert verdict({"database": UP, "redis": UP, "projections": DOWN}) == ("degraded", 200)
