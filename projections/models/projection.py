"""The models projection: the registry, quota counts and breakdown, fed by one fold, the
open units by models submitted (fed by the units' own events too), and each tenant's province
(fed by its onboarding) with the by-field and progress totals rolled up per province.

They share one tracking position (and are rebuilt together) because all of them need the same
per-model facts (tenant, unit, year, field, state, recognitions) at each event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from danvan.projections.base import Cursor, Projection, TableSharding, Write
from danvan.projections.events import Batch
from danvan.projections.models import breakdown, open_units, provinces, quota, registry
from danvan.projections.models.fold import MODEL_TOPICS, fold, models_to_load


class Models(Projection):
    name = "models"
    tables = (*registry.TABLES, *quota.TABLES, *breakdown.TABLES, *open_units.TABLES,
              *provinces.TABLES)
    # Every row is one tenant's, but the province roll-up's (additive: see sharding).
    sharding: ClassVar[Mapping[str, TableSharding]] = {
        **dict.fromkeys((*registry.TABLES, *quota.TABLES, *breakdown.TABLES,
                         *open_units.TABLES, *provinces.TENANT_TABLES), TableSharding.TENANT),
        **dict.fromkeys(provinces.ADDITIVE_TABLES, TableSharding.ADDITIVE)}
    topics: ClassVar[frozenset[str] | None] = (MODEL_TOPICS | open_units.UNIT_TOPICS
                                               | provinces.TENANT_TOPICS)

    def topic_sets(self) -> tuple[frozenset[str], ...]:
        return (MODEL_TOPICS, open_units.UNIT_TOPICS, provinces.TENANT_TOPICS)

    def ddl(self, schema: str) -> list[str]:
        return [*registry.ddl(schema), *quota.ddl(schema), *breakdown.ddl(schema),
                *open_units.ddl(schema), *provinces.ddl(schema)]

    def indexes(self, schema: str) -> list[str]:
        return [*registry.indexes(schema), *breakdown.indexes(schema),
                *provinces.indexes(schema)]

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        events = batch.of_topics(MODEL_TOPICS)
        moves = open_units.UnitMoves(batch.of_topics(open_units.UNIT_TOPICS))
        onboarded = provinces.onboarded(batch.of_topics(provinces.TENANT_TOPICS))
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
            provinces.write_onboardings(cur, schema, onboarded)
            registry.write(cur, schema, changes)
            open_units.write_openings(cur, schema, moves)
            open_units.write_submissions(cur, schema, changes.units)
            quota.write(cur, schema, changes)
            open_units.write_closings(cur, schema, moves)
            breakdown.write(cur, schema, changes)
            provinces.write_rollup(cur, schema, changes, onboarded)
        return write
