"""The socket's messages (``graphql/ws.py``): every message the server means to send is
sent, whatever text it repeats."""

from __future__ import annotations

import json

import msgspec

from danvan.graphql.ws import encode_message


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
