"""A save whose COMMIT reached the server but whose answer was lost on the way back.

The connection goes through ``tests.fault_proxy.CommitLosingProxy``, a real TCP proxy that
swallows the server's answer to COMMIT and closes both ends: the events are committed, the
client sees its connection drop and retries (``infra/commit_outcome.py``). Both recorders:
group commit and the plain locking recorder (``DANVAN_DB_GROUP_COMMIT=false``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from danvan.infra.audit_verify import verify_tenant
from danvan.infra.commit_outcome import CommitOutcomeCheck, CommitOutcomeUnknown
from danvan.infra.database import ConnParams
from danvan.infra.event_store import EventStore, GroupCommitRecorder, open_event_store
from danvan.infra.settings import Settings
from tests.fault_proxy import CommitLosingProxy
from tests.integration._aggregates import Note, ctx
from tests.integration.test_group_commit import app_waits_for_lock, wait_until

TENANT = "province:15"
RECORDERS = pytest.mark.parametrize("group_commit", [True, False],
                                    ids=["group-commit", "plain"])


@pytest.fixture
def proxy(settings: Settings) -> Iterator[CommitLosingProxy]:
    with CommitLosingProxy(ConnParams.from_url(settings.database_url or "")) as running:
        yield running


def store_through(proxy: CommitLosingProxy, settings: Settings, **overrides: object
                  ) -> EventStore:
    url = proxy.params(ConnParams.from_url(settings.database_url or "")).url(password=True)
    store = open_event_store(replace(settings, database_url=url, **overrides))  # type: ignore[arg-type]
    expected = GroupCommitRecorder if overrides.get("db_group_commit", True) else None
    assert expected is None or isinstance(store.recorder, expected)
    return store


def stored(owner: psycopg.Connection, note: Note) -> list[tuple[int, str, int]]:
    rows = owner.execute("SELECT originator_version, topic, notification_id FROM danvan_events "
                         "WHERE originator_id = %s ORDER BY originator_version",
                         (note.id,)).fetchall()
    return [(int(v), str(t), int(n)) for v, t, n in rows]


@RECORDERS
def test_a_save_whose_commit_answer_was_lost_succeeds_and_is_stored_once(
        group_commit: bool, proxy: CommitLosingProxy, settings: Settings,
        owner_conn: psycopg.Connection) -> None:
    store = store_through(proxy, settings, db_group_commit=group_commit)
    try:
        note = Note.write(ctx(TENANT), "lost-answer")
        store.save(note)
        note.edit(ctx(TENANT), "second version")
        proxy.arm()

        recordings = store.save(note)

        assert proxy.fired.is_set()
        rows = stored(owner_conn, note)
        assert [(version, topic.rsplit(".", 1)[-1]) for version, topic, _ in rows] == [
            (1, "Written"), (2, "Edited")]
        assert [r.notification.id for r in recordings] == [rows[1][2]]
        assert store.repository.get(note.id).text == "second version"
        assert verify_tenant(owner_conn, TENANT).ok
    finally:
        store.close()


@RECORDERS
def test_a_create_whose_commit_answer_was_lost_succeeds(
        group_commit: bool, proxy: CommitLosingProxy, settings: Settings,
        owner_conn: psycopg.Connection) -> None:
    store = store_through(proxy, settings, db_group_commit=group_commit)
    try:
        note = Note.write(ctx(TENANT), "lost-create")
        proxy.arm()

        store.save(note)

        assert proxy.fired.is_set()
        assert [version for version, _, _ in stored(owner_conn, note)] == [1]
    finally:
        store.close()


@RECORDERS
def test_a_lost_connection_before_commit_then_another_writer_is_still_a_conflict(
        group_commit: bool, proxy: CommitLosingProxy, settings: Settings,
        event_store: EventStore, owner_conn: psycopg.Connection) -> None:
    store = store_through(proxy, settings, db_group_commit=group_commit)
    try:
        note = Note.write(ctx(TENANT), "contested")
        store.save(note)
        mine, theirs = store.repository.get(note.id), event_store.repository.get(note.id)
        mine.edit(ctx(TENANT), "mine")
        theirs.edit(ctx(TENANT), "theirs")
        # My transaction dies before its COMMIT; another writer takes version 2 before my retry.
        proxy.arm(at="INSERT", then=lambda: event_store.save(theirs))

        with pytest.raises(IntegrityError):
            store.save(mine)

        assert proxy.fired.is_set()
        assert event_store.repository.get(note.id).text == "theirs"
        assert [version for version, _, _ in stored(owner_conn, note)] == [1, 2]
    finally:
        store.close()


@RECORDERS
def test_a_lost_commit_answer_with_the_store_gone_is_an_unknown_outcome(
        group_commit: bool, proxy: CommitLosingProxy, settings: Settings,
        owner_conn: psycopg.Connection) -> None:
    store = store_through(proxy, settings, db_group_commit=group_commit,
                          db_connect_timeout_seconds=1)
    recorder = store.recorder
    assert isinstance(recorder, CommitOutcomeCheck)
    recorder.insert_attempts = 3
    try:
        note = Note.write(ctx(TENANT), "unknown")
        store.save(note)
        note.edit(ctx(TENANT), "committed, but nobody can tell")
        proxy.arm(then=proxy.down)

        with pytest.raises(CommitOutcomeUnknown):
            store.save(note)

        # It was committed: answering "failed, nothing written" would have been wrong.
        assert [version for version, _, _ in stored(owner_conn, note)] == [1, 2]
    finally:
        proxy.up()
        store.close()


def test_every_save_of_a_batch_whose_commit_answer_was_lost_succeeds(
        proxy: CommitLosingProxy, settings: Settings, owner_conn: psycopg.Connection) -> None:
    store = store_through(proxy, settings)
    recorder = store.recorder
    assert isinstance(recorder, GroupCommitRecorder)
    notes = [Note.write(ctx(TENANT), f"batch-{i}") for i in range(5)]
    outcomes: dict[int, BaseException | None] = {}

    def save(i: int) -> None:
        try:
            store.save(notes[i])
            outcomes[i] = None
        except BaseException as exc:
            outcomes[i] = exc

    try:
        blocker = psycopg.connect(**owner_conn.info.get_parameters(), autocommit=False)
        try:
            blocker.execute("LOCK TABLE danvan_events IN EXCLUSIVE MODE")
            first = threading.Thread(target=save, args=(0,))
            first.start()  # leads a batch of its own, blocked on the lock
            wait_until(lambda: app_waits_for_lock(owner_conn, settings.app_db_role))
            others = [threading.Thread(target=save, args=(i,)) for i in range(1, len(notes))]
            for thread in others:
                thread.start()
            wait_until(lambda: recorder.waiting == len(others))
            proxy.arm(skip=1)  # the first batch commits; the next, of four, loses its answer
        finally:
            blocker.commit()
            blocker.close()
        for thread in [first, *others]:
            thread.join(timeout=60)

        assert proxy.fired.is_set()
        assert outcomes == dict.fromkeys(range(len(notes)))
        assert [[version for version, _, _ in stored(owner_conn, note)] for note in notes] == \
            [[1]] * len(notes)
    finally:
        store.close()
