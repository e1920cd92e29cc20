"""The models projection: the registry, quota counts and breakdown, fed by one fold.

They share one tracking position (and are rebuilt together) because all three need the same
per-model facts (tenant, unit, year, field, state, recognitions) at each event.
"""

from __future__ import annotations

from typing import Any, ClassVar

from danvan.projections.base import Cursor, Projection, Write
from danvan.projections.events import Batch
from danvan.projections.models import breakdown, quota, registry
from danvan.projections.models.fold import MODEL_TOPICS, fold, models_to_load


class Models(Projection):
    name = "models"
    tables = (*registry.TABLES, *quota.TABLES, *breakdown.TABLES)
    topics: ClassVar[frozenset[str] | None] = MODEL_TOPICS

    def ddl(self, schema: str) -> list[str]:
        return [*registry.ddl(schema), *quota.ddl(schema), *breakdown.ddl(schema)]

    def indexes(self, schema: str) -> list[str]:
        return [*registry.indexes(schema), *breakdown.indexes(schema)]

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        events = self.wanted(batch)
        needed = models_to_load(events)
        if memo is None:
            rows = registry.load(reader, schema, needed)
            changes = fold(rows, events).freeze()
        else:
            cache = memo.setdefault(f"models:{schema}", registry.ModelCache())
            assert isinstance(cache, registry.ModelCache)
            changes = fold(cache.take(reader, schema, needed), events)
            cache.keep(changes.rows)
            changes.freeze()

        def write(cur: Cursor) -> None:
            registry.write(cur, schema, changes)
            quota.write(cur, schema, changes)
            breakdown.write(cur, schema, changes)
        return write
