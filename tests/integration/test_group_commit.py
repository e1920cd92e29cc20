"""Group commit on the real store: saves that queue behind the table lock commit together, and
each stays atomic on its own (``infra/group_commit.py``)."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid

import psycopg
import pytest
from eventsourcing.persistence import DataError, IntegrityError, StoredEvent

from danvan.backend.http import idempotency
from danvan.backend.http.idempotency import PendingKey, record_pending_key
from danvan.domain.commands import AddUnit, CloseUnit
from danvan.domain.units import Unit, UnitKind
from danvan.infra.audit_verify import verify_tenant
from danvan.infra.event_store import EventStore, GroupCommitRecorder, open_event_store
from danvan.infra.settings import Settings
from tests.interrupting import INTERRUPT, wait_until
from tests.unit.builders import TENANT, ctx


def app_waits_for_lock(owner: psycopg.Connection, role: str) -> bool:
    row = owner.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s "
                        "AND datname = current_database() AND wait_event_type = 'Lock'",
                        (role,)).fetchone()
    return row is not None and row[0] > 0


def test_saves_queued_behind_the_lock_commit_in_one_batch_each_atomic(
        event_store: EventStore, settings: Settings, owner_conn: psycopg.Connection) -> None:
    recorder = event_store.recorder
    assert isinstance(recorder, GroupCommitRecorder)
    contested = Unit.add(ctx("tenant_admin"), AddUnit("Chi bộ thôn 1", UnitKind.PARTY_CELL))
    event_store.save(contested)
    copies = [event_store.repository.get(contested.id) for _ in range(2)]
    for copy in copies:
        copy.close(ctx("tenant_admin"), CloseUnit("Sáp nhập"))
    fresh = [Unit.add(ctx("tenant_admin"), AddUnit(f"Chi bộ tổ {i}", UnitKind.PARTY_CELL))
             for i in range(8)]
    outcomes: dict[int, BaseException | None] = {}

    def save(i: int, unit: Unit) -> None:
        try:
            event_store.save(unit)
            outcomes[i] = None
        except BaseException as exc:
            outcomes[i] = exc

    baseline = recorder.batches
    blocker = psycopg.connect(**owner_conn.info.get_parameters(), autocommit=False)
    try:
        blocker.execute("LOCK TABLE danvan_events IN EXCLUSIVE MODE")
        first = threading.Thread(target=save, args=(0, fresh[0]))
        first.start()  # leads a batch of its own, blocked on the lock
        wait_until(lambda: app_waits_for_lock(owner_conn, settings.app_db_role))
        others = [threading.Thread(target=save, args=(i, unit))
                  for i, unit in enumerate([*fresh[1:], *copies], start=1)]
        for thread in others:
            thread.start()
        wait_until(lambda: recorder.waiting == len(others))
    finally:
        blocker.commit()
        blocker.close()
    for thread in [first, *others]:
        thread.join(timeout=30)

    assert recorder.batches - baseline == 2
    assert [outcomes[i] for i in range(len(fresh))] == [None] * len(fresh)
    contest = [outcomes[len(fresh)], outcomes[len(fresh) + 1]]
    assert sum(isinstance(o, IntegrityError) for o in contest) == 1
    assert sum(o is None for o in contest) == 1
    assert event_store.repository.get(contested.id).closed
    for unit in fresh:
        assert event_store.repository.get(unit.id).version == 1
    rows = owner_conn.execute(
        "SELECT notification_id FROM danvan_events ORDER BY notification_id").fetchall()
    ids = [r[0] for r in rows]
    assert len(ids) == 1 + len(fresh) + 1  # the contested unit, 8 new ones, one close
    # (a refused save leaves a gap in positions, as the library's own save does)
    verification = verify_tenant(owner_conn, TENANT)
    assert verification.ok and verification.events_checked == len(ids)


def test_each_save_in_a_batch_writes_its_own_idempotency_key(
        event_store: EventStore, settings: Settings, owner_conn: psycopg.Connection) -> None:
    """The key row rides in the save's transaction, taken from the saving thread's context even
    when another thread leads the batch; a key held by another attempt refuses that save only."""
    event_store.recorder.add_writers(record_pending_key)
    held = PendingKey("u-held", "k-held", bytes(32), "POST", "/x", attempt_id="first")
    token = idempotency._pending.set(held)
    try:
        event_store.save(Unit.add(ctx("tenant_admin"), AddUnit("Tổ 0", UnitKind.PARTY_CELL)))
    finally:
        idempotency._pending.reset(token)
    keyed = [(PendingKey(f"u{i}", f"k{i}", bytes(32), "POST", "/x"),
              Unit.add(ctx("tenant_admin"), AddUnit(f"Tổ {i}", UnitKind.PARTY_CELL)))
             for i in range(1, 6)]
    stolen = (PendingKey("u-held", "k-held", bytes(32), "POST", "/x", attempt_id="second"),
              Unit.add(ctx("tenant_admin"), AddUnit("Tổ 9", UnitKind.PARTY_CELL)))
    outcomes: dict[str, BaseException | None] = {}

    def save(pending: PendingKey, unit: Unit) -> None:
        token = idempotency._pending.set(pending)
        try:
            event_store.save(unit)
            outcomes[pending.key + pending.attempt_id] = None
        except BaseException as exc:
            outcomes[pending.key + pending.attempt_id] = exc
        finally:
            idempotency._pending.reset(token)

    blocker = psycopg.connect(**owner_conn.info.get_parameters(), autocommit=False)
    try:
        blocker.execute("LOCK TABLE danvan_events IN EXCLUSIVE MODE")
        threads = [threading.Thread(target=save, args=job) for job in [*keyed, stolen]]
        threads[0].start()
        wait_until(lambda: app_waits_for_lock(owner_conn, settings.app_db_role))
        for thread in threads[1:]:
            thread.start()
        wait_until(lambda: event_store.recorder.waiting == len(threads) - 1)
    finally:
        blocker.commit()
        blocker.close()
    for thread in threads:
        thread.join(timeout=30)

    assert isinstance(outcomes["k-held" + "second"], IntegrityError)
    assert all(outcomes[p.key + p.attempt_id] is None for p, _ in keyed)
    rows = dict(owner_conn.execute("SELECT key, saved FROM idempotency_keys").fetchall())
    assert set(rows) == {"k-held", *(p.key for p, _ in keyed)}
    for pending, unit in keyed:
        assert rows[pending.key] == [{"id": str(unit.id), "from_version": 1, "version": 1}]
    assert not any(r["id"] == str(stolen[1].id) for r in rows["k-held"])
    assert owner_conn.execute("SELECT count(*) FROM danvan_events WHERE originator_id = %s",
                              (stolen[1].id,)).fetchone() == (0,)


def test_without_group_commit_the_store_uses_the_library_path(settings: Settings) -> None:
    from dataclasses import replace

    store = open_event_store(replace(settings, db_group_commit=False))
    try:
        assert not isinstance(store.recorder, GroupCommitRecorder)
        unit = Unit.add(ctx("tenant_admin"), AddUnit("Chi bộ thôn 2", UnitKind.PARTY_CELL))
        store.save(unit)
        assert store.repository.get(unit.id).name == "Chi bộ thôn 2"
    finally:
        store.close()


def test_concurrent_saves_all_land_once_on_an_unbroken_chain(
        event_store: EventStore, owner_conn: psycopg.Connection) -> None:
    threads = 16
    recorder = event_store.recorder
    assert isinstance(recorder, GroupCommitRecorder)
    units = [[Unit.add(ctx("tenant_admin"), AddUnit(f"Chi bộ {t}-{n}", UnitKind.PARTY_CELL))
              for n in range(10)] for t in range(threads)]
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(mine: list[Unit]) -> None:
        barrier.wait()
        try:
            for unit in mine:
                event_store.save(unit)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(mine,)) for mine in units]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert errors == []
    for mine in units:
        for unit in mine:
            assert event_store.repository.get(unit.id).version == 1
    ids = [r[0] for r in owner_conn.execute(
        "SELECT notification_id FROM danvan_events ORDER BY notification_id").fetchall()]
    assert ids == list(range(ids[0], ids[0] + threads * 10))
    verification = verify_tenant(owner_conn, TENANT)
    assert verification.ok and verification.events_checked == threads * 10


def stored(originator_id: uuid.UUID, state: dict[str, str], topic: str = "danvan:Probe"
           ) -> list[StoredEvent]:
    return [StoredEvent(originator_id=originator_id, originator_version=1, topic=topic,
                        state=json.dumps({"tenant_id": TENANT, **state}).encode())]


def test_a_save_failing_before_the_server_leaves_no_key_row_behind(
        event_store: EventStore, settings: Settings, owner_conn: psycopg.Connection) -> None:
    """A save refused in the client (a NUL in its topic) rolls the shared transaction back:
    its idempotency key is not left claiming versions that were never written, and its
    batch-mate is saved on the second pass."""
    recorder = event_store.recorder
    recorder.add_writers(record_pending_key)
    outcomes: dict[str, object] = {}

    def save(name: str, events: list[StoredEvent], key: str | None) -> None:
        token = idempotency._pending.set(
            PendingKey("u", key, bytes(32), "POST", "/x") if key else None)
        try:
            outcomes[name] = recorder.insert_events(events)
        except Exception as exc:
            outcomes[name] = exc
        finally:
            idempotency._pending.reset(token)

    blocker = psycopg.connect(**owner_conn.info.get_parameters(), autocommit=False)
    try:
        blocker.execute("LOCK TABLE danvan_events IN EXCLUSIVE MODE")
        first = threading.Thread(target=save, args=("first", stored(uuid.uuid4(), {}), None))
        first.start()
        wait_until(lambda: app_waits_for_lock(owner_conn, settings.app_db_role))
        good = threading.Thread(target=save, args=("good", stored(uuid.uuid4(), {}), "KA"))
        bad = threading.Thread(target=save, args=(
            "bad", stored(uuid.uuid4(), {}, topic="danvan:\x00"), "KB"))
        for thread in (good, bad):
            thread.start()
        wait_until(lambda: recorder.waiting == 2)
    finally:
        blocker.commit()
        blocker.close()
    for thread in (first, good, bad):
        thread.join(timeout=30)

    assert isinstance(outcomes["bad"], DataError)
    assert isinstance(outcomes["good"], list) and len(outcomes["good"]) == 1
    keys = owner_conn.execute("SELECT key FROM idempotency_keys ORDER BY key").fetchall()
    assert keys == [("KA",)]
    assert owner_conn.execute("SELECT count(*) FROM danvan_events").fetchone() == (2,)


def test_an_interrupted_caller_takes_its_save_back_and_the_store_goes_on(
        event_store: EventStore, settings: Settings, owner_conn: psycopg.Connection) -> None:
    """Ctrl-C while a save waits for its batch: the save is withdrawn (nothing written), and
    the saves after it are not stuck behind it."""
    recorder = event_store.recorder
    leader, interrupted, later = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    results: dict[str, object] = {}
    blocker = psycopg.connect(**owner_conn.info.get_parameters(), autocommit=False)
    previous = signal.getsignal(INTERRUPT)
    timer = threading.Timer(0.3, signal.pthread_kill,
                            (threading.main_thread().ident or 0, INTERRUPT))

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    try:
        blocker.execute("LOCK TABLE danvan_events IN EXCLUSIVE MODE")
        first = threading.Thread(target=lambda: results.setdefault(
            "leader", recorder.insert_events(stored(leader, {}))))
        first.start()
        wait_until(lambda: app_waits_for_lock(owner_conn, settings.app_db_role))
        signal.signal(INTERRUPT, interrupt)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            recorder.insert_events(stored(interrupted, {}))  # waits behind the leader
    finally:
        timer.cancel()
        signal.signal(INTERRUPT, previous)
        blocker.commit()
        blocker.close()
    first.join(timeout=30)
    after = threading.Thread(target=lambda: results.setdefault(
        "later", recorder.insert_events(stored(later, {}))), daemon=True)
    after.start()
    after.join(timeout=10)

    assert not after.is_alive(), "a save after the interrupted one never returned"
    assert recorder.waiting == 0
    counts = {str(i): n for i, n in owner_conn.execute(
        "SELECT originator_id, count(*) FROM danvan_events GROUP BY originator_id").fetchall()}
    assert counts == {str(leader): 1, str(later): 1}


def test_a_leader_interrupted_while_committing_keeps_the_interrupt_to_itself(
        event_store: EventStore, settings: Settings, owner_conn: psycopg.Connection) -> None:
    """Ctrl-C in the thread leading a batch: that thread gets the KeyboardInterrupt; the other
    saves of its batch get an error the store retries, and are saved."""
    recorder = event_store.recorder
    params = owner_conn.info.get_parameters()
    ids = {name: uuid.uuid4() for name in ("first", "main", "mate1", "mate2")}
    outcomes: dict[str, object] = {}
    entered = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (INTERRUPT, signal.SIGUSR1)}

    def save(name: str) -> None:
        try:
            outcomes[name] = recorder.insert_events(stored(ids[name], {}))
        except BaseException as exc:
            outcomes[name] = exc

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    first_lock = psycopg.connect(**params, autocommit=False)
    second_lock = psycopg.connect(**params, autocommit=False)
    threads: list[threading.Thread] = []

    def conductor() -> None:
        # 1. "first" leads a batch of its own, blocked on the lock.
        threads.append(threading.Thread(target=save, args=("first",)))
        threads[-1].start()
        wait_until(lambda: app_waits_for_lock(owner_conn, settings.app_db_role))
        # 2. The main thread and two more queue behind it: the main thread leads the next batch.
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)
        wait_until(lambda: recorder.waiting == 1)
        for name in ("mate1", "mate2"):
            threads.append(threading.Thread(target=save, args=(name,)))
            threads[-1].start()
        wait_until(lambda: recorder.waiting == 3)
        # 3. Hand the lock to another holder, so that the main thread's batch waits on it.
        taken = threading.Thread(target=lambda: second_lock.execute(
            "LOCK TABLE danvan_events IN EXCLUSIVE MODE"))
        taken.start()
        first_lock.commit()
        taken.join(10)
        wait_until(lambda: recorder.waiting == 0)  # the main thread took its batch
        time.sleep(0.2)
        # 4. Ctrl-C in the main thread while it commits its batch, then free the table.
        signal.pthread_kill(threading.main_thread().ident or 0, INTERRUPT)
        time.sleep(0.3)
        second_lock.commit()

    try:
        first_lock.execute("LOCK TABLE danvan_events IN EXCLUSIVE MODE")
        signal.signal(INTERRUPT, interrupt)
        signal.signal(signal.SIGUSR1, lambda *_: entered.set())
        director = threading.Thread(target=conductor)
        director.start()
        assert entered.wait(10)
        save("main")
        director.join(30)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        first_lock.close()
        second_lock.close()
    for thread in threads:
        thread.join(30)

    assert isinstance(outcomes["main"], KeyboardInterrupt)
    for name in ("first", "mate1", "mate2"):
        assert isinstance(outcomes[name], list), f"{name}: {outcomes[name]!r}"
    saved = {r[0] for r in owner_conn.execute("SELECT originator_id FROM danvan_events")}
    assert saved == {ids["first"], ids["mate1"], ids["mate2"]}
