"""A shorter path for plain leaf fields (hot lists are mostly those).

graphql-core resolves every field the same way: a path, resolve info, the resolver,
completion, awaitable checks; some 15 µs a field on this machine, and a 100-row quota page has
1,500 of them. A field Strawberry calls "basic" (no resolver, no extension), without
arguments, whose type is a scalar or an enum, only reads an attribute of its row and
serialises it: ``execute_fields`` does that inline. Anything else (a null on a non-null field,
a value the scalar refuses, objects, lists, resolvers, permissions, middleware) takes
graphql-core's own path, so results and errors are the same (the tests run both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import Path, Undefined
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

FAST = "danvan-fast-leaf"
"""Key of a field's ``extensions`` holding ``(attribute, serialize, non_null)``."""

FastLeaf = tuple[str, Callable[[Any], Any], bool]
_MISSING = object()


def _int(value: Any) -> Any:
    if type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT:
        return value
    return GraphQLInt.serialize(value)


def _str(value: Any) -> Any:
    return value if type(value) is str else GraphQLString.serialize(value)


def _id(value: Any) -> Any:
    return value if type(value) is str else GraphQLID.serialize(value)


def _bool(value: Any) -> Any:
    return value if type(value) is bool else GraphQLBoolean.serialize(value)


_SHORTCUTS: dict[str, Callable[[Any], Any]] = {
    "Int": _int, "String": _str, "ID": _id, "Boolean": _bool}


def mark_fast_leaves(schema: GraphQLSchema) -> int:
    """Mark every basic leaf field of ``schema``; returns how many."""
    marked = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            leaf = _fast_leaf(field)
            if leaf is not None:
                field.extensions = {**(field.extensions or {}), FAST: leaf}
                marked += 1
    return marked


def _fast_leaf(field: GraphQLField) -> FastLeaf | None:
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is None or not definition.is_basic_field or field.args:
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
        return None
    if isinstance(leaf, GraphQLEnumType):
        serialize = _enum_serializer(leaf)
    else:
        serialize = _SHORTCUTS.get(leaf.name, leaf.serialize)
    return (definition.python_name, serialize, non_null)


def _enum_serializer(enum: GraphQLEnumType) -> Callable[[Any], Any]:
    """Rows hold the enum's values as strings (the domain's); map them to the names."""
    names = {str(getattr(v.value, "value", v.value)): name for name, v in enum.values.items()}
    fallback = enum.serialize

    def serialize(value: Any) -> Any:
        found = names.get(value) if isinstance(value, str) else None
        return found if found is not None else fallback(value)

    return serialize


class FastLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    _plain: bool | None = None

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any,
                       path: Path | None, grouped_field_set: GroupedFieldSet,
                       position_context: Any) -> Any:
        if self._plain is None:
            manager = self.middleware_manager
            self._plain = not (manager is not None and manager.middlewares)
        if not self._plain:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        fields = parent_type.fields
        done: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        for response_name, details in grouped_field_set.items():
            node = details[0].node
            field = fields.get(node.name.value)
            leaf = field.extensions.get(FAST) if field is not None else None
            if leaf is not None and not node.arguments:
                value = _leaf_value(leaf, source_value)
                if value is not _MISSING:
                    done[response_name] = value
                    continue
            rest[response_name] = details
        if not rest:
            return done
        if not done:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        others = super().execute_fields(parent_type, source_value, path, rest,
                                        position_context)
        order = list(grouped_field_set)
        if not isinstance(others, dict):
            pending = others

            async def merged() -> dict[str, Any]:
                return _in_order(order, done, await pending)
            return merged()
        return _in_order(order, done, others)


def _in_order(order: list[str], done: dict[str, Any], others: dict[str, Any]
              ) -> dict[str, Any]:
    """The results in the query's order (graphql-core leaves out fields it skipped)."""
    return {k: done[k] if k in done else others[k] for k in order if k in done or k in others}


def _leaf_value(leaf: FastLeaf, source: Any) -> Any:
    """The serialised value, or ``_MISSING`` to let graphql-core handle the field."""
    attribute, serialize, non_null = leaf
    value = getattr(source, attribute, Undefined)
    if value is None:
        return _MISSING if non_null else None
    if value is Undefined:
        return _MISSING
    try:
        serialized = serialize(value)
    except Exception:
        return _MISSING
    return _MISSING if serialized is None or serialized is Undefined else serialized
