"""People over HTTP: one's own password, an admin's reset and deactivation, one-time passwords,
the tenant walls around them, the one password rule, idempotency and the rate limit.

(Revocation of earlier tokens after each change: ``test_token_revocation.py``.)
"""

from __future__ import annotations

import io
import sys
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from danvan.backend.app import HttpOptions
from danvan.backend.auth.controller import LoginLimits
from danvan.backend.auth.ratelimit import Limit
from danvan.backend.cli import main as danvan
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser, login
from tests.e2e.world import API, GIA_PHU, YEN_BAI, World, ok

NEW_PASSWORD = "mật-khẩu-mới-đủ-dài-2"
ATTEMPTS = 6


@pytest.fixture
def options() -> HttpOptions:
    return HttpOptions(login_limits=LoginLimits(per_username=Limit(ATTEMPTS, 300),
                                                per_address=Limit(1000, 300)))


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


def users_path(world: World, code: str = YEN_BAI) -> str:
    return f"{API}/tenants/{world.tenants[code].id}/users"


def new_user(world: World, username: str, *, code: str = YEN_BAI, role: str = "reviewer",
             **extra: Any) -> MadeUser:
    creator = world.as_("province_admin" if role == "inspector" else "tenant_admin", code)
    made = ok(world.client.post(users_path(world, code), headers=creator, json={
        "username": username, "password": PASSWORD, "full_name": "Cán bộ mới",
        "roles": [role], **extra}), 201)
    return MadeUser(uuid.UUID(made["id"]), username, PASSWORD)


def sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post(f"{API}/auth/token", json={"username": username, "password": password})


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def events_of(store: EventStore, user: MadeUser) -> list[str]:
    return [type(e).__name__ for e in store.events.get(user.id)]


def field_errors(response: httpx.Response, status: int = 422) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


def test_a_tenant_admin_resets_a_password_and_only_the_new_one_signs_in(
        world: World, event_store: EventStore) -> None:
    user = new_user(world, "reset.me")
    reset = world.client.post(f"{users_path(world)}/{user.id}/password-reset",
                              headers=world.as_("tenant_admin"),
                              json={"new_password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.text
    assert reset.json() == {"id": str(user.id), "version": 2, "state": "active"}
    assert reset.headers["etag"] == '"2"'
    assert int(reset.headers["danvan-position"]) > 0
    assert sign_in(world.client, user.username, PASSWORD).status_code == 401
    assert sign_in(world.client, user.username, NEW_PASSWORD).status_code == 200
    assert events_of(event_store, user)[:2] == ["Registered", "PasswordReset"]


def test_a_tenant_admin_cannot_reach_a_user_of_another_tenant(
        world: World, event_store: EventStore) -> None:
    other = new_user(world, "o.gia.phu", code=GIA_PHU)
    admin = world.as_("tenant_admin", YEN_BAI)
    for action, body in (("password-reset", {"new_password": NEW_PASSWORD}),
                         ("deactivation", {"reason": "Chuyển công tác"})):
        # on the other tenant's path: refused by the wall (403, nothing of it named)
        walled = world.client.post(f"{users_path(world, GIA_PHU)}/{other.id}/{action}",
                                   headers=admin, json=body)
        assert walled.status_code == 403, walled.text
        assert walled.json()["code"] == "forbidden"
        assert world.tenants[GIA_PHU].id not in walled.text
        # its id on one's own tenant's path: no such user here
        unknown = world.client.post(f"{users_path(world, YEN_BAI)}/{other.id}/{action}",
                                    headers=admin, json=body)
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["code"] == "not_found"
    assert events_of(event_store, other) == ["Registered"]
    assert sign_in(world.client, other.username, PASSWORD).status_code == 200


def test_a_province_admin_of_the_tenants_province_resets_and_deactivates(world: World) -> None:
    user = new_user(world, "by.province")
    path = f"{users_path(world)}/{user.id}"
    ok(world.client.post(f"{path}/password-reset", headers=world.as_("province_admin"),
                         json={"new_password": NEW_PASSWORD}))
    stopped = ok(world.client.post(f"{path}/deactivation", headers=world.as_("province_admin"),
                                   json={"reason": "Nghỉ hưu"}))
    assert stopped["state"] == "inactive"
    assert sign_in(world.client, user.username, NEW_PASSWORD).status_code == 401
    again = world.client.post(f"{path}/deactivation", headers=world.as_("province_admin"),
                              json={"reason": "Nghỉ hưu"})
    assert again.status_code == 409
    assert again.json()["code"] == "user_inactive"
    assert again.json()["detail"] == "Tài khoản này đã ngừng hoạt động."
    after = world.client.post(f"{path}/password-reset", headers=world.as_("province_admin"),
                              json={"new_password": "mot-mat-khau-khac-3"})
    assert after.status_code == 409


def test_an_inspector_is_reset_or_deactivated_by_the_province_only(
        world: World, event_store: EventStore) -> None:
    inspector = new_user(world, "kiem.tra.moi", role="inspector")
    path = f"{users_path(world)}/{inspector.id}"
    for action, body in (("password-reset", {"new_password": NEW_PASSWORD}),
                         ("deactivation", {"reason": "Nghỉ hưu"})):
        refused = world.client.post(f"{path}/{action}", headers=world.as_("tenant_admin"),
                                    json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "inspector_needs_province_admin"
    assert events_of(event_store, inspector) == ["Registered"]
    ok(world.client.post(f"{path}/password-reset", headers=world.as_("province_admin"),
                         json={"new_password": NEW_PASSWORD}))


def test_the_password_rule_is_one_and_each_refusal_names_its_field(
        world: World, event_store: EventStore) -> None:
    user = new_user(world, "short.pass")
    headers = login(world.client, user)
    short = "ngắn-9-kt"  # 9 characters
    assert len(short) == 9
    reset = world.client.post(f"{users_path(world)}/{user.id}/password-reset",
                              headers=world.as_("tenant_admin"), json={"new_password": short})
    assert field_errors(reset) == {"new_password": "độ dài phải >= 10"}
    own = world.client.post(f"{API}/auth/password", headers=headers,
                            json={"current_password": PASSWORD, "new_password": short})
    assert set(field_errors(own)) == {"new_password"}
    created = world.client.post(users_path(world), headers=world.as_("tenant_admin"), json={
        "username": "short.new", "password": short, "full_name": "Cán bộ", "roles": ["reviewer"]})
    assert set(field_errors(created)) == {"password"}
    ten = "đúng-10-kt"
    assert len(ten) == 10
    ok(world.client.post(f"{users_path(world)}/{user.id}/password-reset",
                         headers=world.as_("tenant_admin"), json={"new_password": ten}))
    assert events_of(event_store, user) == ["Registered", "PasswordReset"]


def test_a_wrong_current_password_is_refused_naming_it_and_the_same_one_is_no_change(
        world: World, event_store: EventStore) -> None:
    user = new_user(world, "doi.mat.khau")
    headers = login(world.client, user)
    wrong = world.client.post(f"{API}/auth/password", headers=headers, json={
        "current_password": "không-phải-mật-khẩu", "new_password": NEW_PASSWORD})
    assert field_errors(wrong) == {"current_password": "không đúng mật khẩu hiện tại"}
    english = world.client.post(f"{API}/auth/password", headers={
        **headers, "Accept-Language": "en"}, json={
        "current_password": "không-phải-mật-khẩu", "new_password": NEW_PASSWORD})
    assert field_errors(english) == {"current_password": "is not the current password"}
    same = world.client.post(f"{API}/auth/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": PASSWORD})
    assert field_errors(same) == {"new_password": "phải khác mật khẩu hiện tại"}
    assert events_of(event_store, user) == ["Registered"]
    assert world.client.get(f"{API}/tenants/{world.tenants[YEN_BAI].id}",
                            headers=headers).status_code == 200


def test_a_one_time_password_serves_only_its_change_then_the_account_works(
        world: World, event_store: EventStore) -> None:
    user = new_user(world, "mot.lan", must_change_password=True)
    answer = sign_in(world.client, user.username, PASSWORD)
    assert answer.json()["must_change_password"] is True
    once = bearer(answer)
    tenant = f"{API}/tenants/{world.tenants[YEN_BAI].id}"

    for refused in (world.client.get(tenant, headers=once),
                    world.client.post(f"{tenant}/models", headers=once, json={}),
                    world.client.post("/graphql", headers=once,
                                      json={"query": "{ provinces { code } }"})):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "password_change_required"
        assert refused.json()["detail"].startswith("Tài khoản đang dùng mật khẩu tạm thời")
    assert world.client.get("/health/live").status_code == 200

    changed = world.client.post(f"{API}/auth/password", headers=once, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert changed.json()["state"] == "active"
    revoked = world.client.get(tenant, headers=once)
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "token_revoked"

    answer = sign_in(world.client, user.username, NEW_PASSWORD)
    assert answer.json()["must_change_password"] is False
    assert world.client.get(tenant, headers=bearer(answer)).status_code == 200
    assert events_of(event_store, user) == ["Registered", "PasswordChanged"]


def test_an_ordinary_sign_in_says_no_change_is_required(world: World) -> None:
    answer = sign_in(world.client, "reviewer.04252", PASSWORD)
    assert answer.status_code == 200
    assert answer.json()["must_change_password"] is False


def test_a_reset_or_deactivation_retried_with_its_key_is_done_once(
        world: World, event_store: EventStore) -> None:
    user = new_user(world, "lam.lai")
    path = f"{users_path(world)}/{user.id}"
    admin = world.as_("tenant_admin")
    for action, body in (("password-reset", {"new_password": NEW_PASSWORD}),
                         ("deactivation", {"reason": "Nghỉ hưu"})):
        headers = {**admin, "Idempotency-Key": f"{action}-{user.id}"}
        first = world.client.post(f"{path}/{action}", headers=headers, json=body)
        again = world.client.post(f"{path}/{action}", headers=headers, json=body)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
    assert events_of(event_store, user) == ["Registered", "PasswordReset", "Deactivated"]


def test_password_changes_are_rate_limited_like_sign_ins(world: World) -> None:
    user = new_user(world, "doan.mo")
    headers = login(world.client, user)
    statuses = [world.client.post(f"{API}/auth/password", headers=headers, json={
        "current_password": f"doan-mat-khau-{i}", "new_password": NEW_PASSWORD}).status_code
        for i in range(ATTEMPTS)]
    assert statuses == [422] * ATTEMPTS
    limited = world.client.post(f"{API}/auth/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 300
    # the account itself still works; only guessing through the change is held back
    assert world.client.get(f"{API}/tenants/{world.tenants[YEN_BAI].id}",
                            headers=headers).status_code == 200


def test_the_command_line_holds_to_the_same_rule(
        settings: Settings, event_store: EventStore, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("danvan.infra.settings.get_settings", lambda: settings)
    create = ["admin", "create", "--username", "admin.cli", "--role", "province_admin"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("ngắn-9-kt\n"))
    assert danvan(create) == 2
    assert "password: at least 10 characters" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("đúng-10-kt\n"))
    assert danvan(create) == 0
    assert "created admin.cli" in capsys.readouterr().out
