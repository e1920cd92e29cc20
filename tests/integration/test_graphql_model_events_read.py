"""``model(id)`` with its events, read on the read models' pool (``ReadSources.events_on_pool``:
the pool reaches the store's database): the events the store itself reads, in the transaction
that read the model's row, and none for a caller the access check refused."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from danvan.graphql.db import Reader
from danvan.graphql.errors import Forbidden
from danvan.graphql.history import state_as_of
from danvan.graphql.loaders import Loaders
from danvan.graphql.sources import ReadSources
from danvan.infra.database import app_params
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.rows import ModelSummary
from tests.integration.test_projection_histories import PROVINCE, projected


class Sending:
    """The store, counting the statements sent on the readers' connections."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.sent = 0

    def streams(self, ids: Sequence[uuid.UUID]) -> list[Any]:
        return self.store.streams(ids)

    def send_streams(self, conn: Any, ids: Sequence[uuid.UUID]) -> Any:
        self.sent += 1
        return self.store.send_streams(conn, ids)


def admit(row: ModelSummary, tenant: TenantRef | None) -> None:
    pass


def refuse(row: ModelSummary, tenant: TenantRef | None) -> None:
    raise Forbidden("not allowed to read this model")


def test_a_model_and_its_events_in_one_transaction_are_what_the_store_reads(
        settings: Settings, event_store: EventStore) -> None:
    world = projected(settings, event_store)
    model = max(world.models, key=lambda m: m.version)
    model_id = str(model.id)
    store = Sending(event_store)
    with ConnectionPool(app_params(settings).conninfo(), min_size=1, max_size=1,
                        kwargs={"autocommit": True}) as pool:
        reader = Reader(pool, province_codes=(PROVINCE,))

        async def read(on_pool: bool, check: Any) -> tuple[Any, Any]:
            loaders = Loaders(reader, ReadSources(pool=pool, store=store,
                                                  events_on_pool=on_pool))
            row = await loaders.model_with_events(model_id, check)
            return row, await loaders.events.load(model_id)

        for _ in range(7):  # past the sixth: the statement prepared, maybe a generic plan
            row, stream = asyncio.run(read(True, admit))
            assert row is not None and row.id == model_id
            assert stream == event_store.streams([model.id])
        assert store.sent == 7 and len(stream) == model.version > 3
        assert asyncio.run(read(False, admit)) == (row, stream)
        assert store.sent == 7
        as_of = state_as_of(stream, model.modified_on)
        assert as_of is not None and as_of.version == model.version

        with pytest.raises(Forbidden):
            asyncio.run(read(True, refuse))
        assert store.sent == 7
        unknown = str(uuid.uuid4())

        async def missing() -> Any:
            loaders = Loaders(reader, ReadSources(pool=pool, store=store, events_on_pool=True))
            return await loaders.model_with_events(unknown, admit)

        assert asyncio.run(missing()) is None and store.sent == 7
        with pool.connection() as conn:  # the connection came back clean, out of any transaction
            assert conn.info.transaction_status == 0
