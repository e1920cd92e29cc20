"""Hostile input on every command route: a 4xx problem naming what is wrong, never a 5xx.

Every string member of every body refuses control characters and lengths past
``domain/limits.py``, every integer its bounds, every decimal its magnitude, places and form
(``1E-999999999``, ``0E-20000``, 17,000 digits, ``1e400``); a body that is not JSON (bytes
that are not UTF-8, nesting 1,000 deep, white space, a lone surrogate) is a 422
``malformed_body`` and one not sent as JSON a 415, without running the command; ids and years
in the path that name nothing are a 404 or a 422. Each refusal appends nothing, and none of
them logs an error. The calls are the role × route matrix's own rows, made by a role the
policy allows, so the refusal is the body's and nothing else's.
"""

from __future__ import annotations

import copy
import json
import logging
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from structlog.testing import CapturingLogger

from danvan.backend import errors as error_exit
from danvan.domain.limits import MAX_TEXT
from danvan.infra.database import ConnParams
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_role_route_matrix import (
    ALL_ROLES,
    ROWS,
    LiveEnv,
    Row,
    allowed,
    assert_problem,
    live_env,
)
from tests.e2e.world import API, YEN_BAI

BODY_ROWS = [row for row in ROWS if row.method != "GET" and not row.multipart]
"""Routes with a JSON body (an import's file: ``tests/e2e/test_imports_http.py``)."""


@pytest.fixture(scope="module")
def env(admin_params: ConnParams, template_database: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnv]:
    with live_env(admin_params, template_database, tmp_path_factory.mktemp("hostile")) as built:
        yield built


@pytest.fixture
def no_error_logged(monkeypatch: pytest.MonkeyPatch,
                    caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test if anything is logged at ERROR: by the API's error exit (a 5xx with its
    traceback) or through the standard library (the server's own "Exception in ASGI")."""
    captured = CapturingLogger()
    monkeypatch.setattr(error_exit, "log", captured)
    with caplog.at_level(logging.ERROR):
        yield
    assert [call for call in captured.calls if call.method_name in ("error", "exception",
                                                                    "critical")] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def acting_role(row: Row) -> str:
    return next(role for role in ALL_ROLES if allowed(role, row))


@contextmanager
def appends_nothing(env: LiveEnv) -> Iterator[None]:
    before = env.events()
    yield
    assert env.events() == before, "a refused command appended events"


def send(env: LiveEnv, row: Row, *, content: bytes, content_type: str | None = "application/json",
         body: dict[str, Any] | None = None) -> httpx.Response:
    """The row's call on the tenant's shared resources, by a role the policy allows, with
    ``content`` as its body."""
    role = acting_role(row)
    call = row.build(env, YEN_BAI, role, False)
    headers = dict(env.world.as_(role))
    if content_type is not None:
        headers["Content-Type"] = content_type
    with appends_nothing(env):
        return env.client.request(row.method, API + call.path, headers=headers, content=content)


def problem_fields(response: httpx.Response, status: int = 422,
                   code: str = "invalid_input") -> list[str]:
    body = assert_problem(response, status, code)
    return [error["field"] for error in body.get("errors", [])]


# --- every member of every body -----------------------------------------------------------

def members(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar member of a JSON value, by the dotted path a problem names it with."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from members(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from members(item, f"{path}[{index}]")
    else:
        yield path, value


def replaced(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    steps = path.replace("[", ".[").split(".")
    for step in steps[:-1]:
        target = target[int(step[1:-1])] if step.startswith("[") else target[step]
    last = steps[-1]
    if last.startswith("["):
        target[int(last[1:-1])] = value
    else:
        target[last] = value
    return changed


def sample_body(env: LiveEnv, row: Row) -> dict[str, Any]:
    call = row.build(env, YEN_BAI, acting_role(row), False)
    assert call.body is not None
    return call.body


STRING_POISONS = ("a\x00b", "a\x1b[31mb", "a\x7f", "a" * (MAX_TEXT + 1))
"""NUL (which ``jsonb`` refuses), an escape sequence, DEL, and a text longer than any bound."""
INTEGER_POISONS = (10**30, -1)


def poisons(value: Any) -> tuple[Any, ...]:
    if isinstance(value, bool):
        return ()
    if isinstance(value, str):
        return STRING_POISONS
    return INTEGER_POISONS if isinstance(value, int) else ()


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize("row", [pytest.param(row, id=row.label) for row in BODY_ROWS])
def test_every_member_out_of_its_bounds_is_a_422_naming_it(env: LiveEnv, row: Row) -> None:
    body = sample_body(env, row)
    unnamed = []
    for path, value in members(body):
        for poison in poisons(value):
            response = send(env, row, content=json.dumps(replaced(body, path, poison)).encode())
            if response.status_code != 422 or path not in problem_fields(response):
                unnamed.append((path, repr(poison)[:20], response.status_code, response.text))
    assert unnamed == []


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize(("path", "role", "body", "field"), [
    ("units", "tenant_admin", {"name": "Tổ 7", "kind": "other",
                               "reports_to_vertical_line": "true"}, "reports_to_vertical_line"),
    ("plan-tasks", "tenant_admin", {"year": "2026", "title": "Sơ kết",
                                    "due_date": "2026-07-15"}, "year"),
    ("plan-tasks", "tenant_admin", {"year": 2026.0, "title": "Sơ kết",
                                    "due_date": "2026-07-15"}, "year"),
    ("targets/2031", "tenant_admin", {"new_models": "12", "recognized_tenant_level": 3,
                                      "recognized_province_level": 1, "per_unit_minimum": 1},
     "new_models"),
], ids=["a boolean as a string", "an integer as a string", "an integer as 2026.0",
        "a count as a string"])
def test_a_value_of_another_json_type_is_a_422_even_where_it_would_convert(
        env: LiveEnv, path: str, role: str, body: dict[str, Any], field: str) -> None:
    method = "PUT" if path.startswith("targets") else "POST"
    with appends_nothing(env):
        response = env.client.request(method, f"{API}/tenants/{env.tenant_id()}/{path}",
                                      headers=env.world.as_(role), json=body)
    assert problem_fields(response) == [field], response.text


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize("poison", ["a\x00b", "a\x1bb", "a" * 1025])
@pytest.mark.parametrize("member", ["username", "password"])
def test_login_credentials_are_bounded_too(env: LiveEnv, member: str, poison: str) -> None:
    credentials = {"username": "admin.laocai", "password": PASSWORD, member: poison}
    response = env.client.post(f"{API}/auth/token", json=credentials)
    assert problem_fields(response) == [member]


def test_a_note_with_nul_names_note_in_both_languages_and_texts_are_stored_nfc(
        env: LiveEnv) -> None:
    progress = f"/tenants/{env.tenant_id()}/models/{env.shared[YEN_BAI].model}/progress"
    body = {"period": "2026-Q2", "participants": 3, "workdays": 5, "note": "a\u0000b"}
    headers = env.world.as_("unit_user")
    with appends_nothing(env):
        vi = env.client.post(API + progress, headers=headers, json=body)
        en = env.client.post(API + progress, headers={**headers, "Accept-Language": "en"},
                             json=body)
    assert assert_problem(vi, 422, "invalid_input")["errors"] == [
        {"field": "note",
         "message": "không được chứa ký tự điều khiển hoặc ký tự Unicode không hợp lệ"}]
    assert assert_problem(en, 422, "invalid_input")["errors"] == [
        {"field": "note", "message": "must not contain control characters or lone surrogates"}]
    # a text written decomposed (as some keyboards send Vietnamese) is stored composed
    decomposed = unicodedata.normalize("NFD", env.unique("Tổ dân phố số "))
    unit = env.client.post(f"{API}/tenants/{env.tenant_id()}/units",
                           headers=env.world.as_("tenant_admin"),
                           json={"name": decomposed, "kind": "other"})
    assert unit.status_code == 201, unit.text
    assert unit.json()["name"] == unicodedata.normalize("NFC", decomposed) != decomposed


# --- decimals ------------------------------------------------------------------------------

SEVENTEEN_THOUSAND_DIGITS = "0." + "1" * 17_000
DECIMALS = {
    "1E-999999999": '"1E-999999999"',
    "0E-20000": '"0E-20000"',
    "17,000 digits": SEVENTEEN_THOUSAND_DIGITS,
    "17,000 digits as a string": f'"{SEVENTEEN_THOUSAND_DIGITS}"',
    "1e400": "1e400",
    "-1e400": "-1e400",
    "NaN": '"NaN"',
    "Infinity": '"Infinity"',
    "three places": "1.005",
    "over the maximum": "1000000000000000.01",
    "negative": '"-1"',
    "true": "true",
    "an object": '{"value": 1}',
}


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize("member", ["money_vnd", "land_m2"])
@pytest.mark.parametrize("written", DECIMALS.values(), ids=DECIMALS.keys())
def test_a_decimal_out_of_bounds_in_any_form_is_a_422_naming_it(env: LiveEnv, member: str,
                                                                written: str) -> None:
    progress = f"/tenants/{env.tenant_id()}/models/{env.shared[YEN_BAI].model}/progress"
    text = f'{{"period": "2026-Q2", "participants": 3, "workdays": 5, "{member}": {written}}}'
    with appends_nothing(env):
        response = env.client.post(API + progress, content=text.encode(), headers={
            **env.world.as_("unit_user"), "Content-Type": "application/json"})
    assert problem_fields(response) == [member], response.text


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize("written", ["100.001", "1e400", '"1E+2"', "-0.01"])
def test_a_score_out_of_bounds_is_a_422_naming_it(env: LiveEnv, written: str) -> None:
    scores = ", ".join(f'"{name}": {written if name == "creativity" else 80}' for name in (
        "effectiveness", "creativity", "participation", "replicability", "political_tie",
        "planning"))
    path = f"/tenants/{env.tenant_id()}/models/{env.shared[YEN_BAI].model}/evaluation"
    with appends_nothing(env):
        response = env.client.post(API + path, content=f'{{"scores": {{{scores}}}}}'.encode(),
                                   headers={**env.world.as_("reviewer"),
                                            "Content-Type": "application/json"})
    assert problem_fields(response) == ["scores.creativity"], response.text


def test_decimals_within_bounds_are_recorded_exactly(env: LiveEnv) -> None:
    model = env.model_at(2)
    progress = f"/tenants/{env.tenant_id()}/models/{model}/progress"
    raw = (b'{"period": "2026-Q2", "participants": 3, "workdays": 5,'
           b' "money_vnd": 999999999999999.99, "land_m2": "1250.50"}')
    response = env.client.post(API + progress, content=raw, headers={
        **env.world.as_("unit_user"), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    recorded = env.model_events(model)[-1]
    assert (recorded.money_vnd, recorded.land_m2) == ("999999999999999.99", "1250.50")


# --- bodies that are not JSON, or not sent as JSON ------------------------------------------

NOT_JSON = {
    "invalid UTF-8": b'{"reason": "\xff\xfe"}',
    "nested 1,000 deep": b"[" * 1000 + b"]" * 1000,
    "nested 1,000 deep in a member": b'{"reason": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "white space only": b" \n\t ",
    "a lone surrogate": b'{"reason": "\\ud800"}',
    "truncated": b'{"reason": "Kh',
    "two values": b"{} {}",
}


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize("content", NOT_JSON.values(), ids=NOT_JSON.keys())
@pytest.mark.parametrize("row", [pytest.param(row, id=row.label) for row in BODY_ROWS])
def test_a_body_that_is_not_json_is_a_422_malformed_body(env: LiveEnv, row: Row,
                                                         content: bytes) -> None:
    assert_problem(send(env, row, content=content), 422, "malformed_body")


NOT_SENT_AS_JSON = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                    None, "application/json; charset=latin-1", "application/xml"]


@pytest.mark.usefixtures("no_error_logged")
@pytest.mark.parametrize("content_type", NOT_SENT_AS_JSON)
@pytest.mark.parametrize("row", [pytest.param(row, id=row.label) for row in BODY_ROWS])
def test_a_body_not_sent_as_json_is_a_415_and_is_not_run(env: LiveEnv, row: Row,
                                                        content_type: str | None) -> None:
    content = json.dumps(sample_body(env, row)).encode()
    if content_type == "multipart/form-data" and row.route.endswith("/imports"):
        # the route also takes a file: JSON bytes sent as multipart are a malformed body
        assert_problem(send(env, row, content=content, content_type=content_type),
                       422, "malformed_body")
        return
    assert_problem(send(env, row, content=content, content_type=content_type),
                   415, "unsupported_media_type")


def test_json_with_its_charset_or_a_json_suffix_is_run(env: LiveEnv) -> None:
    model = env.model_at(2)
    path = f"{API}/tenants/{env.tenant_id()}/models/{model}/inspection"
    for content_type in ("application/json; charset=UTF-8", "application/problem+json"):
        response = env.client.post(path, content=b'{"findings": "\\u0110\xc3\xbang"}',
                                   headers={**env.world.as_("reviewer"),
                                            "Content-Type": content_type})
        assert response.status_code == 200, response.text


# --- the path ------------------------------------------------------------------------------

@pytest.mark.usefixtures("no_error_logged")
def test_ids_and_years_in_the_path_that_name_nothing_are_a_404_or_a_422(env: LiveEnv) -> None:
    tenant = env.tenant_id()
    model = env.shared[YEN_BAI].model
    targets = {"new_models": 1, "recognized_tenant_level": 1, "recognized_province_level": 1,
               "per_unit_minimum": 1}
    period = {"recognized_tenant_level": 1, "recognized_province_level": 1,
              "maintained_models": 1}
    cases: list[tuple[str, str, str, dict[str, Any], int, str | None]] = []
    for junk in ("x", "%00", "a%00b", "%ff%fe", "x" * 2000, str(uuid.uuid4()).upper() + "0"):
        cases += [
            ("POST", f"/tenants/{tenant}/models/{junk}/accept", "reviewer", {}, 404, None),
            ("POST", f"/tenants/{tenant}/units/{junk}/closure", "tenant_admin",
             {"reason": "Sáp nhập"}, 404, None),
            ("PUT", f"/tenants/{tenant}/users/{junk}/roles", "tenant_admin",
             {"roles": ["approver"]}, 404, None),
            ("POST", f"/tenants/{tenant}/plan-tasks/{junk}/completion", "tenant_admin", {},
             404, None),
            ("POST", f"/tenants/{junk}/models/{model}/recognition", "province_admin",
             {"level": "province", "decision_number": "1", "decision_date": "2026-09-02"},
             404, None),
        ]
    for year in ("99999999999", "-5", "0", "1" + "0" * 30):
        cases += [
            ("PUT", f"/tenants/{tenant}/targets/{year}", "tenant_admin", targets, 422, "year"),
            ("PUT", f"/provinces/15/targets/{year}", "province_admin", {"ward": targets}, 422,
             "year"),
            ("POST", f"/tenants/{tenant}/lists/{year}/approval", "approver",
             {"decision_number": "05-QĐ/ĐU"}, 422, "year"),
            ("PUT", f"/tenants/{tenant}/period-targets/2030/{year}", "tenant_admin", period,
             422, "end_year"),
            ("PUT", f"/tenants/{tenant}/period-targets/{year}/2030", "tenant_admin", period,
             422, "start_year"),
        ]
    for year in ("x", "2026.5", "1e3", "%00"):
        cases.append(("PUT", f"/tenants/{tenant}/targets/{year}", "tenant_admin", targets,
                      404, None))
    with appends_nothing(env):
        for method, path, role, body, status, field in cases:
            response = env.client.request(method, API + path, headers=env.world.as_(role),
                                          json=body)
            problem = assert_problem(response, status)
            if field is not None:
                assert field in [e["field"] for e in problem["errors"]], (path, problem)
