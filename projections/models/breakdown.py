"""Breakdown per tenant, year and field: models accepted and recognised at each level (by the
model's registration year), and progress totals (participants, workdays, money in VND, land in
m², by the year of the reported period). Every progress report is kept as a row too, so
totals "as of" a moment are a sum over reports made by then.
"""

from __future__ import annotations

from danvan.projections.base import Cursor, copy_text, pg_array, pg_text_array
from danvan.projections.models.fold import FIELD_COUNTERS, Changes

TABLES = ("field_counts", "progress_reports", "progress_totals")

PROGRESS_COLUMNS = ("position", "model_id", "tenant_id", "year", "model_year", "field", "period",
                    "participants", "workdays", "money_vnd", "land_m2", "reported_at")
PROGRESS_SUMS = ("participants", "workdays", "money_vnd", "land_m2", "reports")


def ddl(s: str) -> list[str]:
    counters = ",\n".join(f"{c} int NOT NULL DEFAULT 0" for c in FIELD_COUNTERS)
    return [
        f"""CREATE TABLE {s}.field_counts (
            tenant_id text COLLATE "C" NOT NULL,
            year int NOT NULL,
            field text NOT NULL,
            {counters},
            PRIMARY KEY (tenant_id, year, field)) WITH (fillfactor = 70)""",
        f"""CREATE TABLE {s}.progress_reports (
            position bigint NOT NULL,
            model_id uuid NOT NULL,
            tenant_id text COLLATE "C" NOT NULL,
            year int NOT NULL,
            model_year int NOT NULL,
            field text,
            period text NOT NULL,
            participants bigint NOT NULL,
            workdays bigint NOT NULL,
            money_vnd numeric NOT NULL,
            land_m2 numeric NOT NULL,
            reported_at timestamptz NOT NULL)""",
        f"""CREATE TABLE {s}.progress_totals (
            tenant_id text COLLATE "C" NOT NULL,
            year int NOT NULL,
            field text NOT NULL,
            participants bigint NOT NULL DEFAULT 0,
            workdays bigint NOT NULL DEFAULT 0,
            money_vnd numeric NOT NULL DEFAULT 0,
            land_m2 numeric NOT NULL DEFAULT 0,
            reports int NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant_id, year, field)) WITH (fillfactor = 70)""",
    ]


def indexes(s: str) -> list[str]:
    return [f"CREATE UNIQUE INDEX ON {s}.progress_reports (position)",
            f"CREATE INDEX ON {s}.progress_reports (tenant_id, year, reported_at)"]


def write(cur: Cursor, schema: str, changes: Changes) -> None:
    if changes.fields:
        keys = list(changes.fields)
        columns = [pg_text_array(k[0] for k in keys), pg_array(k[1] for k in keys),
                   pg_text_array(k[2] for k in keys)]
        columns += [pg_array(changes.fields[k][i] for k in keys)
                    for i in range(len(FIELD_COUNTERS))]
        adds = ", ".join(f"{c} = f.{c} + excluded.{c}" for c in FIELD_COUNTERS)
        casts = ", ".join(["%s::text[]", "%s::int[]", "%s::text[]",
                           *["%s::int[]"] * len(FIELD_COUNTERS)])
        cur.execute(
            f"INSERT INTO {schema}.field_counts AS f (tenant_id, year, field, "
            f"{', '.join(FIELD_COUNTERS)}) SELECT * FROM unnest({casts}) "
            f"ON CONFLICT (tenant_id, year, field) DO UPDATE SET {adds}", columns)
    if changes.progress:
        copy_text(cur, f"{schema}.progress_reports", PROGRESS_COLUMNS, changes.progress)
        sums = changes.progress_sums
        keys = list(sums)
        adds = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in PROGRESS_SUMS)
        cur.execute(
            f"INSERT INTO {schema}.progress_totals AS t (tenant_id, year, field, "
            f"{', '.join(PROGRESS_SUMS)}) SELECT * FROM unnest(%s::text[], %s::int[], "
            "%s::text[], %s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[], %s::int[]) "
            f"ON CONFLICT (tenant_id, year, field) DO UPDATE SET {adds}",
            [pg_text_array(k[0] for k in keys), pg_array(k[1] for k in keys),
             pg_text_array(k[2] for k in keys),
             *(pg_array(sums[k][i] for k in keys) for i in range(len(PROGRESS_SUMS)))])

