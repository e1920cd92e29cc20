"""A command whose COMMIT reached PostgreSQL but whose answer was lost is answered as done.

Every database connection of the app goes through ``tests.fault_proxy.CommitLosingProxy``,
which, when armed, swallows the server's answer to the COMMIT of the transaction that appends
the command's events and closes both ends: the command is in the store, the app saw its
connection drop. It must answer 2xx with the right version (never 409), store the events
once, and a retry with the same Idempotency-Key replays; when the store cannot be asked at
all, a 503 ``outcome_unknown`` tells the client to retry with its key.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from danvan.infra.commit_outcome import CommitOutcomeCheck
from danvan.infra.database import ConnParams
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from tests.conftest import make_settings
from tests.e2e.conftest import PASSWORD, MadeUser, login
from tests.fault_proxy import CommitLosingProxy

API = "/api/v1"
YEN_BAI = "04252"


@pytest.fixture
def proxy(database_url: str) -> Iterator[CommitLosingProxy]:
    with CommitLosingProxy(ConnParams.from_url(database_url)) as running:
        yield running


@pytest.fixture(params=[True, False], ids=["group-commit", "plain"])
def group_commit(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, proxy: CommitLosingProxy,
             group_commit: bool) -> Settings:
    """The app's settings, every connection through the proxy (overrides the shared one)."""
    url = proxy.params(ConnParams.from_url(database_url)).url(password=True)
    return make_settings(url, tmp_path, db_group_commit=group_commit,
                         db_connect_timeout_seconds=1)


@pytest.fixture
def province(client: httpx.Client, make_user: Callable[..., MadeUser]) -> dict[str, str]:
    return login(client, make_user("admin.laocai", role="province_admin"))


def versions(store: EventStore, aggregate_id: str) -> list[int]:
    return [e.originator_version for e in store.events.get(uuid.UUID(aggregate_id))]


def onboard(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return client.post(f"{API}/tenants", headers=headers, json={"code": YEN_BAI})


def add_user(client: httpx.Client, headers: dict[str, str], tenant_id: str) -> dict[str, str]:
    response = client.post(f"{API}/tenants/{tenant_id}/users", headers=headers, json={
        "username": "bxdd.yenbai", "password": PASSWORD, "full_name": "Hà Thị Xây",
        "roles": ["reviewer"]})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_create_whose_commit_answer_was_lost_is_a_201_stored_once(
        client: httpx.Client, province: dict[str, str], proxy: CommitLosingProxy,
        event_store: EventStore) -> None:
    proxy.arm()
    response = onboard(client, province)

    assert proxy.fired.is_set()
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 1
    assert versions(event_store, response.json()["id"]) == [1]


def test_an_action_whose_commit_answer_was_lost_replays_with_its_key(
        client: httpx.Client, province: dict[str, str], proxy: CommitLosingProxy,
        event_store: EventStore) -> None:
    tenant = onboard(client, province).json()["id"]
    user = add_user(client, province, tenant)
    path = f"{API}/tenants/{tenant}/users/{user['id']}/roles"
    headers = {**province, "Idempotency-Key": "roles-once", "If-Match": '"1"'}
    body = {"roles": ["approver"]}

    proxy.arm()
    first = client.put(path, headers=headers, json=body)
    assert proxy.fired.is_set()
    again = client.put(path, headers=headers, json=body)

    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2
    assert first.headers["etag"] == '"2"'
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert versions(event_store, user["id"]) == [1, 2]


def test_an_unknown_outcome_is_a_503_and_the_retry_with_its_key_replays(
        client: httpx.Client, province: dict[str, str], proxy: CommitLosingProxy,
        event_store: EventStore) -> None:
    recorder = event_store.recorder
    assert isinstance(recorder, CommitOutcomeCheck)
    recorder.insert_attempts = 3
    headers = {**province, "Idempotency-Key": "onboard-once", "Accept-Language": "en"}

    proxy.arm(then=proxy.down)  # the COMMIT's answer is lost, then the database is out of reach
    unknown = onboard(client, headers)
    proxy.up()

    assert unknown.status_code == 503, unknown.text
    assert unknown.json()["code"] == "outcome_unknown"
    assert "Idempotency-Key" in unknown.json()["detail"]
    retried = onboard(client, headers)
    deadline = time.monotonic() + 30
    while retried.status_code == 503 and time.monotonic() < deadline:  # pools reconnecting
        time.sleep(0.5)
        retried = onboard(client, headers)
    assert retried.status_code == 201, retried.text
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.json()["version"] == 1
    assert versions(event_store, retried.json()["id"]) == [1]
