"""A shorter path for plain leaf fields (hot lists are mostly those).

graphql-core resolves every field the same way: a path, resolve info, the resolver,
completion, awaitable checks; some 15 µs a field on this machine, and a 100-row quota page has
1,500 of them. A field Strawberry calls "basic" (no resolver, no extension), without
arguments, whose type is a scalar or an enum, only reads an attribute of its row and
serialises it: ``execute_fields`` does that inline. Anything else (a null on a non-null field,
a value the scalar refuses, objects, lists, resolvers, permissions, middleware) takes
graphql-core's own path, so results and errors are the same (the tests run both).

``ListExecutionContext`` goes further for lists of rows (a trail page: 100 nodes of 13
fields): see "lists of rows" below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT
from msgspec import Raw
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
    return _serialized(getattr(source, attribute, Undefined), serialize, non_null)


def _serialized(value: Any, serialize: Callable[[Any], Any], non_null: bool) -> Any:
    """``value`` serialised for a leaf, or ``_MISSING`` where graphql-core must answer (a null
    on a non-null field, no value, a value the scalar refuses)."""
    if value is None:
        return _MISSING if non_null else None
    if value is Undefined or value is _MISSING:  # _MISSING: its row resolver raised
        return _MISSING
    try:
        serialized = serialize(value)
    except Exception:
        return _MISSING
    return _MISSING if serialized is None or serialized is Undefined else serialized


# --- lists of rows, completed in one pass ----------------------------------------------------
#
# A list of objects whose selection (fragments, aliases, @skip/@include already applied by
# graphql-core's own field collection) reaches only fast leaves, ``__typename``, objects read
# from an attribute, and fields whose resolver is a pure function of the row (``row_resolver``)
# is completed by a plan made once per list: no path, info or awaitable check per field. Any
# item the plan cannot answer exactly (a null on a non-null field, a value a scalar refuses, an
# exception as the item) sends the whole list back to graphql-core, so errors stay its own.

_ROW_RESOLVERS: set[Callable[..., Any]] = set()
R = TypeVar("R", bound=Callable[..., Any])


def row_resolver(func: R) -> R:
    """Declare a field resolver a pure function of its row (``def f(root) -> value``: no info,
    no arguments, no I/O, no access check): lists may call it directly."""
    _ROW_RESOLVERS.add(func)
    return func


Step = Callable[[Any], Any]
"""Completes one item: its result, or ``_MISSING``."""


def _leaf_step(get: Step, serialize: Callable[[Any], Any], non_null: bool) -> Step:
    def step(source: Any) -> Any:
        return _serialized(get(source), serialize, non_null)
    return step


def _object_step(get: Step, complete: Step, non_null: bool) -> Step:
    def step(source: Any) -> Any:
        value = get(source)
        if type(value) is Raw:  # encoded by the database for this selection (encoded.py)
            return value
        if value is None:
            return _MISSING if non_null else None
        # _MISSING: its row resolver raised (else ``{ __typename }`` alone would complete it)
        if value is _MISSING or value is Undefined or isinstance(value, Exception):
            return _MISSING
        return complete(value)
    return step


def plain_directives(details: FieldDetailsList) -> bool:
    """Only ``@skip``/``@include`` (already applied by field collection): no ``@stream``."""
    return all(d.name.value in ("skip", "include")
               for detail in details for d in detail.node.directives or ())


def _attribute(name: str) -> Step:
    return lambda source: getattr(source, name, Undefined)


def _resolved(func: Callable[[Any], Any]) -> Step:
    def get(source: Any) -> Any:
        try:
            return func(source)
        except Exception:
            return _MISSING
    return get


class ListExecutionContext(FastLeafExecutionContext):
    """``FastLeafExecutionContext``, and lists of plain rows completed in one pass; an object
    the database encoded for its selection (``msgspec.Raw``: ``encoded.py``) is complete."""

    def complete_value(self, return_type: Any, field_details_list: FieldDetailsList,
                       info: Any, path: Path, result: Any, position_context: Any) -> Any:
        if type(result) is Raw:
            return result
        return super().complete_value(return_type, field_details_list, info, path, result,
                                      position_context)

    def complete_list_value(self, return_type: GraphQLList[Any],
                            field_details_list: FieldDetailsList, info: Any, path: Path,
                            result: Any, position_context: Any) -> Any:
        if self._plain is None:
            manager = self.middleware_manager
            self._plain = not (manager is not None and manager.middlewares)
        if self._plain and type(result) is list and plain_directives(field_details_list):
            complete = self._list_plan(return_type.of_type, field_details_list)
            if complete is not None:
                try:
                    done = [complete(item) for item in result]
                except Exception:  # e.g. a property that raises: graphql-core reports it
                    done = [_MISSING]
                if not any(item is _MISSING for item in done):
                    return done
        return super().complete_list_value(return_type, field_details_list, info, path,
                                           result, position_context)

    def _list_plan(self, item_type: Any, field_details_list: FieldDetailsList) -> Step | None:
        # Keyed by identity, as graphql-core's own memo, which keeps the list alive with its
        # value so that its id is not reused during the execution: so does this one.
        plans: dict[tuple[int, int], tuple[FieldDetailsList, Step | None]] = \
            self.__dict__.setdefault("_plans", {})
        key = (id(item_type), id(field_details_list))
        if key not in plans:
            non_null = isinstance(item_type, GraphQLNonNull)
            named = item_type.of_type if non_null else item_type
            complete = self._object_plan(named, field_details_list)
            plans[key] = (field_details_list, None if complete is None else _object_step(
                lambda item: item, complete, non_null))
        return plans[key][1]

    def _object_plan(self, type_: Any, field_details_list: FieldDetailsList) -> Step | None:
        if not isinstance(type_, GraphQLObjectType) or type_.is_type_of is not None:
            return None
        grouped, defers, _ = self.collect_subfields(type_, field_details_list)
        if defers:
            return None
        steps: list[tuple[str, Step]] = []
        for response_name, details in grouped.items():
            node = details[0].node
            if node.arguments or not plain_directives(details):
                return None
            step = self._field_step(type_, node.name.value, details)
            if step is None:
                return None
            steps.append((response_name, step))

        def complete(source: Any) -> Any:
            done = {}
            for response_name, step in steps:
                value = step(source)
                if value is _MISSING:
                    return _MISSING
                done[response_name] = value
            return done
        return complete

    def _field_step(self, parent: GraphQLObjectType, name: str, details: Any) -> Step | None:
        if name == "__typename":
            type_name = parent.name
            return lambda source: type_name
        field = parent.fields.get(name)
        if field is None or field.args:
            return None
        leaf: FastLeaf | None = (field.extensions or {}).get(FAST)
        if leaf is not None:
            attribute, serialize, non_null = leaf
            return _leaf_step(_attribute(attribute), serialize, non_null)
        definition = (field.extensions or {}).get("strawberry-definition")
        if definition is None or definition.extensions:
            return None
        if definition.base_resolver is None:
            get = _attribute(definition.python_name)
        elif definition.base_resolver.wrapped_func in _ROW_RESOLVERS \
                and not definition.base_resolver.is_async:
            get = _resolved(definition.base_resolver.wrapped_func)
        else:
            return None
        non_null = isinstance(field.type, GraphQLNonNull)
        inner = field.type.of_type if non_null else field.type
        if isinstance(inner, GraphQLEnumType):
            return _leaf_step(get, _enum_serializer(inner), non_null)
        if isinstance(inner, GraphQLScalarType):
            return _leaf_step(get, _SHORTCUTS.get(inner.name, inner.serialize), non_null)
        complete = self._object_plan(inner, details)
        return None if complete is None else _object_step(get, complete, non_null)
