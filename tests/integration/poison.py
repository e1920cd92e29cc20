"""A stored poison event, as a release before the bounds on input let one through, and what
the read models must then be: those of the log without it.

``older_release()`` stands in for the release before ``Model.ProgressReported`` v2 (its
upcaster): events are stored at version 1 and read without repair. ``store_poison`` records a
progress report on the aggregate directly, past every check (as the old edge did).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg

from danvan.domain.model import Model
from danvan.projections.applying import lock_active_targets
from danvan.projections.catalog import all_projections
from danvan.projections.event_types import forget_decodings
from danvan.projections.events import batch_of, fetch_batch
from tests.integration.test_projection_histories import World, dump, reset_read_models

POISON = "1E-999999999"
"""Finite and tiny, within any range check, and no ``numeric`` column can hold it."""
STEPS_BEFORE = [("onboard", 0, 1), ("onboard", 1, 1), ("add_unit", 0, 1), ("add_unit", 1, 1),
                ("register", 0, 2), ("register", 1, 2), ("advance", 1, 3), ("advance", 1, 3),
                ("progress", 0, 4), ("advance", 1, 3)]
STEPS_AFTER = [("onboard", 2, 1), ("add_unit", 2, 1), ("register", 2, 2), ("advance", 1, 3),
               ("progress", 1, 4), ("advance", 1, 3), ("register", 0, 2), ("submit", 0, 3)]
"""Later events of every tenant, the poisoned one's included, and of a tenant onboarded
after the poison event."""


@contextmanager
def older_release() -> Iterator[None]:
    """``Model.ProgressReported`` at version 1, without its upcaster, for the duration."""
    saved = Model.ProgressReported.class_version
    Model.ProgressReported.class_version = 1
    forget_decodings()
    try:
        yield
    finally:
        Model.ProgressReported.class_version = saved
        forget_decodings()


def store_poison(world: World, money_vnd: str = POISON) -> tuple[Model, int]:
    """A progress report of the first model with ``money_vnd``, stored as it is."""
    model = world.models[0]
    world.now += timedelta(hours=1)
    model._emit(Model.ProgressReported, world.ctx("unit_user", model.tenant_id),
                period=f"{model.year}-Q4", participants=3, workdays=5, money_vnd=money_vnd,
                land_m2="0", note="Báo cáo")
    world.store.save(model)
    return model, model.version


def poisoned_history(world: World, money_vnd: str = POISON) -> World:
    world.run(STEPS_BEFORE)
    store_poison(world, money_vnd)
    return world.run(STEPS_AFTER)


def applied_without(conn: psycopg.Connection[Any], app_role: str,
                    skipped: set[tuple[str, int]]) -> dict[str, list[tuple[Any, ...]]]:
    """The read models of one pass over the whole log, each projection leaving out the events
    ``skipped`` for it (``(projection, position)``). Resets the read models."""
    reset_read_models(conn, app_role)
    events = fetch_batch(conn, 0, 10**9).events
    with conn.transaction(), conn.cursor() as cur:
        for target in lock_active_targets(conn, all_projections()):
            name = target.projection.name
            kept = [e for e in events if (name, e.position) not in skipped]
            target.projection.apply(cur, target.schema, batch_of(kept))
    return dump(conn)


def quarantine_rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """(projection, version, position, tenant, topic, aggregate, aggregate version, error)."""
    return conn.execute(
        "SELECT name, version, position, tenant_id, topic, aggregate_id::text, "
        "aggregate_version, error FROM public.danvan_projection_quarantine "
        "ORDER BY name, version, position").fetchall()
