"""What a resolver's field selects, read from graphql-core's own nodes of the document (a
resolver asks only to skip work nobody reads: Strawberry's ``info.selected_fields`` would
first convert every selection and argument below the field)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from graphql import FieldNode, FragmentSpreadNode


def selects_any(info: Any, names: Collection[str]) -> bool:
    """Whether the field ``info`` resolves selects one of ``names`` directly below it
    (through fragments too, ``@skip``/``@include`` aside: it may answer yes for a field a
    directive then leaves out). Validation has refused fragment cycles."""
    raw = getattr(info, "_raw_info", info)
    fragments = raw.fragments

    def asks(selection_set: Any) -> bool:
        for selection in selection_set.selections if selection_set is not None else ():
            if isinstance(selection, FieldNode):
                if selection.name.value in names:
                    return True
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and asks(fragment.selection_set):
                    return True
            elif asks(selection.selection_set):  # an inline fragment
                return True
        return False
    return any(asks(node.selection_set) for node in raw.field_nodes)
