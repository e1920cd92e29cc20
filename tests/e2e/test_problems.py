"""Every refusal is an RFC 9457 problem, in Vietnamese unless the client asks for English."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from eventsourcing.persistence import OperationalError

from danvan.infra.event_store import EventStore
from tests.e2e.conftest import MadeUser, login

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code"}
TENANT = "9f1c0a56-2a43-5c1e-9b7e-3f4f3d0c2a11"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body.keys() >= PROBLEM_MEMBERS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:danvan:problem:{code}"
    return body  # type: ignore[no-any-return]


def test_a_body_over_one_mebibyte_is_a_413_problem(client: httpx.Client) -> None:
    big = b'{"username": "' + b"a" * (1024 * 1024 + 10) + b'", "password": "x"}'
    response = client.post("/api/v1/auth/token", content=big,
                           headers={"Content-Type": "application/json"})
    body = assert_problem(response, 413, "payload_too_large")
    assert "1048576" in str(body["detail"])


def test_unknown_and_mistyped_members_are_named_in_vietnamese(client: httpx.Client) -> None:
    response = client.post("/api/v1/auth/token",
                           json={"username": "a", "password": "b", "remember_me": True})
    body = assert_problem(response, 422, "invalid_input")
    assert body["title"] == "Dữ liệu không hợp lệ"
    assert body["errors"] == [{"field": "remember_me", "message": "trường không được chấp nhận"}]
    assert response.headers["content-language"] == "vi"

    mistyped = client.post("/api/v1/auth/token", json={"username": 7, "password": "b"})
    errors = assert_problem(mistyped, 422, "invalid_input")["errors"]
    assert errors == [{"field": "username",
                       "message": "sai kiểu dữ liệu: cần str, nhận được int"}]

    missing = client.post("/api/v1/auth/token", json={"username": "a"})
    assert assert_problem(missing, 422, "invalid_input")["errors"] == [
        {"field": "password", "message": "bắt buộc phải có"}]


def test_the_same_problems_in_english_on_request(client: httpx.Client) -> None:
    headers = {"Accept-Language": "en-GB,en;q=0.9,vi;q=0.5"}
    response = client.post("/api/v1/auth/token", headers=headers,
                           json={"username": "a", "password": "b", "remember_me": True})
    body = assert_problem(response, 422, "invalid_input")
    assert body["title"] == "Invalid input"
    assert body["detail"] == "The request is invalid; see the errors for each field."
    assert body["errors"] == [{"field": "remember_me", "message": "unknown field"}]
    assert response.headers["content-language"] == "en"
    unknown = client.get("/api/v1/nothing-here", headers=headers)
    assert assert_problem(unknown, 404, "not_found")["title"] == "Not found"


def test_malformed_json_is_a_422(client: httpx.Client) -> None:
    response = client.post("/api/v1/auth/token", content=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert_problem(response, 422, "malformed_body")


def tenant_admin(make_user: Callable[..., MadeUser], name: str) -> MadeUser:
    return make_user(name, role="tenant_admin", tenant_id=TENANT)


def test_constraints_and_nested_unknown_members_are_named_by_their_path(
        client: httpx.Client, make_user: Callable[..., MadeUser]) -> None:
    headers = login(client, tenant_admin(make_user, "admin.nested"))
    response = client.post(f"/api/v1/probe/tenants/{TENANT}/users", headers=headers,
                           json={"username": "x.y.z", "full_name": "A", "age": -1})
    errors = assert_problem(response, 422, "invalid_input")["errors"]
    assert errors == [{"field": "age", "message": "giá trị phải >= 0"}]
    nested = client.post(f"/api/v1/probe/tenants/{TENANT}/users", headers=headers,
                         json={"username": "x.y.z", "full_name": "A",
                               "person": {"phone": "0912", "nickname": "Tí"}})
    errors = assert_problem(nested, 422, "invalid_input")["errors"]
    assert errors == [{"field": "person.nickname", "message": "trường không được chấp nhận"}]


def test_domain_refusals_name_their_fields(client: httpx.Client,
                                           make_user: Callable[..., MadeUser]) -> None:
    headers = login(client, tenant_admin(make_user, "admin.domain"))
    response = client.post(f"/api/v1/probe/tenants/{TENANT}/users", headers=headers,
                           json={"username": "X", "full_name": "  "})
    errors = assert_problem(response, 422, "invalid_input")["errors"]
    fields = {e["field"] for e in errors}  # type: ignore[index, union-attr]
    assert fields == {"username", "full_name"}


def test_a_role_without_the_action_is_a_403_before_the_body_is_judged(
        client: httpx.Client, make_user: Callable[..., MadeUser]) -> None:
    analyst = make_user("analyst.one", role="province_analyst")
    response = client.post(f"/api/v1/probe/tenants/{TENANT}/users", headers=login(client, analyst),
                           content=b"{not json")
    assert_problem(response, 403, "forbidden")


def test_a_tenant_role_elsewhere_is_a_403_and_an_unknown_tenant_a_404_for_province_roles(
        client: httpx.Client, make_user: Callable[..., MadeUser]) -> None:
    other = "0b8d2f6e-3c1a-5d7e-8f90-1a2b3c4d5e6f"
    tenant_admin = make_user("tenant.admin", role="tenant_admin", tenant_id=other)
    response = client.post(f"/api/v1/probe/tenants/{TENANT}/users",
                           headers=login(client, tenant_admin),
                           json={"username": "new.user", "full_name": "B"})
    assert_problem(response, 403, "forbidden")
    province_admin = make_user("admin.province")
    unknown = client.post(f"/api/v1/probe/tenants/{TENANT}/users",
                          headers=login(client, province_admin),
                          json={"username": "new.user", "full_name": "B"})
    assert_problem(unknown, 404, "not_found")


def test_a_stale_if_match_is_a_412_and_a_garbled_one_a_400(
        client: httpx.Client, make_user: Callable[..., MadeUser]) -> None:
    headers = login(client, tenant_admin(make_user, "tenant.admin2"))
    created = client.post(f"/api/v1/probe/tenants/{TENANT}/users", headers=headers,
                          json={"username": "target.one", "full_name": "C"})
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    path = f"/api/v1/probe/tenants/{TENANT}/users/{created.json()['id']}/grants"
    stale = client.post(path, headers={**headers, "If-Match": '"7"'}, json={"roles": ["approver"]})
    body = assert_problem(stale, 412, "precondition_failed")
    assert body["detail"] == "Đối tượng đã ở phiên bản 1, không phải 7 như If-Match."
    garbled = client.post(path, headers={**headers, "If-Match": "v1"}, json={"roles": ["approver"]})
    assert_problem(garbled, 400, "invalid_header")
    fresh = client.post(path, headers={**headers, "If-Match": '"1"'}, json={"roles": ["approver"]})
    assert fresh.status_code == 200
    assert fresh.json()["version"] == 2


def test_a_duplicate_create_is_a_409(client: httpx.Client,
                                     make_user: Callable[..., MadeUser]) -> None:
    headers = login(client, tenant_admin(make_user, "tenant.admin3"))
    body = {"username": "twice.made", "full_name": "D"}
    assert client.post(f"/api/v1/probe/tenants/{TENANT}/users", headers=headers,
                       json=body).status_code == 201
    again = client.post(f"/api/v1/probe/tenants/{TENANT}/users", headers=headers, json=body)
    assert_problem(again, 409, "version_conflict")


def test_a_store_that_does_not_answer_is_a_503_with_retry_after(
        client: httpx.Client, event_store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(event_store.repository, "get", down)
    response = client.post("/api/v1/auth/token",
                           json={"username": "any.one", "password": "whatever-123"})
    body = assert_problem(response, 503, "store_unavailable")
    assert body["title"] == "Dịch vụ tạm thời không khả dụng"
    assert response.headers["retry-after"] == "5"
