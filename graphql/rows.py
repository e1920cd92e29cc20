"""Rows of the read models serve as the GraphQL types' sources as they are: a type reads each
field from the row's attribute of the same (Python) name, so nothing is copied per row (about
2.4 µs a field is spent in Strawberry already). ``view`` only tells the type checker; the
unit tests check every field of each type exists on its row class."""

from __future__ import annotations

from typing import Any, TypeVar, cast

T = TypeVar("T")


def view(cls: type[T], row: Any) -> T:
    return cast(T, row)
