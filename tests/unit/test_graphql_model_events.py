"""``model(id)`` asking for its events: whether the document asks for them (fields, aliases,
fragments), and that they are read only once the access check let the caller in."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import FieldNode, OperationDefinitionNode, parse

from danvan.graphql.errors import Forbidden
from danvan.graphql.loaders import Loaders
from danvan.graphql.resolve_model import _asks_events
from danvan.graphql.sources import ReadSources
from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.rows import ModelSummary

MODEL_ID = "0c379d62-9222-552c-8733-e92564086504"


def info_of(document: str) -> Any:
    """What ``_asks_events`` reads of a resolver's info: the ``model`` field's nodes (every
    one of the response key) and the document's fragments."""
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    nodes = [s for s in operation.selection_set.selections
             if isinstance(s, FieldNode) and s.name.value == "model"]
    fragments = {d.name.value: d for d in parsed.definitions
                 if not isinstance(d, OperationDefinitionNode)}
    return SimpleNamespace(_raw_info=SimpleNamespace(field_nodes=nodes, fragments=fragments))


@pytest.mark.parametrize(("document", "asked"), [
    ('{ model(id: "m") { stateAsOf(at: "2026-01-01T00:00:00Z") { version } } }', True),
    ('{ model(id: "m") { id then: history { type } } }', True),
    ('{ model(id: "m") { ...F } } fragment F on Model { name stateAsOf(at: "x") { state } }',
     True),
    ('{ model(id: "m") { ... on Model { ...G } } } fragment G on Model { history { type } }',
     True),
    ('{ model(id: "m") { id name unit { name } tenant { name } } }', False),
    ('{ model(id: "m") { ...F } } fragment F on Model { id form { goals } }', False),
    ('{ model(id: "m") { history: name } }', False),
])
def test_the_events_are_asked_for_by_field_name_wherever_the_document_puts_them(
        document: str, asked: bool) -> None:
    assert _asks_events(info_of(document)) is asked


def test_two_nodes_of_the_same_key_are_both_read() -> None:
    info = info_of('{ model(id: "m") { id } model(id: "m") { history { type } } }')
    assert len(info._raw_info.field_nodes) == 2 and _asks_events(info)


class Store:
    def __init__(self) -> None:
        self.asked: list[list[uuid.UUID]] = []

    def streams(self, ids: list[uuid.UUID]) -> list[Any]:
        self.asked.append(list(ids))
        return [(1, ids[0], 1, "topic", b"{}")]


class Reader:
    def __init__(self, row: ModelSummary) -> None:
        self.row = row

    def run_sync(self, fn: Any, ids: list[str]) -> Any:
        tenant = TenantRef(self.row.tenant_id, "04273", "Phường", "ward", "15")
        return {self.row.id: self.row}, {self.row.tenant_id: tenant}


def summary() -> ModelSummary:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return ModelSummary(MODEL_ID, "t1", "u1", 2026, "collective", "Mô hình", None,
                        "registered", False, {}, now, None, None, None, None, None, False,
                        False, [], [], 1, now)


def test_a_refused_caller_reads_no_event_and_an_admitted_one_reads_them_once() -> None:
    store = Store()
    row = summary()
    loaders = Loaders(Reader(row), ReadSources(pool=None, store=store))  # type: ignore[arg-type]

    def refuse(found: ModelSummary, tenant: TenantRef | None) -> None:
        raise Forbidden("not allowed to read this model")

    with pytest.raises(Forbidden):
        asyncio.run(loaders.model_with_events(MODEL_ID, refuse))
    assert store.asked == []

    async def admitted() -> tuple[Any, Any]:
        loaders = Loaders(Reader(row), ReadSources(pool=None, store=store))  # type: ignore
        got = await loaders.model_with_events(MODEL_ID, lambda found, tenant: None)
        return got, await loaders.events.load(MODEL_ID)

    got, stream = asyncio.run(admitted())
    assert got == row and store.asked == [[uuid.UUID(MODEL_ID)]]
    assert stream == [(1, uuid.UUID(MODEL_ID), 1, "topic", b"{}")]
