"""Every error status of the command API, on real routes, with its problem body.

Each answer is an RFC 9457 problem (``type, title, status, detail, code``; ``errors[{field,
message}]`` for bad input), Vietnamese by default and English with ``Accept-Language: en``
(every test runs in both), in the contract's order: 401 → 403 → 404 → 422 → 412 → 409, plus
413. Every refused command appends nothing (``appends_nothing`` counts the event rows).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from danvan.backend.auth.tokens import issue_token
from danvan.domain.policies import RoleGrant
from danvan.domain.registration_form import REQUIRED_DATES, REQUIRED_TEXT
from danvan.infra.database import ConnParams
from tests.e2e.test_role_route_matrix import (
    OTHER_UNIT,
    LiveEnv,
    assert_problem,
    live_env,
)
from tests.e2e.world import API, FORM, GIA_PHU, YEN_BAI

TEXT: dict[str, tuple[str, str]] = {
    # problem titles, by code: (Vietnamese, English)
    "unauthenticated": ("Chưa xác thực", "Not authenticated"),
    "token_expired": ("Mã truy cập hết hạn", "Access token expired"),
    "forbidden": ("Không có quyền", "Forbidden"),
    "other_unit": ("Không có quyền", "Forbidden"),
    "not_found": ("Không tìm thấy", "Not found"),
    "invalid_input": ("Dữ liệu không hợp lệ", "Invalid input"),
    "precondition_failed": ("Phiên bản đã thay đổi", "Precondition failed"),
    "illegal_transition": ("Không thể chuyển trạng thái", "Illegal transition"),
    "maintenance_year": ("Năm duy trì không hợp lệ", "Wrong maintenance year"),
    "already_exists": ("Đã tồn tại", "Already exists"),
    "payload_too_large": ("Nội dung quá lớn", "Payload too large"),
    # field messages
    "unknown field": ("trường không được chấp nhận", "unknown field"),
    "int, got str": ("sai kiểu dữ liệu: cần int, nhận được str", "expected int, got str"),
    "str, got int": ("sai kiểu dữ liệu: cần str, nhận được int", "expected str, got int"),
    "before submission": ("bắt buộc phải có trước khi gửi duyệt", "required before submission"),
    "no such unit": ("không có đơn vị trực thuộc này", "no such unit in this tenant"),
    "next year": ("mô hình chỉ được duy trì sang danh sách năm kế tiếp (2027)",
                  "a model is maintained into the next year's list (2027)"),
}


@pytest.fixture(scope="module")
def env(admin_params: ConnParams, template_database: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnv]:
    with live_env(admin_params, template_database, tmp_path_factory.mktemp("errors")) as built:
        yield built


@pytest.fixture(params=["vi", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def text(key: str, lang: str) -> str:
    return TEXT[key][lang == "en"]


class Caller:
    """One language, one world: requests as a role, and the problem they answer."""

    def __init__(self, env: LiveEnv, lang: str) -> None:
        self.env = env
        self.lang = lang
        self.language = {"Accept-Language": "en"} if lang == "en" else {}

    def post(self, path: str, role: str | None = "reviewer", *, json: Any = None,
             content: bytes | None = None, headers: dict[str, str] | None = None
             ) -> httpx.Response:
        sent = {**(self.env.world.as_(role) if role else {}), **self.language,
                **(headers or {})}
        if content is not None:
            sent["Content-Type"] = "application/json"
            return self.env.client.post(API + path, headers=sent, content=content)
        return self.env.client.post(API + path, headers=sent, json={} if json is None else json)

    def act(self, model_id: str, action: str, role: str = "reviewer", body: Any = None,
            if_match: str | None = None) -> httpx.Response:
        return self.post(f"{self.models()}/{model_id}/{action}", role, json=body,
                         headers={"If-Match": if_match} if if_match else None)

    def models(self, code: str = YEN_BAI) -> str:
        return f"/tenants/{self.env.tenant_id(code)}/models"

    def problem(self, response: httpx.Response, status: int, code: str) -> dict[str, Any]:
        body = assert_problem(response, status, code)
        assert response.headers["content-language"] == self.lang
        assert body["title"] == text(code, self.lang)
        assert isinstance(body["detail"], str) and body["detail"]
        return body

    def errors(self, response: httpx.Response, expected: dict[str, str]) -> None:
        """A 422 naming exactly ``expected`` (field → message key), in order."""
        body = self.problem(response, 422, "invalid_input")
        assert body["errors"] == [{"field": field, "message": text(key, self.lang)}
                                  for field, key in expected.items()]


@pytest.fixture
def caller(env: LiveEnv, lang: str) -> Caller:
    return Caller(env, lang)


@contextmanager
def appends_nothing(env: LiveEnv) -> Iterator[None]:
    before = env.events()
    yield
    assert env.events() == before, "a refused command appended events"


def test_no_token_or_a_bad_one_is_a_401_before_scope_id_or_body(caller: Caller) -> None:
    env = caller.env
    # another tenant, an unknown model and a malformed body: still 401 first
    path = f"{caller.models(GIA_PHU)}/{uuid.uuid4()}/accept"
    expired = issue_token(user_id=str(uuid.uuid4()), username="reviewer.04252",
                          grants=[RoleGrant(role="reviewer", province_code="15",
                                            tenant_id=env.tenant_id())],
                          secret=env.settings.secret_key, lifetime_seconds=-600)
    forged = issue_token(user_id=str(uuid.uuid4()), username="province.admin",
                         grants=[RoleGrant(role="province_admin", province_code="15")],
                         secret="not-the-servers-secret-not-the-servers-secret",
                         lifetime_seconds=600)
    with appends_nothing(env):
        for authorization, code in ((None, "unauthenticated"),
                                    ("Bearer not-a-jwt", "unauthenticated"),
                                    ("Basic YWRtaW46YWRtaW4=", "unauthenticated"),
                                    (f"Bearer {forged}", "unauthenticated"),
                                    (f"Bearer {expired}", "token_expired")):
            headers = {"Authorization": authorization} if authorization else {}
            response = caller.post(path, None, content=b"{not json", headers=headers)
            caller.problem(response, 401, code)
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_caller_without_the_role_or_the_scope_is_a_403_before_404_and_422(
        caller: Caller) -> None:
    env = caller.env
    theirs = env.register(unit=OTHER_UNIT, role="reviewer")["id"]
    with appends_nothing(env):
        # the wrong role: refused before the unknown model or the malformed body is looked at
        caller.problem(caller.post(f"{caller.models()}/{uuid.uuid4()}/accept", "unit_user",
                                   content=b"{not json"), 403, "forbidden")
        # a tenant one may not see is a 403 whether it exists or not
        for tenant in (env.tenant_id(GIA_PHU), str(uuid.uuid4())):
            caller.problem(caller.post(f"/tenants/{tenant}/models/{uuid.uuid4()}/accept"),
                           403, "forbidden")
        # another unit's model, for a unit user: 403 before its malformed body
        caller.problem(caller.post(f"{caller.models()}/{theirs}/submit", "unit_user",
                                   content=b"{not json"), 403, "other_unit")


def test_an_unknown_id_in_the_path_is_a_404_before_the_body_is_judged(caller: Caller) -> None:
    env = caller.env
    theirs = env.register(GIA_PHU)["id"]
    tenant = env.tenant_id()
    bad_body = {"no_such_member": True}
    with appends_nothing(env):
        for model_id in (str(uuid.uuid4()), "not-a-uuid", theirs):
            caller.problem(caller.act(model_id, "accept", body=bad_body), 404, "not_found")
            caller.problem(caller.post(f"{caller.models()}/{model_id}/accept",
                                       content=b"{not json"), 404, "not_found")
        caller.problem(caller.post(f"/tenants/{tenant}/units/{uuid.uuid4()}/closure",
                                   "tenant_admin", json={}), 404, "not_found")
        caller.problem(caller.post(f"/tenants/{tenant}/plan-tasks/{uuid.uuid4()}/completion",
                                   "tenant_admin", json=bad_body), 404, "not_found")
        # an unknown tenant is a 404 only for a province role that would cover it
        caller.problem(caller.post(f"/tenants/{uuid.uuid4()}/models/{uuid.uuid4()}/recognition",
                                   "province_admin", json=bad_body), 404, "not_found")


def test_an_unknown_member_is_a_422_naming_it(caller: Caller) -> None:
    model = caller.env.model_at(2)
    with appends_nothing(caller.env):
        caller.errors(caller.act(model, "inspection", body={"findings": "Đúng tiến độ",
                                                            "rating": 5}),
                      {"rating": "unknown field"})
        caller.errors(caller.act(model, "accept", body={"note": "ok"}),
                      {"note": "unknown field"})


def test_a_member_of_the_wrong_type_is_a_422_naming_it(caller: Caller) -> None:
    model = caller.env.model_at(2)
    with appends_nothing(caller.env):
        caller.errors(caller.act(model, "progress", "unit_user", {
            "period": "2026-Q2", "participants": "ba trăm", "workdays": 10}),
            {"participants": "int, got str"})
        caller.errors(caller.act(model, "inspection", body={"findings": 5}),
                      {"findings": "str, got int"})


def test_submit_names_each_missing_form_member(caller: Caller) -> None:
    env = caller.env
    draft = caller.post(caller.models(), "unit_user", json={
        "unit_id": env.unit_id(), "year": 2026, "name": env.unique("Bản nháp "),
        "kind": "collective", "field": "economy", "problem": FORM["problem"]})
    assert draft.status_code == 201, draft.text
    missing = [m for m in (*REQUIRED_TEXT, *REQUIRED_DATES) if m != "problem"]
    with appends_nothing(env):
        caller.errors(caller.act(draft.json()["id"], "submit", "unit_user"),
                      dict.fromkeys(missing, "before submission"))


def test_an_unknown_unit_in_a_body_is_a_422_naming_unit_id(caller: Caller) -> None:
    env = caller.env
    with appends_nothing(env):
        for unit in (str(uuid.uuid4()), env.unit_id(code=GIA_PHU)):  # another tenant's is unknown
            caller.errors(caller.post(caller.models(), json={
                "unit_id": unit, "year": 2026, "name": "Không có đơn vị", **FORM}),
                {"unit_id": "no such unit"})
        caller.errors(caller.post(f"/tenants/{env.tenant_id()}/users", "tenant_admin", json={
            "username": env.unique("bi.thu."), "password": "mật-khẩu-đủ-dài-1",
            "full_name": "Bí thư", "roles": ["unit_user"], "unit_id": str(uuid.uuid4())}),
            {"unit_id": "no such unit"})


def test_a_stale_if_match_is_a_412_and_the_current_one_passes(caller: Caller) -> None:
    model = caller.env.model_at(2)  # accepted, version 3
    with appends_nothing(caller.env):
        body = caller.problem(caller.act(model, "inspection", body={"findings": "Đạt"},
                                         if_match='"2"'), 412, "precondition_failed")
    assert body["detail"] == ("Đối tượng đã ở phiên bản 3, không phải 2 như If-Match."
                              if caller.lang == "vi" else
                              "The resource is at version 3, not 2 as If-Match says.")
    fresh = caller.act(model, "inspection", body={"findings": "Đạt"}, if_match='"3"')
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["etag"] == '"4"' and fresh.json()["version"] == 4


def test_with_a_stale_if_match_a_bad_body_is_still_a_422_and_an_illegal_step_a_412(
        caller: Caller) -> None:
    model = caller.env.model_at(2)  # accepted, version 3
    with appends_nothing(caller.env):
        caller.errors(caller.act(model, "inspection", body={"findings": 5},
                                 if_match="1"), {"findings": "str, got int"})
        caller.problem(caller.act(model, "accept", if_match="1"),
                       412, "precondition_failed")
        # with the current version the same illegal step is a 409
        caller.problem(caller.act(model, "accept", if_match="3"),
                       409, "illegal_transition")


def test_an_illegal_transition_is_a_409_with_its_domain_code(caller: Caller) -> None:
    env = caller.env
    draft = env.model_at(0)
    accepted = env.model_at(2)
    with appends_nothing(env):
        refused = caller.problem(caller.act(draft, "accept"), 409, "illegal_transition")
        assert refused["detail"] == {
            "vi": "Không thể «chấp nhận» khi mô hình bản nháp.",
            "en": "'accept' is not allowed when the model is draft"}[caller.lang]
        caller.problem(caller.act(accepted, "submit", "unit_user"), 409, "illegal_transition")
        body = caller.problem(caller.act(accepted, "maintenance", body={"year": 2030}),
                              409, "maintenance_year")
        assert body["errors"] == [{"field": "year", "message": text("next year", caller.lang)}]


def test_registering_the_same_model_twice_is_a_409(caller: Caller) -> None:
    env = caller.env
    body = {"unit_id": env.unit_id(), "year": 2026, "name": env.unique("Hai lần "), **FORM}
    assert caller.post(caller.models(), "unit_user", json=body).status_code == 201
    with appends_nothing(env):
        caller.problem(caller.post(caller.models(), "unit_user", json=body),
                       409, "already_exists")
        caller.problem(caller.post(caller.models(), "reviewer", json=body),
                       409, "already_exists")


def test_a_body_over_one_mebibyte_is_a_413_on_command_routes(caller: Caller) -> None:
    env = caller.env
    model = env.model_at(2)
    huge = "x" * (1024 * 1024 + 1)
    with appends_nothing(env):
        body = caller.problem(caller.post(caller.models(), "unit_user", json={
            "unit_id": env.unit_id(), "year": 2026, "name": "Quá lớn", **FORM, "problem": huge}),
            413, "payload_too_large")
        assert "1048576" in body["detail"]
        caller.problem(caller.act(model, "inspection", body={"findings": huge}),
                       413, "payload_too_large")


@pytest.mark.parametrize("role", ["province_admin", "tenant_admin"])
def test_target_puts_honour_if_match_too(caller: Caller, role: str) -> None:
    year = 2027 if role == "province_admin" else 2028
    targets = {"new_models": 12, "recognized_tenant_level": 3, "recognized_province_level": 1,
               "per_unit_minimum": 1}
    if role == "province_admin":
        path, body = f"{API}/provinces/15/targets/{year}", {"ward": targets}
    else:
        path, body = f"{API}/tenants/{caller.env.tenant_id(YEN_BAI)}/targets/{year}", targets
    headers = {**caller.env.world.as_(role), **caller.language}
    first = caller.env.client.put(path, headers=headers, json=body)
    if first.status_code == 200:  # the other language's run of this test created them
        version = first.json()["version"]
    else:
        assert first.status_code == 201, first.text
        version = 1
    changed = {**targets, "new_models": 12 + version}
    if role == "province_admin":
        changed_body: dict[str, Any] = {"ward": changed}
    else:
        changed_body = changed
    with appends_nothing(caller.env):
        stale = caller.env.client.put(path, json=changed_body,
                                      headers={**headers, "If-Match": f'"{version + 5}"'})
        caller.problem(stale, 412, "precondition_failed")
    fresh = caller.env.client.put(path, json=changed_body,
                                  headers={**headers, "If-Match": f'"{version}"'})
    assert fresh.status_code == 200 and fresh.json()["version"] == version + 1, fresh.text
