"""Rows of the read models serve as the GraphQL types' sources as they are: a type reads each
field from the row's attribute of the same (Python) name, so nothing is copied per row (about
2.4 µs a field is spent in Strawberry already). ``view`` only tells the type checker.

A type served from rows names their class, once, on the type (``@served_from(UnitRow)``, the
row class its read model declares in ``projections/<model>/rows.py``): the fields it declares
without a resolver follow that class, and ``mismatches`` says where they do not (a field the
row lacks, or one the row may hold null and the type may not). The unit tests walk every type
of the schema with it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar, cast

from strawberry.types.base import StrawberryOptional, get_object_definition

T = TypeVar("T")
_ROW = "__danvan_row__"


def view(cls: type[T], row: Any) -> T:
    return cast(T, row)


def served_from(row: type) -> Callable[[type[T]], type[T]]:
    """Declare the row class a GraphQL type's sources are (put it above ``strawberry.type``)."""
    def declare(graphql_type: type[T]) -> type[T]:
        setattr(graphql_type, _ROW, row)
        return graphql_type
    return declare


def row_class(graphql_type: type) -> type | None:
    return cast("type | None", getattr(graphql_type, _ROW, None))


def mismatches(graphql_type: type) -> list[str]:
    """The fields of ``graphql_type`` (declared without a resolver) that do not follow its row
    class: missing from it, or nullable there but not in the type."""
    row = row_class(graphql_type)
    if row is None:
        return [f"{graphql_type.__name__} declares no row class"]
    hints = typing.get_type_hints(row)
    columns = {f.name for f in dataclasses.fields(row)}
    found = []
    for field in get_object_definition(graphql_type, strict=True).fields:
        if field.base_resolver is not None:
            continue
        name = field.python_name
        if name not in columns:
            found.append(f"{name}: not a field of {row.__name__}")
        elif _nullable(hints[name]) and not isinstance(field.type, StrawberryOptional):
            found.append(f"{name}: may be null in {row.__name__}, not in the type")
    return found


def _nullable(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and \
        type(None) in typing.get_args(hint)
