"""Events are read by topic, loudly: an event stored under a topic no decoder knows (a class
renamed without an alias, an event from a newer release) stops the runner, naming topic and
position, with nothing of its batch applied; with the old topic registered as an alias of the
renamed class, a rebuild gives the same read models as before the rename."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.utils import clear_topic_cache, register_topic

from danvan.domain.model import Model
from danvan.infra.database import connect_owner, owner_params
from danvan.infra.event_store import EventStore, register_stored_topics
from danvan.infra.settings import Settings
from danvan.projections.catalog import all_projections
from danvan.projections.embedded import make_runner
from danvan.projections.event_types import UnknownEvent
from danvan.projections.events import log_head, topic_of
from danvan.projections.lag import lag_report
from danvan.projections.rebuild import rebuild
from danvan.projections.schema import ensure_read_models
from tests.integration.test_projection_histories import (
    DEEP_HISTORY,
    World,
    dump,
    positions,
    reset_read_models,
)

OLD_TOPIC = "danvan.domain.model:Model.Approved"
"""What ``Model.Accepted`` is called in the log of this story's older release."""


@pytest.fixture
def owner(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
        yield conn


@pytest.fixture
def renamed(settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]
            ) -> tuple[dict[str, Any], int]:
    """A history whose ``Model.Accepted`` events are stored under ``OLD_TOPIC`` (as if the
    class had been renamed since): the read models made before the rename, and the first
    renamed event's position."""
    World(event_store).run(DEEP_HISTORY)
    runner = make_runner(settings)
    runner.catch_up()
    runner.close()
    before = dump(owner)
    reset_read_models(owner, settings.app_db_role)
    with owner.transaction():
        owner.execute("SET LOCAL session_replication_role = replica")  # past the guard
        owner.execute("UPDATE public.danvan_events SET topic = %s WHERE topic = %s",
                      (OLD_TOPIC, topic_of(Model.Accepted)))
    row = owner.execute("SELECT min(notification_id) FROM public.danvan_events "
                        "WHERE topic = %s", (OLD_TOPIC,)).fetchone()
    assert row is not None and row[0] is not None
    return before, int(row[0])


def test_without_an_alias_the_runner_stops_naming_topic_and_position(
        settings: Settings, owner: psycopg.Connection[Any],
        renamed: tuple[dict[str, Any], int]) -> None:
    _, first = renamed
    runner = make_runner(settings, batch_size=4, catch_up_batch_size=4)
    with pytest.raises(UnknownEvent) as caught:
        runner.catch_up()
    runner.close()
    assert (caught.value.topic, caught.value.position) == (OLD_TOPIC, first)
    assert OLD_TOPIC in str(caught.value) and f"position {first}" in str(caught.value)
    reached = positions(owner)
    assert max(reached.values()) < first  # nothing of the batch holding it was applied
    report = lag_report(owner)
    assert not report["ok"]
    assert all(OLD_TOPIC in p["halt_reason"] for p in report["projections"])

    # Following live, it stops as well (before, it decoded the event into an empty shell
    # and went on: the next rebuild would have lost every accepted model).
    live = make_runner(settings, batch_size=4)
    live.pipelined = False
    with pytest.raises(UnknownEvent):
        live.run(threading.Event())
    assert positions(owner) == reached


def test_with_the_old_topic_registered_as_an_alias_a_rebuild_gives_the_same_read_models(
        settings: Settings, owner: psycopg.Connection[Any],
        renamed: tuple[dict[str, Any], int]) -> None:
    before, _ = renamed
    register_topic(OLD_TOPIC, Model.Accepted)
    try:
        rebuild(owner, all_projections(), app_role=settings.app_db_role, batch_size=7,
                conninfo=owner_params(settings).conninfo())
        assert set(positions(owner).values()) == {log_head(owner)}
        assert dump(owner) == before
        assert lag_report(owner)["ok"]
    finally:
        clear_topic_cache()
        register_stored_topics()


def test_events_stored_before_a_rename_read_as_the_class_they_now_name(
        settings: Settings, event_store: EventStore, owner: psycopg.Connection[Any]) -> None:
    """``Model.Recognised`` became ``Model.Recognized``: its stored events (here, put back
    under the old topic) load into the aggregate and count in the read models as before."""
    world = World(event_store).run(DEEP_HISTORY)
    recognized = [m for m in world.models if m.recognitions]
    assert recognized
    runner = make_runner(settings)
    runner.catch_up()
    before = dump(owner)
    runner.close()
    reset_read_models(owner, settings.app_db_role)
    with owner.transaction():
        owner.execute("SET LOCAL session_replication_role = replica")  # past the guard
        moved = owner.execute("UPDATE public.danvan_events SET topic = %s WHERE topic = %s",
                              ("danvan.domain.model:Model.Recognised",
                               topic_of(Model.Recognized))).rowcount
    assert moved > 0
    for model in recognized:
        assert event_store.repository.get(model.id).recognitions == model.recognitions
    runner = make_runner(settings)
    runner.catch_up()
    runner.close()
    assert dump(owner) == before
