"""The Strawberry schema of the read API, and its SDL (committed as ``schema.graphql``).

    schema = build_schema(production=settings.is_production)
    sdl = schema_sdl()             # what ``danvan graphql export-schema`` writes

Production refuses introspection (GraphiQL is not served there either: ``http.py``).
Expected errors (refusals, bad input, limits) are not logged as failures.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache
from strawberry.types import ExecutionContext

from danvan.graphql.errors import EXPECTED_CODES
from danvan.graphql.execution import ListExecutionContext, mark_fast_leaves
from danvan.graphql.limits import limits_extension
from danvan.graphql.query import Query
from danvan.graphql.subscription import Subscription

log = logging.getLogger("danvan.graphql")

SDL_PATH = Path(__file__).with_name("schema.graphql")


def unexpected(error: GraphQLError) -> bool:
    """An error from a failure (not a refusal, bad input or a query error). A variable the
    schema cannot take (``"abc"`` for an Int, ``"2026-06-30T12:00:00+07:00:30"`` for a
    DateTime) is the request's own error, found before anything ran: no path, and
    graphql-core's own error as the original one. An exception outside the resolvers (that
    Strawberry wraps, without a path either) is still a failure."""
    original = error.original_error
    if original is None:
        return False
    if error.path is None and isinstance(original, GraphQLError):
        return False
    code = (error.extensions or {}).get("code")
    return not isinstance(original, GraphQLError) or code not in EXPECTED_CODES


class ReadSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            if unexpected(error):
                log.error("graphql resolver failed at %s: %s", error.path, error.message,
                          exc_info=error.original_error)


def build_schema(*, production: bool, fast_leaves: bool = True) -> strawberry.Schema:
    extensions: list[Any] = [limits_extension(production), lambda: ParserCache(maxsize=256)]
    schema = ReadSchema(query=Query, subscription=Subscription, extensions=extensions,
                        execution_context_class=ListExecutionContext if fast_leaves
                        else None)
    if fast_leaves:
        mark_fast_leaves(schema._schema)
    return schema


def schema_sdl() -> str:
    return build_schema(production=False).as_str() + "\n"
