"""The request body is taken or refused before anything runs: JSON in UTF-8, one object,
nested at most ``MAX_NESTING`` deep, every text in it without control characters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from danvan.domain.limits import MAX_TEXT
from danvan.graphql.body import read_body
from danvan.graphql.limits import MAX_NESTING, MAX_QUERY_CHARS

QUERY = "query($v: ID) {\n\tprovinces { code }\r\n}"


def nested(depth: int) -> Any:
    """A value of ``depth`` lists around a string."""
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_a_real_body_is_taken_as_it_is() -> None:
    body = {"query": QUERY, "operationName": None, "variables": {
        "v": "Đường bê tông thôn Đồng Tâm", "order": {"field": "NAME", "direction": "DESC"},
        "deep": nested(MAX_NESTING - 2)},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}}
    assert read_body(json.dumps(body).encode()) == body  # non-ASCII as \\u escapes
    assert read_body(json.dumps(body, ensure_ascii=False).encode()) == body  # as UTF-8


@pytest.mark.parametrize(("raw", "why"), [
    (b'{"query": "\xff"}', "not JSON"),
    (b"{not json", "not JSON"),
    (b'{"query": "\\ud800"}', "not JSON"),
    (b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested more than"),
    (b"[]", "batches are not accepted"),
    (b'{"variables": []}', "variables must be an object"),
    (b'{"variables": ""}', "variables must be an object"),
    (b'{"query": "{ a }", "variables": {"v": "DEL\x7f"}}', "variables.v must not contain control"),
    (b'{"operationName": 1}', "operationName must be a string"),
])
def test_what_cannot_be_read_says_why(raw: bytes, why: str) -> None:
    problem = read_body(raw)
    assert isinstance(problem, str) and why in problem


@pytest.mark.parametrize(("body", "why"), [
    ({"query": QUERY, "variables": {"v": nested(MAX_NESTING - 1)}},
     f"variables.v.0.0 is nested more than {MAX_NESTING} levels deep"),
    ({"query": QUERY + "\x00"}, "query must not contain control characters"),
    ({"query": "#" * (MAX_QUERY_CHARS + 1)}, f"query must be at most {MAX_QUERY_CHARS}"),
    ({"query": QUERY, "variables": {"v": "a\x00"}}, "variables.v must not contain control"),
    ({"query": QUERY, "variables": {"v": "a" * (MAX_TEXT + 1)}},
     f"variables.v must be at most {MAX_TEXT}"),
    ({"query": QUERY, "variables": {"v": [{"w": "\x1b"}]}},
     "variables.v.0.w must not contain control"),
    ({"query": QUERY, "variables": {"v": [{"w": [["ok", "\x1b"]]}]}},
     "variables.v.0.w must not contain control"),
    ({"query": QUERY, "variables": {"v\x00": 1}}, "a member's name in variables must not"),
    ({"id": "ProvinceConsolidation\x00"}, "id must not contain control"),
    ({"query": QUERY, "extensions": {"persistedQuery": {"sha256Hash": "\x7f"}}},
     "extensions.persistedQuery.sha256Hash must not"),
])
def test_a_text_or_a_nesting_it_cannot_take_is_named(body: dict[str, Any], why: str) -> None:
    problem = read_body(json.dumps(body).encode())
    assert isinstance(problem, str) and problem.startswith(why), problem
