"""Fifty conflicting commands at once on one model: exactly what succeeds is recorded.

Each request comes from its own thread and its own ``httpx.Client`` (connected before a
barrier releases them together). With one ``If-Match`` for all, exactly one wins and the
rest are 412 or 409; without, every 200 is exactly one new event at the version it reported,
versions run without gaps or duplicates, and no answered command is lost.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from danvan.infra.database import ConnParams
from tests.e2e.test_role_route_matrix import LiveEnv, live_env
from tests.e2e.world import API, FORM

CONCURRENCY = 50
MAX_ATTEMPTS = 200


@pytest.fixture(scope="module")
def env(admin_params: ConnParams, template_database: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnv]:
    with live_env(admin_params, template_database, tmp_path_factory.mktemp("race")) as built:
        yield built


def all_at_once(env: LiveEnv, send: Callable[[httpx.Client, int], httpx.Response],
                n: int = CONCURRENCY) -> list[httpx.Response]:
    """``send(client, i)`` for i in 0..n-1, each on its own thread and client, released
    together once every client holds a connection."""
    barrier = threading.Barrier(n)

    def one(i: int) -> httpx.Response:
        # plain HTTP on loopback: verify=False spares loading the CA bundle (~0.1 s a client)
        with httpx.Client(base_url=str(env.client.base_url), timeout=120,
                          verify=False) as client:
            client.get("/health/live").raise_for_status()
            barrier.wait(timeout=60)
            return send(client, i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def inspection(env: LiveEnv, model_id: str, **headers: str
               ) -> Callable[[httpx.Client, int], httpx.Response]:
    path = f"{API}/tenants/{env.tenant_id()}/models/{model_id}/inspection"

    def send(client: httpx.Client, i: int) -> httpx.Response:
        return client.post(path, headers={**env.world.as_("reviewer"), **headers},
                           json={"findings": f"Lần kiểm tra {i}"})

    return send


def codes(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter((r.status_code, r.json().get("code", "")) for r in responses)


def findings_by_version(env: LiveEnv, model_id: str) -> dict[int, Any]:
    return {e.originator_version: getattr(e, "findings", None)
            for e in env.model_events(model_id)}


def test_fifty_actions_with_one_if_match_make_exactly_one_event(env: LiveEnv) -> None:
    model = env.model_at(2)  # accepted, version 3
    before = env.events()
    responses = all_at_once(env, inspection(env, model, **{"If-Match": '"3"'}))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] == 1, codes(responses)
    assert set(statuses) <= {200, 409, 412}, codes(responses)
    assert {c for (s, c) in codes(responses) if s == 409} <= {"version_conflict"}
    assert env.events() - before == 1
    [(i, winner)] = [(i, r) for i, r in enumerate(responses) if r.status_code == 200]
    assert winner.json() == {"id": model, "version": 4, "state": "accepted"}
    stored = findings_by_version(env, model)
    assert sorted(stored) == [1, 2, 3, 4]
    assert stored[4] == f"Lần kiểm tra {i}"


def test_fifty_actions_without_if_match_lose_nothing_and_leave_no_gaps(env: LiveEnv) -> None:
    """Released together, one wins and the rest get 409 (a clash appends nothing): each
    client then retries its own command, backing off at random, until it is taken."""
    model = env.model_at(2)  # accepted, version 3
    first = inspection(env, model)
    answers: list[tuple[int, httpx.Response]] = []  # every answer, retries included
    lock = threading.Lock()

    def until_taken(client: httpx.Client, i: int) -> httpx.Response:
        jitter = random.Random(i)
        for attempt in range(MAX_ATTEMPTS):
            response = first(client, i)
            with lock:
                answers.append((i, response))
            if response.status_code != 409:
                return response
            time.sleep(jitter.uniform(0, min(0.25, 0.01 * 2 ** attempt)))  # backing off
        return response

    before = env.events()
    all_at_once(env, until_taken)
    won = {i: r for i, r in answers if r.status_code == 200}
    clashes = [r for _, r in answers if r.status_code != 200]
    assert len(won) == CONCURRENCY, codes([r for _, r in answers])
    assert {(r.status_code, r.json()["code"]) for r in clashes} <= {(409, "version_conflict")}
    assert clashes, "the commands did not race"
    # every 200 is exactly one new event; none is lost, none is made up
    assert env.events() - before == len(won)
    versions = sorted(r.json()["version"] for r in won.values())
    assert versions == list(range(4, 4 + CONCURRENCY))  # strictly increasing, no gap, no twin
    stored = findings_by_version(env, model)
    assert sorted(stored) == list(range(1, 4 + CONCURRENCY))
    for i, response in won.items():
        assert stored[response.json()["version"]] == f"Lần kiểm tra {i}"


def test_fifty_identical_registrations_create_one_model(env: LiveEnv) -> None:
    body = {"unit_id": env.unit_id(), "year": 2026, "name": env.unique("Cùng lúc "), **FORM}
    path = f"{API}/tenants/{env.tenant_id()}/models"
    before = env.events()
    responses = all_at_once(env, lambda client, i: client.post(
        path, headers=env.world.as_("unit_user"), json=body))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] == 1, codes(responses)
    assert {c for (s, c) in codes(responses) if s != 201} <= {"already_exists",
                                                              "version_conflict"}
    assert set(statuses) == {201, 409}
    assert env.events() - before == 1
