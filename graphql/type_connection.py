"""Relay-style connections: ``edges { node cursor }``, ``pageInfo``, ``totalCount``.

``connection(page)`` turns a read-model ``Page`` into one; nodes are the read models' rows
themselves (a GraphQL type reads its fields from the row's attributes by name).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import strawberry
from msgspec import Raw

from danvan.graphql.execution import row_resolver
from danvan.graphql.selection import selects_any
from danvan.projections.paging import Page

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursors: strawberry.Private[Sequence[str]]
    index: strawberry.Private[int]

    @strawberry.field
    @row_resolver
    def cursor(self) -> str:
        """Encoded only if asked for (``paging.Cursors``)."""
        return self.cursors[self.index]


@strawberry.type
class Connection(Generic[T]):
    total_count: int
    page_info: PageInfo
    edges: list[Edge[T]]


def asks_total_count(info: Any) -> bool:
    """Whether the query selects the connection's ``totalCount``, so a resolver may skip
    counting what nobody reads."""
    return selects_any(info, ("totalCount",))


def connection(page: Page[Any]) -> Connection[Any]:
    return Connection(
        total_count=page.total_count,
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        edges=[Edge(node=item, cursors=page.cursors, index=index)
               for index, item in enumerate(page.items)])


def encoded_connection(page: Page[Any]) -> Connection[Any]:
    """A page of rows whose ``json`` is the node as the database encoded it for the query's
    selection (``encoded.py``): the nodes are that text, unparsed."""
    return Connection(
        total_count=page.total_count,
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        edges=[Edge(node=Raw(item.json), cursors=page.cursors, index=index)
               for index, item in enumerate(page.items)])
