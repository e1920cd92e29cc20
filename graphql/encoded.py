"""Nodes PostgreSQL encodes: a list's objects as JSON text that the query itself builds from
the request's selection, spliced into the answer unparsed (``msgspec.Raw``), so that no Python
runs per row or field (a trail page is 100 nodes of 15 fields: some 8 ms in Python otherwise).

A GraphQL type says how the database reads each of its fields (``Encoding``): a field without a
resolver reads its row class's column (``reading.column_sql``, the expression its SELECT list
reads); a field with a resolver, and an object field, names an SQL expression (or an
``Encoding``) that answers what the resolver answers. ``node_json(raw_info, encoding, path)`` takes
the selection graphql-core's own field collection gives at ``path`` below the resolved field
(fragments, aliases, ``@skip``/``@include`` applied; ``__typename``) and makes one SQL
expression: the node's JSON text (concatenated: ``json_build_object`` cost twice as much,
looking up each argument's type on every row), response names in the selection's order, as
graphql-core orders its result; or NULL for a row whose values graphql-core would not answer as
such (a null in a non-null field, an ``Int`` out of 32 bits, a ``DateTime`` outside the years
where ``isoformat`` and ``to_char`` spell it alike): the read function then reads plain rows
for the page, and graphql-core answers, errors included. A selection it does not encode
(arguments, another directive, a field without SQL, an enum, a field with extensions such as
permissions) is ``None``: plain rows.

Values are the same as graphql-core's: text as is (``String``, ``ID``), ``Int`` within 32 bits,
``DateTime`` as ``datetime.isoformat`` spells psycopg's value (the session's time zone, the
fraction only when not zero), ``JSON`` as the stored ``jsonb`` (the value psycopg decodes and
msgspec encodes again; a number keeps its stored spelling, ``1.50`` rather than ``1.5``).

Only a caller that encodes the result with msgspec may ask for them (``ReadContext.raw_json``:
``POST /graphql`` and the websocket's subscriptions, ``ws.py``); the pages read plain rows.
What is made from a selection is kept per document (``for_selection``; ``encoded_connection``
makes a trail page's there). The lists of the one-pass execution and graphql-core's
completion pass a ``msgspec.Raw`` through as the completed object
(``execution.ListExecutionContext``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    VariableNode,
    get_named_type,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
    collect_subfields,
)
from graphql.execution.values import VariableValues

from danvan.graphql.execution import plain_directives

SINCE = "1973-01-01T00:00:00Z"
UNTIL = "9999-12-30T00:00:00Z"
NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
INT32 = "BETWEEN -2147483648 AND 2147483647"
T = TypeVar("T")


@dataclass(frozen=True)
class Encoding:
    """How PostgreSQL reads a GraphQL object type's fields, by their Python names: ``columns``
    for the fields without a resolver, ``resolved`` for the others (an SQL expression, or an
    ``Encoding`` for an object field whose resolver always answers an object)."""

    columns: Mapping[str, str]
    resolved: Mapping[str, str | Encoding] = field(default_factory=dict)


def row_encoding(row: type, resolved: Mapping[str, str | Encoding]) -> Encoding:
    """A type served from rows of ``row`` (``rows.served_from``): its columns as its SELECT
    list reads them, and the SQL of its resolved fields."""
    from danvan.projections.reading import column_sql

    return Encoding(column_sql(row), resolved)


def for_selection(info: Any, what: tuple[Any, ...], make: Callable[[Any], T]) -> T:
    """``make(raw_info)``, made once per query document (parsed documents are kept:
    ``ParserCache``), ``what`` is made of, and values of the variables its directives read:
    kept with the nodes it was made from, so that their identities stay theirs while it is
    kept."""
    raw = getattr(info, "_raw_info", info)
    nodes = tuple(raw.field_nodes)
    shape = (id(raw.schema), id(raw.operation), *map(id, nodes), *what)
    known = _directive_variables.get(shape)
    if known is None:
        if len(_directive_variables) >= MAX_KEPT:
            _directive_variables.clear()
            _made.clear()
        names = _variables_in(nodes, raw.fragments)
        known = _directive_variables[shape] = ((raw.schema, raw.operation, nodes, what), names)
    coerced = getattr(raw.variable_values, "coerced", raw.variable_values)
    try:
        key = (shape, *(coerced.get(name) for name in known[1]))
        hash(key)
    except TypeError:
        return make(raw)
    if key not in _made:
        _made[key] = make(raw)
    return cast(T, _made[key])


MAX_KEPT = 256
_directive_variables: dict[tuple[Any, ...], tuple[Any, tuple[str, ...]]] = {}
_made: dict[tuple[Any, ...], Any] = {}


def _variables_in(nodes: Sequence[FieldNode], fragments: Mapping[str, Any]) -> tuple[str, ...]:
    """The variables the directives below ``nodes`` read (fragments included)."""
    names: set[str] = set()
    seen: set[str] = set()

    def values(node: Any) -> None:
        if isinstance(node, VariableNode):
            names.add(node.name.value)
        for part in (*getattr(node, "values", ()), *getattr(node, "fields", ())):
            values(getattr(part, "value", part))

    def walk(selections: Any) -> None:
        for selection in selections or ():
            for directive in selection.directives or ():
                for argument in directive.arguments or ():
                    values(argument.value)
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    walk(fragments[name].selection_set.selections)
            elif selection.selection_set is not None:
                walk(selection.selection_set.selections)

    for node in nodes:
        if node.selection_set is not None:
            walk(node.selection_set.selections)
    return tuple(sorted(names))


Collect = Callable[[GraphQLObjectType, FieldDetailsList], "GroupedFieldSet | None"]
"""graphql-core's field collection below some fields, None where it defers."""


def collector(raw: Any) -> Collect | None:
    """graphql-core's own field collection for ``raw``'s operation (fragments, aliases,
    ``@skip``/``@include`` applied); None when a fragment declares variables."""
    if any(d.variable_definitions for d in raw.fragments.values()):
        return None
    fragments = {name: FragmentDetails(d) for name, d in raw.fragments.items()}
    variables = raw.variable_values  # Strawberry's resolvers get the coerced values alone
    if not isinstance(variables, VariableValues):
        variables = VariableValues({}, variables)

    def collect(type_: GraphQLObjectType, details: FieldDetailsList) -> GroupedFieldSet | None:
        found = collect_subfields(raw.schema, fragments, variables, raw.operation,
                                  type_, details)
        return None if found.new_defer_usages else found.grouped_field_set
    return collect


def node_json(raw: Any, encoding: Encoding, path: Sequence[str]) -> str | None:
    """SQL: the JSON text of the object ``path`` leads to below ``raw``'s field (the nodes of
    a connection: ``("edges", "node")``), NULL where graphql-core must answer; ``None`` when
    the selection is not encoded (or asks no such object, or asks it twice: ``edges`` under
    two aliases). Made once per document by its caller (``for_selection``)."""
    collect = collector(raw)
    if collect is None:
        return None
    type_: Any = raw.return_type
    details: FieldDetailsList = [FieldDetails(node, None) for node in raw.field_nodes]
    for name in path:
        type_ = get_named_type(type_)
        if not isinstance(type_, GraphQLObjectType) or name not in type_.fields:
            return None
        grouped = collect(type_, details)
        if grouped is None:
            return None
        chosen = [d for d in grouped.values() if d[0].node.name.value == name]
        if len(chosen) != 1 or not plain_directives(chosen[0]):
            return None
        details, type_ = chosen[0], type_.fields[name].type
    type_ = get_named_type(type_)
    if not isinstance(type_, GraphQLObjectType):
        return None
    built = _collected_object(type_, details, encoding, collect)
    if built is None:
        return None
    parts, guards = built
    text = _joined(parts)
    return f"CASE WHEN {' AND '.join(guards)} THEN {text} END" if guards else text


def _collected_object(type_: GraphQLObjectType, details: FieldDetailsList, encoding: Encoding,
                      collect: Collect) -> tuple[list[Part], list[str]] | None:
    """``_object`` of the fields ``details`` select on ``type_`` (None where either cannot)."""
    grouped = collect(type_, details)
    return None if grouped is None else _object(type_, grouped, encoding, collect)


def _object(type_: GraphQLObjectType, grouped: GroupedFieldSet, encoding: Encoding,
            collect: Collect) -> tuple[list[Part], list[str]] | None:
    """The object's JSON text as parts to concatenate (SQL literals and expressions), and
    the conditions under which it is graphql-core's answer. A non-null field's expression
    is never wrapped: its NULL makes the whole text NULL (graphql-core's error, answered on
    the general path)."""
    if type_.is_type_of is not None:
        return None
    parts: list[Part] = []
    guards: list[str] = []
    for number, (response_name, details) in enumerate(grouped.items()):
        node = details[0].node
        if node.arguments or not plain_directives(details) \
                or not NAME.fullmatch(response_name):
            return None
        parts.append((True, ("{" if number == 0 else ",") + f'"{response_name}":'))
        name = node.name.value
        if name == "__typename":
            parts.append((True, f'"{type_.name}"'))
            continue
        graphql_field = type_.fields.get(name)
        definition = (graphql_field.extensions or {}).get("strawberry-definition") \
            if graphql_field is not None else None
        if graphql_field is None or graphql_field.args or definition is None \
                or definition.extensions:
            return None
        source = encoding.resolved if definition.base_resolver is not None \
            else encoding.columns
        sql = source.get(definition.python_name)
        non_null = isinstance(graphql_field.type, GraphQLNonNull)
        inner = graphql_field.type.of_type if non_null else graphql_field.type
        if isinstance(sql, Encoding):
            if not isinstance(inner, GraphQLObjectType):
                return None
            built = _collected_object(inner, details, sql, collect)
            if built is None:
                return None
            parts += built[0]
            guards += built[1]
        elif isinstance(sql, str) and isinstance(inner, GraphQLScalarType):
            scalar = _scalar(inner.name, f"({sql})", non_null)
            if scalar is None:
                return None
            value, guard = scalar
            parts.append((False, value))
            if guard:
                guards.append(guard)
        else:
            return None
    parts.append((True, "}" if grouped else "{}"))
    return parts, guards


Part = tuple[bool, str]
"""Of an object's JSON text: ``(True, text)`` a literal text, ``(False, sql)`` an expression."""


def _joined(parts: list[Part]) -> str:
    """SQL: ``parts`` concatenated, adjacent literals merged into one."""
    merged: list[Part] = []
    for literal, text in parts:
        if literal and merged and merged[-1][0]:
            merged[-1] = (True, merged[-1][1] + text)
        else:
            merged.append((literal, text))
    # Literal texts are GraphQL names and JSON punctuation: no quote, no placeholder.
    assert all("'" not in text and "%" not in text for literal, text in merged if literal)
    return " || ".join(f"'{text}'" if literal else text for literal, text in merged)


def _scalar(name: str, x: str, non_null: bool) -> tuple[str, str | None] | None:
    """The JSON text of scalar ``name`` read from ``x`` (NULL if ``x`` is NULL and the field
    non-null), and the condition under which it is graphql-core's answer (None: always)."""
    def nullable(text: str) -> str:
        return text if non_null else f"coalesce({text}, 'null')"

    if name in ("String", "ID"):
        return nullable(f"to_json({x}::text)::text"), None
    if name == "Boolean":
        return nullable(f"CASE WHEN {x} THEN 'true' WHEN NOT {x} THEN 'false' END"), None
    if name == "Int":
        return nullable(f"{x}::text"), f"({x} IS NULL OR {x} {INT32})"
    if name == "DateTime":
        # isoformat: the fraction only when not zero, the offset as +HH:MM. Since 1973 no
        # time zone's offset has had seconds (Africa/Monrovia's -00:44:30 ended in 1972), so
        # within these bounds (a day inside years 1 and 9999 too) to_char spells it alike.
        iso = (f"'\"' || replace(to_char({x}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'), "
               f"'.000000', '') || '\"'")
        return nullable(iso), (f"({x} IS NULL OR {x} >= '{SINCE}' AND {x} < '{UNTIL}')")
    if name == "JSON":
        # A jsonb value: its own text. JSON null in a non-null field is graphql-core's error.
        if non_null:
            return f"{x}::text", f"{x} <> 'null'::jsonb"
        return nullable(f"{x}::text"), None
    return None
