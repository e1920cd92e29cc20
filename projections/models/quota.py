"""Quota attainment, stored as counts: per tenant and year (new models accepted, recognised at
each level and not revoked, maintained into the year's list, discontinued, submitted, copies
received) and per tenant, year and unit (models ever submitted, a received copy included).

Targets, status and "at risk" depend on when one asks, so ``read`` combines these counts
with the targets at question time.
"""

from __future__ import annotations

from danvan.projections.base import Cursor, pg_array, pg_text_array
from danvan.projections.models.fold import QUOTA_COUNTERS, Changes
from danvan.projections.models.provinces import with_province

TABLES = ("quota_counts", "unit_counts")


def ddl(s: str) -> list[str]:
    counters = ",\n".join(f"{c} int NOT NULL DEFAULT 0" for c in QUOTA_COUNTERS)
    return [
        f"""CREATE TABLE {s}.quota_counts (
            tenant_id text COLLATE "C" NOT NULL,
            year int NOT NULL,
            {counters},
            province_code text,
            PRIMARY KEY (tenant_id, year)) WITH (fillfactor = 70)""",
        f"""CREATE TABLE {s}.unit_counts (
            tenant_id text COLLATE "C" NOT NULL,
            year int NOT NULL,
            unit_id uuid NOT NULL,
            submitted_models int NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant_id, year, unit_id)) WITH (fillfactor = 70)""",
        # A closing unit's years (``open_units.write_closings``): needed while building.
        f"CREATE INDEX ON {s}.unit_counts (unit_id)",
    ]


def write(cur: Cursor, schema: str, changes: Changes) -> None:
    if changes.quota:
        keys = list(changes.quota)
        columns = [pg_text_array(k[0] for k in keys), pg_array(k[1] for k in keys)]
        columns += [pg_array(changes.quota[k][i] for k in keys)
                    for i in range(len(QUOTA_COUNTERS))]
        types = ["text[]", "int[]", *["int[]"] * len(QUOTA_COUNTERS)]
        adds = ", ".join(f"{c} = q.{c} + excluded.{c}" for c in QUOTA_COUNTERS)
        unnest = (f"unnest({', '.join(f'%s::{t}' for t in types)}) "
                  f"AS d(tenant_id, year, {', '.join(QUOTA_COUNTERS)})")
        cur.execute(
            f"INSERT INTO {schema}.quota_counts AS q (tenant_id, year, "
            f"{', '.join(QUOTA_COUNTERS)}, province_code) "
            f"SELECT d.*, p.province_code FROM {with_province(schema, unnest)} "
            f"ON CONFLICT (tenant_id, year) DO UPDATE SET {adds}", columns)
    if changes.units:
        keys3 = list(changes.units)
        cur.execute(
            f"INSERT INTO {schema}.unit_counts AS u (tenant_id, year, unit_id, submitted_models) "
            "SELECT * FROM unnest(%s::text[], %s::int[], %s::uuid[], %s::int[]) "
            "ON CONFLICT (tenant_id, year, unit_id) DO UPDATE "
            "SET submitted_models = u.submitted_models + excluded.submitted_models",
            (pg_text_array(k[0] for k in keys3), pg_array(k[1] for k in keys3),
             pg_array(k[2] for k in keys3), pg_array(changes.units[k] for k in keys3)))
