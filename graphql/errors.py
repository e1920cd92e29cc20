"""The errors resolvers raise: each a GraphQL error with a stable ``extensions.code``.

A field the caller may not read answers ``null`` with a ``FORBIDDEN`` error; an unknown id in
a scope the caller may read is ``NOT_FOUND``; bad arguments (a page over 100, a malformed
cursor, an unknown order) are ``BAD_USER_INPUT``. Anything else is masked as ``INTERNAL``.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL"
UNAVAILABLE = "UNAVAILABLE"
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"

EXPECTED_CODES = frozenset({FORBIDDEN, NOT_FOUND, BAD_USER_INPUT, UNAVAILABLE, LIMIT_EXCEEDED})


class ReadError(GraphQLError):
    code = INTERNAL

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class Forbidden(ReadError):
    code = FORBIDDEN

    def __init__(self, message: str = "not allowed to read this", **extensions: Any) -> None:
        super().__init__(message, **extensions)


class NotFound(ReadError):
    code = NOT_FOUND

    def __init__(self, message: str = "no such object", **extensions: Any) -> None:
        super().__init__(message, **extensions)


class BadInput(ReadError):
    code = BAD_USER_INPUT


class Unavailable(ReadError):
    code = UNAVAILABLE


def limit_exceeded(message: str, **extensions: Any) -> GraphQLError:
    """A query refused before it runs (depth, aliases, cost, page size)."""
    return GraphQLError(message, extensions={"code": LIMIT_EXCEEDED, **extensions})
