"""The socket's messages (``graphql/ws.py``): every message the server means to send is
sent, whatever text it repeats; a message is read as POST /graphql reads its body."""

from __future__ import annotations

import json

import msgspec
import pytest

from danvan.graphql.body import operation_problem
from danvan.graphql.limits import MAX_NESTING
from danvan.graphql.ws import TOO_DEEP, decode_message, encode_message


def test_a_message_is_encoded_with_the_database_s_nodes_unparsed() -> None:
    message = {"id": "1", "type": "next",
               "payload": {"data": {"auditTrail": msgspec.Raw(b'{"totalCount":2}')}}}
    assert json.loads(encode_message(message)) == {
        "id": "1", "type": "next", "payload": {"data": {"auditTrail": {"totalCount": 2}}}}


def test_a_lone_surrogate_msgspec_cannot_encode_is_sent_escaped() -> None:
    # graphql-core's message repeats the value it refused
    message = {"id": "1", "type": "error", "payload": [
        {"message": "Variable '$from' got invalid value '\ud800'"}],
        "raw": msgspec.Raw(b"[1]")}
    text = encode_message(message)
    assert "\\ud800" in text
    assert json.loads(text) == {**message, "raw": [1]}


def nested(depth: int) -> str:
    """A subscribe message whose variable nests ``depth`` lists, the payload at level 2."""
    return ('{"id":"1","type":"subscribe","payload":{"query":"q","variables":{"v":'
            + "[" * depth + "]" * depth + "}}}")


def test_a_message_is_read_with_its_payload_as_deep_as_a_post_body() -> None:
    # a POST body holds MAX_NESTING levels, itself the first: its variables' value, two less
    message = decode_message(nested(MAX_NESTING - 2))
    assert isinstance(message, dict) and message["payload"]["query"] == "q"
    assert decode_message(nested(MAX_NESTING - 1)) is TOO_DEEP
    assert decode_message(nested(100_000)) is TOO_DEEP  # json.loads: RecursionError


def test_a_lone_surrogate_is_read_for_the_payload_check_to_refuse_by_name() -> None:
    # msgspec refuses the escape; json takes it, and the subscribe payload's check names it
    message = decode_message('{"type":"subscribe","payload":{"variables":{"from":"\\ud800"}}}')
    assert isinstance(message, dict)
    assert operation_problem(message["payload"]) == (
        "variables.from must not contain control characters or lone surrogates")
    assert decode_message('{"id": "1", "payload": ' + "[" * 100_000 + "}") is TOO_DEEP


def test_what_is_not_json_is_refused_as_strawberry_expects() -> None:
    with pytest.raises(json.JSONDecodeError):
        decode_message("{not json")
