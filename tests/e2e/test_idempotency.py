"""``Idempotency-Key``: a retry replays the first 2xx answer and appends nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from danvan.backend.http.idempotency import IdempotencyStore
from danvan.backend.wiring import Services
from danvan.infra.event_store import EventStore
from tests.e2e.conftest import MadeUser, login

TENANT = "9f1c0a56-2a43-5c1e-9b7e-3f4f3d0c2a11"
USERS = f"/api/v1/probe/tenants/{TENANT}/users"


@pytest.fixture
def headers(client: httpx.Client, make_user: Callable[..., MadeUser]) -> dict[str, str]:
    return login(client, make_user("tenant.admin", role="tenant_admin", tenant_id=TENANT))


def event_count(store: EventStore, aggregate_id: str) -> int:
    return len(list(store.events.get(uuid.UUID(aggregate_id))))


def create(client: httpx.Client, headers: dict[str, str], key: str,
           username: str = "made.once") -> httpx.Response:
    return client.post(USERS, headers={**headers, "Idempotency-Key": key},
                       json={"username": username, "full_name": "Lò Thị Mai"})


def test_the_key_row_is_written_in_the_events_transaction(services: Services) -> None:
    assert services.idempotency_in_transaction


def test_a_retried_create_replays_the_first_answer(client: httpx.Client, headers: dict[str, str],
                                                   event_store: EventStore) -> None:
    first = create(client, headers, "create-1")
    assert first.status_code == 201
    again = create(client, headers, "create-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["danvan-position"] == first.headers["danvan-position"]
    assert event_count(event_store, first.json()["id"]) == 1
    meta = next(iter(event_store.events.get(uuid.UUID(first.json()["id"])))).meta
    assert meta["idempotency_key"] == "create-1"  # type: ignore[attr-defined]


def test_a_retried_action_appends_nothing(client: httpx.Client, headers: dict[str, str],
                                          event_store: EventStore) -> None:
    user_id = create(client, headers, "c").json()["id"]
    path = f"{USERS}/{user_id}/grants"
    body = {"roles": ["approver"]}
    first = client.post(path, headers={**headers, "Idempotency-Key": "act-1"}, json=body)
    again = client.post(path, headers={**headers, "Idempotency-Key": "act-1"}, json=body)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() == {"id": user_id, "version": 2, "state": "active"}
    assert event_count(event_store, user_id) == 2
    # without a key, a command is new: changing the roles again appends one more event
    assert client.post(path, headers=headers,
                       json={"roles": ["reviewer"]}).json()["version"] == 3


def test_the_same_key_with_another_body_is_a_422(client: httpx.Client,
                                                  headers: dict[str, str]) -> None:
    assert create(client, headers, "k-1", username="first.name").status_code == 201
    other = create(client, headers, "k-1", username="second.name")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_keys_belong_to_their_user(client: httpx.Client, headers: dict[str, str],
                                   make_user: Callable[..., MadeUser]) -> None:
    assert create(client, headers, "shared", username="by.first").status_code == 201
    second = login(client, make_user("second.admin", role="tenant_admin", tenant_id=TENANT))
    response = create(client, second, "shared", username="by.second")
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers


def test_a_failed_command_is_not_remembered(client: httpx.Client, headers: dict[str, str],
                                            event_store: EventStore) -> None:
    user_id = create(client, headers, "c").json()["id"]
    path = f"{USERS}/{user_id}/grants"
    stale = {**headers, "Idempotency-Key": "retry-me", "If-Match": "5"}
    assert client.post(path, headers=stale, json={"roles": ["approver"]}).status_code == 412
    fresh = {**headers, "Idempotency-Key": "retry-me", "If-Match": "1"}
    assert client.post(path, headers=fresh, json={"roles": ["approver"]}).status_code == 200
    assert event_count(event_store, user_id) == 2


def test_concurrent_duplicates_append_once_and_answer_alike(
        client: httpx.Client, headers: dict[str, str], event_store: EventStore) -> None:
    user_id = create(client, headers, "c").json()["id"]
    path = f"{USERS}/{user_id}/grants"
    body = {"roles": ["approver"], "delay": 0.4}
    answers: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=30) as other:
            answers.append(other.post(path, json=body,
                                      headers={**headers, "Idempotency-Key": "race"}))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.headers.get("idempotent-replayed", "no") for a in answers) == ["no", "true"]
    assert event_count(event_store, user_id) == 2


def test_a_lost_answer_is_rebuilt_from_the_committed_versions(
        client: httpx.Client, headers: dict[str, str], event_store: EventStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = create(client, headers, "c").json()["id"]
    path = f"{USERS}/{user_id}/grants"

    def crash(*args: Any, **kwargs: Any) -> None:
        raise psycopg.OperationalError("the process died before storing the answer")

    with monkeypatch.context() as patch:
        patch.setattr(IdempotencyStore, "complete", crash)
        first = client.post(path, headers={**headers, "Idempotency-Key": "lost"},
                            json={"roles": ["approver"]})
    assert first.status_code == 200
    retry = client.post(path, headers={**headers, "Idempotency-Key": "lost"},
                        json={"roles": ["approver"]})
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == {"id": user_id, "version": 2}
    # rebuilt from the store, the answer still names the position of its event
    assert retry.headers["danvan-position"] == first.headers["danvan-position"]
    assert event_count(event_store, user_id) == 2


def test_keys_expire_after_a_day(client: httpx.Client, headers: dict[str, str],
                                 owner_conn: psycopg.Connection[Any]) -> None:
    assert create(client, headers, "old", username="old.one").status_code == 201
    owner_conn.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
    again = create(client, headers, "old", username="old.one")
    assert again.status_code == 409  # run again: the create collides with the first one
    assert owner_conn.execute("SELECT count(*) FROM idempotency_keys").fetchone() == (0,)


def test_a_malformed_key_is_a_400(client: httpx.Client, headers: dict[str, str]) -> None:
    response = create(client, headers, "x" * 300)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_header"
