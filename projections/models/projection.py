"""The models projection: the registry, quota counts and breakdown, fed by one fold, and the
open units by models submitted (fed by the units' own events too).

They share one tracking position (and are rebuilt together) because all of them need the same
per-model facts (tenant, unit, year, field, state, recognitions) at each event.
"""

from __future__ import annotations

from typing import Any, ClassVar

from danvan.projections.base import Cursor, Projection, TableSharding, Write
from danvan.projections.events import Batch
from danvan.projections.models import breakdown, open_units, quota, registry
from danvan.projections.models.fold import MODEL_TOPICS, fold, models_to_load


class Models(Projection):
    name = "models"
    tables = (*registry.TABLES, *quota.TABLES, *breakdown.TABLES, *open_units.TABLES)
    # Every row is one tenant's (province roll-ups would be ADDITIVE: see sharding).
    sharding = dict.fromkeys((*registry.TABLES, *quota.TABLES, *breakdown.TABLES,
                              *open_units.TABLES), TableSharding.TENANT)
    topics: ClassVar[frozenset[str] | None] = MODEL_TOPICS | open_units.UNIT_TOPICS

    def ddl(self, schema: str) -> list[str]:
        return [*registry.ddl(schema), *quota.ddl(schema), *breakdown.ddl(schema),
                *open_units.ddl(schema)]

    def indexes(self, schema: str) -> list[str]:
        return [*registry.indexes(schema), *breakdown.indexes(schema)]

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        wanted = self.wanted(batch)
        events = [e for e in wanted if e.topic in MODEL_TOPICS]
        moves = open_units.UnitMoves(e for e in wanted if e.topic in open_units.UNIT_TOPICS)
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
            open_units.write_openings(cur, schema, moves)
            open_units.write_submissions(cur, schema, changes.units)
            quota.write(cur, schema, changes)
            open_units.write_closings(cur, schema, moves)
            breakdown.write(cur, schema, changes)
        return write
