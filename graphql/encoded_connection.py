"""A whole connection answered as one JSON text: PostgreSQL encodes each node for the query's
selection (``encoded.py``), and the connection around them (``totalCount``, ``pageInfo``,
``edges`` with their ``cursor``, ``__typename`` anywhere, aliases, fragments, ``@skip`` and
``@include``) is a template made once per query document, filled in per page. graphql-core then
completes one field, not a hundred edges (about a third of a trail page's time in the
server).

    text = connection_json(info, ENCODING)      # None: not encoded, read plain rows
    page = audit_trail(conn, ..., node_json=text.node_sql)
    answer = text.render(page)                  # None: answer with Raw nodes after all

Only ``POST /graphql`` and the websocket's subscriptions ask for it (``ReadContext.raw_json``,
``resolve_audit.answered``); the answer is a ``msgspec.Raw``, which
``execution.ListExecutionContext`` passes through as the completed field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from graphql import GraphQLObjectType, get_named_type
from graphql.execution.collect_fields import FieldDetails, FieldDetailsList
from msgspec import Raw

from danvan.graphql.encoded import (
    NAME,
    Collect,
    Encoding,
    collector,
    for_selection,
    node_json,
)
from danvan.graphql.execution import plain_directives
from danvan.projections.paging import Page

INT32 = range(-2_147_483_648, 2_147_483_648)
CONNECTION_FIELDS = frozenset({"totalCount", "pageInfo", "edges"})

Slot = Callable[[Page[Any]], str | None]
"""A value of the page as JSON text, None where graphql-core must answer."""
NODE, CURSOR = "node", "cursor"
EdgePart = tuple[bool, str]
"""Of an edge's text: ``(True, text)`` literal, ``(False, NODE | CURSOR)`` the item's own."""


@dataclass(frozen=True)
class ConnectionJson:
    node_sql: str
    """SQL over the page's rows: each node's JSON text (``encoded.node_json``)."""
    parts: tuple[str | Slot, ...]
    counts: bool
    """Whether ``totalCount`` is asked for."""
    edges: tuple[tuple[EdgePart, ...], ...] = ()
    """The text of an edge, once for each time ``edges`` is asked."""

    def item_bytes(self, cursor: str) -> tuple[int, int]:
        """What one item adds to the connection's text, in UTF-8 bytes, besides its node's:
        its edge as the query selects it (``__typename``, aliases, its cursor once or more),
        each followed by a comma, with a cursor as long as ``cursor``; and how many times its
        node stands in it (once an edge)."""
        cursor_bytes = len(_string(cursor))
        around = sum(1 + sum(len(text.encode()) if is_literal else
                             0 if text == NODE else cursor_bytes
                             for is_literal, text in edge)
                     for edge in self.edges)
        return around, len(self.edges)

    def render(self, page: Page[Any]) -> Raw | None:
        """The connection's JSON text for ``page`` (items with the node's text as ``json``),
        or None where a value is not graphql-core's answer (a count past 32 bits)."""
        texts: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                texts.append(part)
                continue
            value = part(page)
            if value is None:
                return None
            texts.append(value)
        return Raw("".join(texts))


def connection_json(info: Any, encoding: Encoding) -> ConnectionJson | None:
    """The connection ``info``'s field answers, with nodes of ``encoding``; None when its
    selection is not encoded."""
    return for_selection(info, ("connection", id(encoding)),
                         lambda raw: _connection(raw, encoding))


def _connection(raw: Any, encoding: Encoding) -> ConnectionJson | None:
    node_sql = node_json(raw, encoding, ("edges", "node"))
    collect = collector(raw)
    type_ = get_named_type(raw.return_type)
    if node_sql is None or collect is None or not isinstance(type_, GraphQLObjectType) \
            or set(type_.fields) != CONNECTION_FIELDS:
        return None
    details: FieldDetailsList = [FieldDetails(node, None) for node in raw.field_nodes]
    parts: list[str | Slot] = []
    counts = False
    edges: list[tuple[EdgePart, ...]] = []

    def value(name: str, field_type: Any, details: FieldDetailsList) -> bool:
        nonlocal counts
        if name == "totalCount":
            counts = True
            parts.append(_total_count)
            return True
        if name == "pageInfo":
            return _object(parts, get_named_type(field_type), details, collect,
                           _page_info_value(parts))
        if name == "edges":
            edge = _edge(get_named_type(field_type), details, collect)
            if edge is not None:
                parts.append(_edges(edge))
                edges.append(tuple(edge))
            return edge is not None
        return False

    if not _object(parts, type_, details, collect, value):
        return None
    return ConnectionJson(node_sql, tuple(_merged(parts)), counts, tuple(edges))


Value = Callable[[str, Any, FieldDetailsList], bool]
"""Appends a field's value (by its GraphQL name, type and details); False where it cannot."""


def _object(parts: list[Any], type_: Any, details: FieldDetailsList, collect: Collect,
            value: Value) -> bool:
    """Appends ``{"name":value,...}`` of the fields ``details`` select on ``type_``."""
    if not isinstance(type_, GraphQLObjectType) or type_.is_type_of is not None:
        return False
    grouped = collect(type_, details)
    if grouped is None:
        return False
    for number, (response_name, field_details) in enumerate(grouped.items()):
        node = field_details[0].node
        if node.arguments or not plain_directives(field_details) \
                or not NAME.fullmatch(response_name):
            return False
        parts.append(("{" if number == 0 else ",") + f'"{response_name}":')
        name = node.name.value
        if name == "__typename":
            parts.append(f'"{type_.name}"')
        elif name not in type_.fields or not value(name, type_.fields[name].type,
                                                   field_details):
            return False
    parts.append("}" if grouped else "{}")
    return True


def _page_info_value(parts: list[Any]) -> Value:
    def value(name: str, field_type: Any, details: FieldDetailsList) -> bool:
        if name == "hasNextPage":
            parts.append(_has_next_page)
        elif name == "endCursor":
            parts.append(_end_cursor)
        else:
            return False
        return True
    return value


def _edge(type_: Any, details: FieldDetailsList, collect: Collect) -> list[EdgePart] | None:
    """An edge's text as parts; None unless it selects only ``node`` (once), ``cursor`` and
    ``__typename``."""
    parts: list[Any] = []
    nodes = 0

    def value(name: str, field_type: Any, field_details: FieldDetailsList) -> bool:
        nonlocal nodes
        if name == NODE:
            nodes += 1
        elif name != CURSOR:
            return False
        parts.append((False, name))
        return True

    if not _object(parts, type_, details, collect, value) or nodes != 1:
        return None
    return [(True, p) if isinstance(p, str) else p for p in _merged(parts)]


def _edges(edge: list[EdgePart]) -> Slot:
    literal = [text if is_literal else None for is_literal, text in edge]
    if [text for is_literal, text in edge if not is_literal] == [NODE] and len(edge) == 3:
        before, after = edge[0][1], edge[2][1]

        def nodes_only(page: Page[Any]) -> str:
            return "[" + ",".join([before + item.json + after for item in page.items]) + "]"
        return nodes_only

    def edges(page: Page[Any]) -> str:
        texts = []
        for index, item in enumerate(page.items):
            texts.append("".join(
                text if text is not None else
                item.json if own == NODE else _string(page.cursors[index])
                for text, (_, own) in zip(literal, edge, strict=True)))
        return "[" + ",".join(texts) + "]"
    return edges


def _merged(parts: Sequence[Any]) -> list[Any]:
    """Adjacent literal texts joined into one."""
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def _string(text: str | None) -> str:
    return msgspec.json.encode(text).decode()


def _total_count(page: Page[Any]) -> str | None:
    return str(page.total_count) if page.total_count in INT32 else None


def _has_next_page(page: Page[Any]) -> str:
    return "true" if page.has_next_page else "false"


def _end_cursor(page: Page[Any]) -> str:
    return _string(page.end_cursor)
