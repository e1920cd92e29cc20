"""Lists completed in one pass (``execution.ListExecutionContext``) answer as graphql-core's
field-by-field execution, errors included: an item the one pass cannot answer exactly sends
the whole list back to graphql-core."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import strawberry

from danvan.graphql.execution import ListExecutionContext, mark_fast_leaves, row_resolver


@dataclass
class Row:
    name: Any
    size: Any
    tag: Any = None


@row_resolver
def _label(root: Row) -> str:
    if root.name == "boom":
        raise ValueError("no label for boom")
    return f"<{root.name}>"


@strawberry.type
class Inner:
    tag: str | None


def _inner(root: Row) -> Inner | None:
    return None if root.tag is None else Inner(tag=root.tag)


@strawberry.type
class Item:
    name: str
    size: int | None
    label: str = strawberry.field(resolver=_label)
    inner: Inner | None = strawberry.field(resolver=row_resolver(_inner))


ROWS: dict[str, list[Any]] = {
    "plain": [Row("a", 1, "x"), Row("b", None), Row("é", 2**31 - 1, "y")],
    "null in a non-null field": [Row("a", 1), Row(None, 2)],
    "a value the scalar refuses": [Row("a", 1), Row("b", 2**40)],
    "a resolver that raises": [Row("a", 1), Row("boom", 2)],
    "a null item": [Row("a", 1), None],
    "empty": [],
}


@strawberry.type
class Query:
    @strawberry.field
    def items(self, case: str) -> list[Item]:
        return ROWS[case]

    @strawberry.field
    def maybe(self, case: str) -> list[Item | None] | None:
        return ROWS[case]


def _schema(one_pass: bool) -> strawberry.Schema:
    schema = strawberry.Schema(query=Query, execution_context_class=(
        ListExecutionContext if one_pass else None))
    if one_pass:
        mark_fast_leaves(schema._schema)
    return schema


QUERY = """query Q($case: String!, $flag: Boolean!) {
  items(case: $case) { __typename name size l: label inner { tag } ... on Item { name } }
  maybe(case: $case) { size @include(if: $flag) label name @skip(if: $flag) }
}"""


def _answer(schema: strawberry.Schema, case: str, flag: bool) -> str:
    result = asyncio.run(schema.execute(QUERY, variable_values={"case": case, "flag": flag}))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or ())
    return json.dumps({"data": result.data, "errors": errors}, ensure_ascii=False)


def test_each_case_answers_as_graphql_core_errors_included(
        monkeypatch: pytest.MonkeyPatch) -> None:
    planned: list[bool] = []
    make_plan = ListExecutionContext._list_plan

    def spy(self: ListExecutionContext, *args: Any) -> Any:
        plan = make_plan(self, *args)
        planned.append(plan is not None)
        return plan
    monkeypatch.setattr(ListExecutionContext, "_list_plan", spy)
    fast, slow = _schema(True), _schema(False)
    for case in ROWS:
        for flag in (True, False):
            assert _answer(fast, case, flag) == _answer(slow, case, flag), case
    assert "Int cannot represent" in _answer(fast, "a value the scalar refuses", True)
    assert "no label for boom" in _answer(fast, "a resolver that raises", True)
    assert planned and all(planned)  # the one pass was tried on every list


@row_resolver
def _broken(root: Row) -> Inner:
    raise ValueError(f"no inner for {root.name}")


@row_resolver
def _broken_amount(root: Row) -> Decimal:
    raise ValueError(f"no amount for {root.name}")


@strawberry.type
class Holder:
    name: str
    broken: Inner | None = strawberry.field(resolver=_broken)
    amount: Decimal | None = strawberry.field(resolver=_broken_amount)


@strawberry.type
class BrokenQuery:
    @strawberry.field
    def holders(self) -> list[Holder]:
        return [Row("a", 1), Row("b", 2)]  # type: ignore[list-item]


@pytest.mark.parametrize("selection", ["broken { __typename }", "amount"])
def test_a_row_resolver_that_raises_is_an_error_whatever_its_type_serialises(
        selection: str) -> None:
    """Even ``{ __typename }`` alone, or a scalar that would serialise anything (Decimal's
    ``str``), answers the error graphql-core answers, not a value."""
    answers = []
    for one_pass in (True, False):
        schema = strawberry.Schema(query=BrokenQuery, execution_context_class=(
            ListExecutionContext if one_pass else None))
        if one_pass:
            mark_fast_leaves(schema._schema)
        result = asyncio.run(schema.execute(f"{{ holders {{ name {selection} }} }}"))
        answers.append((result.data, sorted(
            (e.message, tuple(e.path or ())) for e in result.errors or ())))
    assert answers[0] == answers[1]
    field = selection.split()[0]
    assert answers[0][0] == {"holders": [{"name": "a", field: None}, {"name": "b", field: None}]}
    assert len(answers[0][1]) == 2
