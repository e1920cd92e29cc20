"""Directory: onboarded tenants and their units (with when they were added and closed)."""

from __future__ import annotations

from typing import Any, ClassVar

from danvan.domain.tenants import Tenant
from danvan.domain.units import Unit
from danvan.projections.base import Cursor, Projection, TableSharding, Write, copy_rows, pg_bool
from danvan.projections.events import Batch, topic_of

ONBOARDED = topic_of(Tenant.Onboarded)
UNIT_ADDED = topic_of(Unit.Added)
UNIT_CLOSED = topic_of(Unit.Closed)


class Directory(Projection):
    name = "directory"
    tables = ("tenants", "units")
    sharding = dict.fromkeys(tables, TableSharding.TENANT)
    topics: ClassVar[frozenset[str] | None] = frozenset({ONBOARDED, UNIT_ADDED, UNIT_CLOSED})

    def ddl(self, schema: str) -> list[str]:
        s = schema
        return [
            f"""CREATE TABLE {s}.tenants (
                tenant_id text COLLATE "C" PRIMARY KEY,
                code text NOT NULL,
                name text NOT NULL,
                kind text NOT NULL,
                province_code text NOT NULL,
                onboarded_at timestamptz NOT NULL,
                position bigint NOT NULL)""",
            f"""CREATE TABLE {s}.units (
                unit_id uuid PRIMARY KEY,
                tenant_id text COLLATE "C" NOT NULL,
                name text NOT NULL,
                kind text NOT NULL,
                reports_to_vertical_line boolean NOT NULL,
                added_at timestamptz NOT NULL,
                closed_at timestamptz,
                closed_reason text,
                position bigint NOT NULL)""",
        ]

    def indexes(self, schema: str) -> list[str]:
        return [f"CREATE INDEX ON {schema}.tenants (province_code, code, tenant_id)",
                f"CREATE INDEX ON {schema}.units (tenant_id, name)"]

    def prepare(self, reader: Cursor, schema: str, batch: Batch,
                memo: dict[str, Any] | None = None) -> Write:
        tenants: list[tuple[str | None, ...]] = []
        units: list[tuple[str | None, ...]] = []
        closures: list[tuple[str, str | None, str]] = []
        for e in self.wanted(batch):
            d = e.data
            if e.topic == UNIT_ADDED:
                units.append((e.originator_id, e.tenant_id, d.name, d.kind,
                              pg_bool(d.reports_to_vertical_line), e.at, str(e.position)))
            elif e.topic == UNIT_CLOSED:
                closures.append((e.at, e.meta.reason, e.originator_id))
            else:
                tenants.append((e.tenant_id, d.code, d.name, d.kind,
                                d.province_code, e.at, str(e.position)))

        def write(cur: Cursor) -> None:
            if tenants:
                copy_rows(cur, f"{schema}.tenants", ("tenant_id", "code", "name", "kind",
                                                      "province_code", "onboarded_at",
                                                      "position"), tenants)
            if units:
                copy_rows(cur, f"{schema}.units", ("unit_id", "tenant_id", "name", "kind",
                                                    "reports_to_vertical_line", "added_at",
                                                    "position"), units)
            if closures:  # a unit closes once; its row exists (added earlier in the log)
                cur.executemany(f"UPDATE {schema}.units SET closed_at = %s, "
                                "closed_reason = %s WHERE unit_id = %s", closures)
        return write
