"""The request's body, read once: one JSON object whose members the read API can take.

    body = read_body(await request.body())    # a dict, or why it is refused (HTTP 400)
    problem = operation_problem(payload)      # a subscribe message's payload (ws.py)

What cannot be read is refused before anything else runs, with ``BAD_USER_INPUT`` naming
the member: a body that is not JSON in UTF-8, or nested deeper than ``MAX_NESTING`` (msgspec
recurses: a thousand brackets would exhaust the stack); not one object (no batches), variables
not an object, operationName not a string; and a text anywhere in it (a member's name or
value, the variables' included) with control characters or lone surrogates, or longer than
``domain.limits.MAX_TEXT`` (the query: ``MAX_QUERY_CHARS``). A NUL in a variable would
otherwise reach a SQL cast or ``jsonb``; the query's own literals are the resolvers' to check
(``inputs``). The walk is a loop, not a recursion. JSON carries a control character or a
surrogate only as a ``\\u`` escape (msgspec refuses them raw, and lone surrogates at all),
DEL aside: without either in the bytes, the texts' characters need no look (a regular
expression over an 800-character query costs some 20 µs here; the bytes' search, nothing).
"""

from __future__ import annotations

from typing import Any

import msgspec

from danvan.domain.limits import MAX_NAME, MAX_TEXT, text_problem
from danvan.graphql.limits import MAX_NESTING, MAX_QUERY_CHARS

_decode = msgspec.json.Decoder().decode


def read_body(raw: bytes) -> dict[str, Any] | str:
    """The request's members, or why they cannot be taken."""
    try:
        body = _decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return "the body is not JSON (UTF-8)"
    except RecursionError:
        return f"the body is nested more than {MAX_NESTING} levels deep"
    escaped = b"\\u" in raw or b"\x7f" in raw
    return operation_problem(body, escaped) or body


def operation_problem(body: Any, escaped: bool = True) -> str | None:
    """Why an operation's members (a POST body, a subscribe message's payload: ``ws.py``)
    cannot be taken; ``escaped``: whether its texts may hide a character that
    ``text_problem`` refuses (when the bytes are not at hand, they may)."""
    if not isinstance(body, dict):
        return "send one operation as a JSON object (batches are not accepted)"
    if not isinstance(body.get("variables", {}), dict | None):
        return "variables must be an object"
    if not isinstance(body.get("operationName", ""), str | None):
        return "operationName must be a string"
    return _problem(body, escaped)


NAMED_LEVELS = 4
"""How much of a member's path a refusal names (``variables.order.field``)."""


def _problem(body: dict[str, Any], escaped: bool) -> str | None:
    """Why ``body`` cannot be taken; ``escaped``: whether its texts may hide a character
    that ``text_problem`` refuses."""
    pending: list[tuple[Any, str, int]] = [(body, "", 1)]
    while pending:
        value, where, depth = pending.pop()
        if isinstance(value, str):
            limit = MAX_QUERY_CHARS if where == "query" else MAX_TEXT
            problem = text_problem(value, limit) if escaped or len(value) > limit else None
            if problem is not None:
                return f"{where} {problem}"
        elif isinstance(value, dict | list):
            if depth > MAX_NESTING:
                return f"{where} is nested more than {MAX_NESTING} levels deep"
            members = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in members:
                if isinstance(key, str) and (escaped or len(key) > MAX_NAME):
                    problem = text_problem(key, MAX_NAME)
                    if problem is not None:
                        return f"a member's name in {where or 'the body'} {problem}"
                named = where if depth > NAMED_LEVELS else f"{where}.{key}" if where else str(key)
                pending.append((item, named, depth + 1))
    return None


def deeper_than(value: Any, levels: int) -> bool:
    """Whether ``value`` nests objects or lists more than ``levels`` deep, itself the first
    (a loop, not a recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > levels:
                return True
            members = item.values() if isinstance(item, dict) else item
            pending.extend((member, depth + 1) for member in members)
    return False
