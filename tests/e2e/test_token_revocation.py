"""Old tokens do not outlive their rights: after a role change, a password change or a
deactivation, tokens issued earlier are refused from the moment the command has answered, on
every worker, REST and GraphQL alike, while a token issued after it works at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from litestar import Litestar

from danvan.backend.app import create_app
from danvan.backend.auth.passwords import needs_rehash
from danvan.backend.wiring import Services, build
from danvan.domain.commands import RegisterUser
from danvan.domain.policies import RoleGrant, province_scope
from danvan.domain.users import User
from danvan.infra.event_store import EventStore, open_event_store
from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser, login, system_context
from tests.e2e.graphql_support import catch_up
from tests.e2e.probe import ProbeController
from tests.e2e.world import API, YEN_BAI, ok

TENANT_Q = "query($id: ID!) { tenant(id: $id) { id name } }"
NEW_PASSWORD = "mật-khẩu-mới-đủ-dài-2"


@dataclass
class Office:
    """A province admin, phường Yên Bái, and its tenant admin (the user whose rights change)."""

    province: dict[str, str]
    tenant_id: str
    admin: MadeUser

    def user_path(self) -> str:
        return f"{API}/tenants/{self.tenant_id}/users/{self.admin.id}"


@pytest.fixture
def office(client: httpx.Client, make_user: Callable[..., MadeUser]) -> Office:
    province = login(client, make_user("admin.laocai"))
    tenant = ok(client.post(f"{API}/tenants", headers=province, json={"code": YEN_BAI}), 201)
    made = ok(client.post(f"{API}/tenants/{tenant['id']}/users", headers=province, json={
        "username": "quantri.yenbai", "password": PASSWORD, "full_name": "Nguyễn Văn Quản",
        "roles": ["tenant_admin"]}), 201)
    return Office(province, tenant["id"], MadeUser(made["id"], "quantri.yenbai", PASSWORD))


def read_tenant(client: httpx.Client, office: Office, headers: dict[str, str]
                ) -> httpx.Response:
    return client.get(f"{API}/tenants/{office.tenant_id}", headers=headers)


def query_tenant(client: httpx.Client, office: Office, headers: dict[str, str]
                 ) -> httpx.Response:
    return client.post("/graphql", headers=headers,
                       json={"query": TENANT_Q, "variables": {"id": office.tenant_id}})


def assert_revoked(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "token_revoked"
    assert response.json()["detail"].startswith("Vai trò, mật khẩu")


def add_unit(client: httpx.Client, office: Office, headers: dict[str, str]) -> httpx.Response:
    return client.post(f"{API}/tenants/{office.tenant_id}/units", headers=headers, json={
        "name": "Chi bộ Tổ dân phố 5", "kind": "party_cell", "reports_to_vertical_line": False})


def stored_user(store: EventStore, user: MadeUser) -> Any:
    found = store.repository.get(user.id)  # type: ignore[arg-type]
    assert isinstance(found, User)
    return found


def test_a_demoted_users_earlier_token_is_refused_at_once_and_a_new_one_works(
        client: httpx.Client, office: Office, settings: Settings) -> None:
    earlier = login(client, office.admin)
    assert read_tenant(client, office, earlier).status_code == 200
    assert query_tenant(client, office, earlier).status_code == 200

    demoted = client.put(f"{office.user_path()}/roles", headers=office.province,
                         json={"roles": ["reviewer"]})
    assert demoted.status_code == 200, demoted.text

    assert_revoked(read_tenant(client, office, earlier))
    assert_revoked(query_tenant(client, office, earlier))
    assert_revoked(add_unit(client, office, earlier))
    later = login(client, office.admin)  # right after the answer: most often the same second
    assert read_tenant(client, office, later).status_code == 200
    assert add_unit(client, office, later).status_code == 403  # a reviewer now
    catch_up(settings)
    answer = query_tenant(client, office, later)
    assert answer.status_code == 200
    assert answer.json()["data"]["tenant"]["name"] == "Phường Yên Bái"


@pytest.fixture
def second_worker(settings: Settings, serve: Callable[[Litestar], str]
                  ) -> Iterator[httpx.Client]:
    """Another worker's worth: its own store, pools and app on the same database."""
    store = open_event_store(settings)
    services: Services = build(settings, store=store, redis=None)
    try:
        url = serve(create_app(settings, services=services, controllers=[ProbeController]))
        with httpx.Client(base_url=url, timeout=30) as other:
            yield other
    finally:
        services.close()
        store.close()


def test_every_worker_refuses_the_earlier_token(
        client: httpx.Client, second_worker: httpx.Client, office: Office) -> None:
    earlier = login(client, office.admin)
    assert read_tenant(second_worker, office, earlier).status_code == 200

    demoted = client.put(f"{office.user_path()}/roles", headers=office.province,
                         json={"roles": ["reviewer"]})
    assert demoted.status_code == 200, demoted.text

    for worker in (second_worker, client):
        assert_revoked(read_tenant(worker, office, earlier))
        assert_revoked(query_tenant(worker, office, earlier))
    later = login(second_worker, office.admin)
    for worker in (client, second_worker):
        assert read_tenant(worker, office, later).status_code == 200


def test_a_password_change_refuses_earlier_tokens_and_the_new_password_signs_in(
        client: httpx.Client, office: Office) -> None:
    earlier = login(client, office.admin)
    changed = client.post(f"{API}/auth/password", headers=earlier, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text

    assert_revoked(read_tenant(client, office, earlier))
    assert client.post(f"{API}/auth/token", json={
        "username": office.admin.username, "password": PASSWORD}).status_code == 401
    later = login(client, MadeUser(office.admin.id, office.admin.username, NEW_PASSWORD))
    assert read_tenant(client, office, later).status_code == 200


def test_a_password_reset_refuses_earlier_tokens_and_a_token_issued_after_it_works(
        client: httpx.Client, office: Office) -> None:
    earlier = login(client, office.admin)
    reset = client.post(f"{office.user_path()}/password-reset", headers=office.province,
                        json={"new_password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.text

    assert_revoked(read_tenant(client, office, earlier))
    assert_revoked(query_tenant(client, office, earlier))
    later = login(client, MadeUser(office.admin.id, office.admin.username, NEW_PASSWORD))
    assert read_tenant(client, office, later).status_code == 200
    assert add_unit(client, office, later).status_code == 201


def test_a_deactivated_user_cannot_sign_in_and_earlier_tokens_are_refused(
        client: httpx.Client, office: Office) -> None:
    earlier = login(client, office.admin)
    stopped = client.post(f"{office.user_path()}/deactivation", headers=office.province,
                          json={"reason": "Nghỉ hưu"})
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["state"] == "inactive"

    assert_revoked(read_tenant(client, office, earlier))
    assert_revoked(query_tenant(client, office, earlier))
    refused = client.post(f"{API}/auth/token", json={
        "username": office.admin.username, "password": PASSWORD})
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_credentials"


def test_a_login_that_rehashes_the_password_revokes_no_token(
        client: httpx.Client, event_store: EventStore) -> None:
    """A hash made with older parameters is re-made at the next good login: the same
    password, so neither the token that login issues nor any other is refused."""
    older = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    user = User.register(system_context(province_scope("15")), RegisterUser(
        "old.hash", older.hash(PASSWORD), "Trần Văn Cũ",
        (RoleGrant(role="province_admin", province_code="15"),)))
    event_store.save(user)
    made = MadeUser(user.id, "old.hash", PASSWORD)

    first = login(client, made)  # this login re-hashes
    assert not needs_rehash(stored_user(event_store, made).password_hash)
    second = login(client, made)
    for headers in (first, second):
        me = client.get(f"{API}/probe/whoami", headers=headers)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "old.hash"
    # the audit trail tells it apart from a password change
    assert [type(e).__name__ for e in event_store.events.get(user.id)] == [
        "Registered", "PasswordRehashed"]
