"""``Idempotency-Key`` on the real command routes: a retry replays the first answer.

A retry with the same key and body answers the first 2xx response (same status, body and
ETag, plus ``Idempotent-Replayed: true``) and appends nothing, even after the model moved on;
the same key with another body (or on another route) is a 422; the same JSON written with
other white space or member order is the same body; a refused command is not remembered, so
its retry runs. Keys belong to their user.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from danvan.infra.database import ConnParams
from tests.e2e.test_role_route_matrix import LiveEnv, assert_problem, live_env
from tests.e2e.world import API, FORM

REPLAYED = "idempotent-replayed"


@pytest.fixture(scope="module")
def env(admin_params: ConnParams, template_database: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnv]:
    with live_env(admin_params, template_database, tmp_path_factory.mktemp("idem")) as built:
        yield built


def post(env: LiveEnv, path: str, role: str, key: str, body: dict[str, Any],
         client: httpx.Client | None = None) -> httpx.Response:
    return (client or env.client).post(API + path, json=body, headers={
        **env.world.as_(role), "Idempotency-Key": key})


def registration(env: LiveEnv, **overrides: Any) -> dict[str, Any]:
    return {"unit_id": env.unit_id(), "year": 2026, "name": env.unique("Mô hình "), **FORM,
            **overrides}


def models(env: LiveEnv) -> str:
    return f"/tenants/{env.tenant_id()}/models"


def assert_replay_of(first: httpx.Response, again: httpx.Response) -> None:
    assert again.status_code == first.status_code, again.text
    assert again.json() == first.json()
    assert again.headers[REPLAYED] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert REPLAYED not in first.headers


def test_a_retried_registration_replays_the_first_answer_and_appends_nothing(
        env: LiveEnv) -> None:
    body = registration(env)
    first = post(env, models(env), "unit_user", env.unique("register-"), body)
    assert first.status_code == 201, first.text
    before = env.events()
    key = first.request.headers["idempotency-key"]
    for _ in range(2):
        assert_replay_of(first, post(env, models(env), "unit_user", key, body))
    assert env.events() == before
    assert len(env.model_events(first.json()["id"])) == 1


def test_a_retried_action_replays_its_first_answer_even_after_the_model_moved_on(
        env: LiveEnv) -> None:
    model = env.model_at(0)
    path = f"{models(env)}/{model}/submit"
    key = env.unique("submit-")
    first = post(env, path, "unit_user", key, {})
    assert first.status_code == 200 and first.json()["state"] == "submitted", first.text
    before = env.events()
    assert_replay_of(first, post(env, path, "unit_user", key, {}))
    assert env.events() == before
    # the reviewer accepts it; the unit's late retry still gets its own first answer, not 409
    assert env.world.act(model, "accept", "reviewer").status_code == 200
    after_accept = env.events()
    assert_replay_of(first, post(env, path, "unit_user", key, {}))
    assert env.events() == after_accept
    assert [type(e).__name__ for e in env.model_events(model)] == [
        "Registered", "Submitted", "Accepted"]


def test_the_same_key_with_another_body_or_route_is_a_422_and_appends_nothing(
        env: LiveEnv) -> None:
    key = env.unique("reused-")
    assert post(env, models(env), "reviewer", key, registration(env)).status_code == 201
    model_a, model_b = env.model_at(2), env.model_at(2)
    inspect_a = f"{models(env)}/{model_a}/inspection"
    other_key = env.unique("inspect-")
    assert post(env, inspect_a, "reviewer", other_key, {"findings": "Đạt"}).status_code == 200
    before = env.events()
    for path, key_, body in (
        (models(env), key, registration(env)),                          # another body
        (inspect_a, other_key, {"findings": "Chưa đạt"}),               # another body
        (f"{models(env)}/{model_b}/inspection", other_key, {"findings": "Đạt"}),  # another route
    ):
        refused = post(env, path, "reviewer", key_, body)
        problem = assert_problem(refused, 422, "idempotency_key_reused")
        assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert env.events() == before


def test_a_retry_writing_the_same_json_otherwise_replays_and_another_value_is_a_422(
        env: LiveEnv) -> None:
    body = registration(env)
    key = env.unique("reformatted-")
    headers = {**env.world.as_("unit_user"), "Idempotency-Key": key,
               "Content-Type": "application/json"}
    first = env.client.post(API + models(env), headers=headers,
                            content=json.dumps(body, separators=(",", ":")).encode())
    assert first.status_code == 201, first.text
    before = env.events()
    # members in reverse order, spaced and escaped otherwise: the same JSON value
    reformatted = json.dumps(dict(reversed(list(body.items()))), indent=4, ensure_ascii=True)
    assert reformatted.encode() != first.request.content
    assert_replay_of(first, env.client.post(API + models(env), headers=headers,
                                            content=reformatted.encode()))
    changed = json.dumps({**body, "goals": body["goals"] + "."}).encode()
    refused = env.client.post(API + models(env), headers=headers, content=changed)
    assert_problem(refused, 422, "idempotency_key_reused")
    assert env.events() == before


def test_a_refused_command_is_not_remembered_so_its_retry_runs(env: LiveEnv) -> None:
    incomplete = {k: v for k, v in FORM.items() if k not in ("problem", "goals")}
    draft = env.client.post(API + models(env), headers=env.world.as_("unit_user"), json={
        "unit_id": env.unit_id(), "year": 2026, "name": env.unique("Nháp "), **incomplete,
    }).json()["id"]
    path = f"{models(env)}/{draft}/submit"
    key = env.unique("too-early-")
    before = env.events()
    refused = post(env, path, "unit_user", key, {})
    assert_problem(refused, 422, "invalid_input")
    assert env.events() == before
    amended = env.world.act(draft, "amend", "unit_user", {"problem": FORM["problem"],
                                                           "goals": FORM["goals"]})
    assert amended.status_code == 200, amended.text
    retried = post(env, path, "unit_user", key, {})
    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers
    assert retried.json() == {"id": draft, "version": 3, "state": "submitted"}


def test_keys_belong_to_their_user(env: LiveEnv) -> None:
    key = env.unique("shared-")
    mine = post(env, models(env), "unit_user", key, registration(env))
    theirs = post(env, models(env), "reviewer", key, registration(env))
    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.text
    assert REPLAYED not in theirs.headers and mine.json()["id"] != theirs.json()["id"]


def test_concurrent_retries_of_one_action_append_once_and_answer_alike(env: LiveEnv) -> None:
    model = env.model_at(1)  # submitted, version 2
    path = f"{models(env)}/{model}/accept"
    key = env.unique("double-click-")
    before = env.events()
    answers: list[httpx.Response] = []
    clients = [httpx.Client(base_url=str(env.client.base_url), timeout=60, verify=False)
               for _ in range(12)]
    barrier = threading.Barrier(len(clients))

    def send(client: httpx.Client) -> None:
        client.get("/health/live")  # connect before the race starts
        barrier.wait()
        answers.append(post(env, path, "reviewer", key, {}, client))

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert {a.content for a in answers} == {
        b'{"id":"%s","version":3,"state":"accepted"}' % model.encode()}
    assert {a.headers["etag"] for a in answers} == {'"3"'}
    assert sum(REPLAYED not in a.headers for a in answers) == 1
    assert env.events() - before == 1
