"""The pure parts of the HTTP frame: languages, problems, tokens, preconditions, limits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import psycopg
import pytest
from argon2 import PasswordHasher
from eventsourcing.persistence import IntegrityError

from danvan.backend.auth import passwords
from danvan.backend.auth.ratelimit import Limit, MemoryLimiter
from danvan.backend.auth.tokens import Principal, TokenError, TokenReader, issue_token, read_token
from danvan.backend.errors import Problem, ProblemDetails, decode_body, problem_body, to_problem
from danvan.backend.http.idempotency import request_hash
from danvan.backend.http.preconditions import parse_if_match
from danvan.backend.i18n import field_message, negotiate
from danvan.backend.services.errors import StaleVersion
from danvan.backend.services.repository import check_version
from danvan.domain.base import IllegalTransition, InvalidInput, NotPermitted
from danvan.domain.policies import RoleGrant

SECRET = "unit-test-secret-unit-test-secret-0123"


@pytest.mark.parametrize(("header", "lang"), [
    (None, "vi"), ("", "vi"), ("en", "en"), ("en-US,en;q=0.9", "en"),
    ("vi,en;q=0.8", "vi"), ("fr, de", "vi"), ("en;q=0", "vi"), ("fr,en;q=0.5", "en"),
])
def test_vietnamese_unless_english_is_preferred(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


@pytest.mark.parametrize(("message", "vi", "en"), [
    ("required", "bắt buộc phải có", "required"),
    ("must be at most 64 characters", "tối đa 64 ký tự", "must be at most 64 characters"),
    ("Object contains unknown field `x`", "trường không được chấp nhận", "unknown field"),
    ("Expected `int`, got `str`", "sai kiểu dữ liệu: cần int, nhận được str",
     "expected int, got str"),
    ("something new", "giá trị không hợp lệ (something new)", "something new"),
])
def test_field_messages_are_translated(message: str, vi: str, en: str) -> None:
    assert field_message(message, "vi") == vi
    assert field_message(message, "en") == en


class Person(msgspec.Struct, forbid_unknown_fields=True):
    phone: str


class Form(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    people: list[Person] = []


@pytest.mark.parametrize(("body", "field"), [
    (b'{"name": "a", "extra": 1}', "extra"),
    (b'{}', "name"),
    (b'{"name": 1}', "name"),
    (b'{"name": "a", "people": [{"phone": "1", "age": 3}]}', "people[0].age"),
    (b'{"name": "a", "people": [{"phone": 2}]}', "people[0].phone"),
])
def test_decoding_errors_name_the_member(body: bytes, field: str) -> None:
    with pytest.raises(Problem) as caught:
        decode_body(body, Form)
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == [field]


def test_a_body_that_is_not_json_is_malformed() -> None:
    with pytest.raises(Problem) as caught:
        decode_body(b"{", Form)
    assert caught.value.code == "malformed_body"


@pytest.mark.parametrize(("exc", "status", "code"), [
    (InvalidInput({"name": "required"}), 422, "invalid_input"),
    (NotPermitted("no", code="inspector_needs_province_admin"), 403,
     "inspector_needs_province_admin"),
    (IllegalTransition("not now", code="unit_closed"), 409, "unit_closed"),
    (IntegrityError("duplicate key"), 409, "version_conflict"),
    (psycopg.OperationalError("down"), 503, "store_unavailable"),
    (RuntimeError("bug"), 500, "internal_error"),
])
def test_exceptions_map_to_problems(exc: Exception, status: int, code: str) -> None:
    problem = to_problem(exc)
    assert (problem.status, problem.code) == (status, code)


def test_a_problem_body_has_the_contract_members() -> None:
    body = problem_body("en", to_problem(InvalidInput({"name": "required"})), "req-1")
    assert body == {"type": "urn:danvan:problem:invalid_input", "title": "Invalid input",
                    "status": 422,
                    "detail": "The request is invalid; see the errors for each field.",
                    "code": "invalid_input",
                    "errors": [{"field": "name", "message": "required"}],
                    "request_id": "req-1"}


@pytest.mark.parametrize("problem", [
    to_problem(InvalidInput({"name": "required", "person.phone": "must be a phone number"})),
    Problem(415, "unsupported_media_type"), Problem(404, "not_found"),
    to_problem(IllegalTransition("no", member="state", code="illegal_transition")),
], ids=["invalid_input", "unsupported_media_type", "not_found", "illegal_transition"])
def test_a_problem_body_is_what_the_openapi_document_says_it_is(problem: Problem) -> None:
    for lang in ("vi", "en"):
        body = problem_body(lang, problem, "req-1")
        assert msgspec.to_builtins(msgspec.convert(body, ProblemDetails, strict=True)) == body


@pytest.mark.parametrize(("header", "version"), [
    (None, None), ("*", None), ("3", 3), ('"3"', 3), ('W/"12"', 12)])
def test_if_match_gives_the_expected_version(header: str | None, version: int | None) -> None:
    assert parse_if_match(header) == version


def test_a_stale_version_is_a_412_and_garbage_a_400() -> None:
    check_version(None, 5)
    check_version(5, 5)
    with pytest.raises(StaleVersion) as stale:
        check_version(4, 5)
    assert to_problem(stale.value).status == 412
    with pytest.raises(Problem) as garbage:
        parse_if_match("abc")
    assert garbage.value.status == 400


def grants() -> list[RoleGrant]:
    return [RoleGrant("province_admin", "15"),
            RoleGrant("reviewer", "15", tenant_id="t-1"),
            RoleGrant("unit_user", "15", tenant_id="t-2", unit_id="u-1")]


def test_tokens_round_trip_and_expire() -> None:
    token = issue_token(user_id="u", username="name", grants=grants(), secret=SECRET,
                        lifetime_seconds=60)
    principal = read_token(token, secret=SECRET)
    assert principal.user_id == "u"
    assert principal.grants == tuple(grants())
    old = issue_token(user_id="u", username="name", grants=[], secret=SECRET,
                      lifetime_seconds=60, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(TokenError) as expired:
        read_token(old, secret=SECRET)
    assert expired.value.expired
    with pytest.raises(TokenError):
        read_token(token, secret="another-secret-another-secret-0123")
    with pytest.raises(TokenError):
        read_token(token[:-2] + "xx", secret=SECRET)


def test_the_token_cache_still_checks_expiry() -> None:
    reader = TokenReader(SECRET)
    token = issue_token(user_id="u", username="name", grants=[], secret=SECRET,
                        lifetime_seconds=60)
    assert reader.read(token) is reader.read(token)
    principal, _ = reader._verified[token]
    reader._verified[token] = (principal, 0)
    with pytest.raises(TokenError):
        reader.read(token)


def test_grants_apply_in_their_scope() -> None:
    principal = Principal("u", "name", tuple(grants()))
    assert [g.role for g in principal.grants_for("tenant.read", tenant_id="t-1")] == ["reviewer"]
    assert [g.role for g in principal.grants_for("tenant.onboard", province_code="15")] == [
        "province_admin"]
    assert principal.grants_for("tenant.onboard", province_code="20") == []
    assert principal.grants_for("model.progress", tenant_id="t-1") == []
    assert [g.role for g in principal.grants_for("model.progress", tenant_id="t-2")] == [
        "unit_user"]


def test_the_memory_limiter_counts_a_fixed_window() -> None:
    limiter = MemoryLimiter()
    limit = Limit(attempts=2, window_seconds=60)
    decisions = [asyncio.run(limiter.hit("k", limit)) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert 0 < decisions[-1].retry_after <= 60
    assert asyncio.run(limiter.hit("other", limit)).allowed


def test_passwords_are_argon2id_at_owasps_parameters_in_production() -> None:
    """Tests configure a cheaper hasher (tests/conftest.py); the app's own is OWASP's."""
    hashed = passwords.OWASP.hash("mật khẩu")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.OWASP.verify(hashed, "mật khẩu")


def test_passwords_verify_and_rehash_old_parameters() -> None:
    hashed = passwords.hash_password("mật khẩu")
    assert passwords.verify_password(hashed, "mật khẩu")
    assert not passwords.verify_password(hashed, "mat khau")
    assert not passwords.verify_password("not-a-hash", "x")
    assert not passwords.needs_rehash(hashed)
    assert passwords.needs_rehash(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
                                  .hash("x"))
    assert passwords.dummy_verify("anything") is False


def test_the_request_hash_separates_its_parts() -> None:
    assert request_hash("POST", "/a", b"", b"bc") != request_hash("POST", "/ab", b"", b"c")
    assert request_hash("POST", "/a", b"", b"{}") == request_hash("POST", "/a", b"", b"{}")
