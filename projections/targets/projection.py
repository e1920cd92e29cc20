"""Targets as they were set over time: every version of a tenant's, a province's or a period's
targets is a row valid from the event that set it until the event that replaced it
(``valid_to`` NULL while current), so "the targets as of T" is a range lookup.

Which targets apply (tenant over province over built-in) is decided at query time with
``danvan.domain.targets.effective_targets``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from psycopg.types.json import Jsonb

from danvan.domain.targets import PeriodTargets, ProvinceTargets, TenantTargets
from danvan.projections.base import Cursor, Projection, TableSharding, Write
from danvan.projections.events import Batch, Envelope, topic_of

TENANT_SET = topic_of(TenantTargets.Set)
TENANT_CHANGED = topic_of(TenantTargets.Changed)
PROVINCE_SET = topic_of(ProvinceTargets.Set)
PROVINCE_CHANGED = topic_of(ProvinceTargets.Changed)
PERIOD_SET = topic_of(PeriodTargets.Set)
PERIOD_CHANGED = topic_of(PeriodTargets.Changed)

# table, the event field holding the targets, the key columns copied from the first version
_KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    TENANT_SET: ("tenant_targets", "targets", ("year",)),
    TENANT_CHANGED: ("tenant_targets", "targets", ("year",)),
    PROVINCE_SET: ("province_targets", "defaults", ("province_code", "year")),
    PROVINCE_CHANGED: ("province_targets", "defaults", ("province_code", "year")),
    PERIOD_SET: ("period_targets", "targets", ("start_year", "end_year")),
    PERIOD_CHANGED: ("period_targets", "targets", ("start_year", "end_year")),
}
_CREATED = frozenset({TENANT_SET, PROVINCE_SET, PERIOD_SET})


class Targets(Projection):
    name = "targets"
    tables = ("tenant_targets", "province_targets", "period_targets")
    sharding = dict.fromkeys(tables, TableSharding.TENANT)
    topics: ClassVar[frozenset[str] | None] = frozenset(_KINDS)

    def ddl(self, schema: str) -> list[str]:
        s = schema
        common = """aggregate_id uuid NOT NULL,
                    tenant_id text COLLATE "C" NOT NULL,
                    valid_from timestamptz NOT NULL,
                    valid_to timestamptz,
                    position bigint PRIMARY KEY"""
        return [
            f"""CREATE TABLE {s}.tenant_targets (
                year int NOT NULL, targets jsonb NOT NULL, {common})""",
            f"""CREATE TABLE {s}.province_targets (
                province_code text NOT NULL, year int NOT NULL, defaults jsonb NOT NULL,
                {common})""",
            f"""CREATE TABLE {s}.period_targets (
                start_year int NOT NULL, end_year int NOT NULL, targets jsonb NOT NULL,
                {common})""",
        ]

    def indexes(self, schema: str) -> list[str]:
        s = schema
        return [f"CREATE INDEX ON {s}.tenant_targets (tenant_id, year, valid_from)",
                f"CREATE INDEX ON {s}.province_targets (province_code, year, valid_from)",
                f"CREATE INDEX ON {s}.period_targets (tenant_id, start_year, valid_from)"]

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        events = self.wanted(batch)

        def write(cur: Cursor) -> None:
            for e in events:
                self._write_one(cur, schema, e)
        return write

    def _write_one(self, cur: Cursor, schema: str, e: Envelope) -> None:
        # Few events, and each version closes the one before: one by one, in order.
        table, field, keys = _KINDS[e.topic]
        qualified = f"{schema}.{table}"
        if e.topic in _CREATED:
            columns = (*keys, field, "aggregate_id", "tenant_id", "valid_from", "position")
            cur.execute(
                f"INSERT INTO {qualified} ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                (*(getattr(e.data, k) for k in keys), Jsonb(getattr(e.data, field)),
                 e.originator_id, e.tenant_id, e.at, e.position))
        else:
            key_list = ", ".join(keys)
            cur.execute(
                f"WITH closed AS (UPDATE {qualified} SET valid_to = %(at)s "
                f"WHERE aggregate_id = %(id)s AND valid_to IS NULL "
                f"RETURNING {key_list}, tenant_id) "
                f"INSERT INTO {qualified} ({key_list}, {field}, aggregate_id, tenant_id, "
                f"valid_from, position) "
                f"SELECT {key_list}, %(value)s, %(id)s, tenant_id, %(at)s, %(position)s "
                f"FROM closed",
                {"at": e.at, "id": e.originator_id, "value": Jsonb(getattr(e.data, field)),
                 "position": e.position})
