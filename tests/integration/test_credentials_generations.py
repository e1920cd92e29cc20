"""Users' credentials generations on the real store: raised in the transaction that appends
their events, never lowered, and rebuilt from the events alone
(``backend/auth/credentials.py``)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from danvan.backend.auth.credentials import (
    Generations,
    GenerationsUnavailable,
    rebuild_generations,
)
from danvan.backend.wiring import RecorderHookError, build, hook_recorder
from danvan.domain.commands import ChangeGrants, ChangePassword, DeactivateUser, RegisterUser
from danvan.domain.policies import RoleGrant
from danvan.domain.users import User
from danvan.infra.database import app_params
from danvan.infra.event_store import EventStore, open_event_store
from danvan.infra.settings import Settings
from tests.unit.builders import TENANT, ctx


def grant(role: str) -> RoleGrant:
    return RoleGrant(role=role, province_code="15", tenant_id=TENANT)


def register(store: EventStore, name: str) -> User:
    user = User.register(ctx("tenant_admin"), RegisterUser(name, "hash-1", "Cán bộ",
                                                           (grant("reviewer"),)))
    store.save(user)
    return user


def generations(conn: psycopg.Connection) -> dict[uuid.UUID, int]:
    return dict(conn.execute("SELECT user_id, generation FROM user_credentials").fetchall())


def test_generations_ride_with_their_events_and_rebuild_from_them(
        event_store: EventStore, owner_conn: psycopg.Connection) -> None:
    assert hook_recorder(event_store)
    admin = ctx("tenant_admin")
    users = [register(event_store, f"can.bo.{i}") for i in range(6)]
    changes: list[Callable[[User], None]] = [
        lambda u: None,                                                   # registered only
        lambda u: u.change_grants(admin, ChangeGrants((grant("approver"),))),
        lambda u: u.rehash_password(admin, password_hash="hash-2"),       # not a change
        lambda u: (u.change_password(admin, ChangePassword("hash-2")),
                   u.rehash_password(admin, password_hash="hash-3")),
        lambda u: u.deactivate(admin, DeactivateUser("Nghỉ hưu")),
        lambda u: (u.change_grants(admin, ChangeGrants((grant("approver"),))),
                   u.change_grants(admin, ChangeGrants((grant("tenant_admin"),)))),
    ]
    for user, change in zip(users, changes, strict=True):
        change(user)
    # saved at once from several threads (group commit may share transactions between them)
    threads = [threading.Thread(target=event_store.save, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # a save refused for its stale version raises nothing: its row rolls back with it
    first, stale = (event_store.repository.get(users[0].id) for _ in range(2))
    first.rehash_password(admin, password_hash="hash-2")
    event_store.save(first)
    stale.change_grants(admin, ChangeGrants((grant("approver"),)))
    with pytest.raises(IntegrityError):
        event_store.save(stale)

    loaded = [event_store.repository.get(u.id) for u in users]
    expected = {u.id: u.credentials_generation for u in loaded if u.credentials_generation}
    assert expected == {users[1].id: 2, users[3].id: 2, users[4].id: 2, users[5].id: 3}
    assert generations(owner_conn) == expected

    owner_conn.execute("DELETE FROM user_credentials")
    assert generations(owner_conn) == {}
    assert rebuild_generations(owner_conn) == len(expected)
    assert generations(owner_conn) == expected
    assert rebuild_generations(owner_conn) == 0  # nothing to raise: a no-op


def test_without_group_commit_the_row_rides_with_the_events_too(
        settings: Settings, owner_conn: psycopg.Connection) -> None:
    store = open_event_store(replace(settings, db_group_commit=False))
    try:
        assert hook_recorder(store)
        user = register(store, "can.bo.don")
        user.deactivate(ctx("tenant_admin"), DeactivateUser("Chuyển công tác"))
        store.save(user)
    finally:
        store.close()
    assert generations(owner_conn) == {user.id: 2}


def test_a_generation_never_goes_back(event_store: EventStore,
                                      app_conn: psycopg.Connection) -> None:
    assert hook_recorder(event_store)
    user = register(event_store, "can.bo.lui")
    user.change_grants(ctx("tenant_admin"), ChangeGrants((grant("approver"),)))
    event_store.save(user)
    with pytest.raises(psycopg.errors.CheckViolation):
        app_conn.execute("UPDATE user_credentials SET generation = 1 WHERE user_id = %s",
                         (user.id,))


def test_a_postgresql_store_that_cannot_write_them_with_its_events_is_refused(
        settings: Settings) -> None:
    store = open_event_store(settings, env_overrides={"POSTGRES_ENABLE_DB_FUNCTIONS": "y"})
    try:
        with pytest.raises(RecorderHookError):
            build(settings, store=store, redis=None, db_pool=None)
    finally:
        store.close()


def test_lookups_asked_together_share_a_query_and_each_gets_its_own_users_generation(
        event_store: EventStore, settings: Settings) -> None:
    assert hook_recorder(event_store)
    users = [register(event_store, f"can.bo.{i}") for i in range(3)]
    for _ in range(2):
        users[1].change_grants(ctx("tenant_admin"), ChangeGrants((grant("approver"),)))
        users[1].change_grants(ctx("tenant_admin"), ChangeGrants((grant("reviewer"),)))
    users[2].change_password(ctx("tenant_admin"), ChangePassword("hash-2"))
    event_store.save(*users)
    asked = [str(u.id) for u in users] * 20 + [str(uuid.uuid4())]
    generations = Generations(app_params(settings).conninfo())

    async def ask() -> list[int]:
        async with generations.lifespan():
            one = await generations.current(str(users[1].id))
            queries_before = generations.queries
            together = await asyncio.gather(*(generations.current(a) for a in asked))
            assert generations.queries - queries_before < len(asked) / 10
            return [one, *together]

    answers = asyncio.run(ask())
    assert answers == [5, *[0, 5, 2] * 20, 0]


def test_an_unreachable_database_is_reported_as_unavailable(settings: Settings) -> None:
    generations = Generations("host=127.0.0.1 port=1 dbname=x user=x connect_timeout=1",
                              timeout=1)

    async def ask() -> None:
        try:
            await generations.current(str(uuid.uuid4()))
        finally:
            await generations.pool.close()

    with pytest.raises(GenerationsUnavailable):
        asyncio.run(ask())
