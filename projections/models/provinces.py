"""The province of each tenant, so that what a province's pages read is a few index ranges:
the per-tenant rows they need (``quota_counts``, ``open_units``, ``unit_histogram``) carry
their tenant's ``province_code`` (indexed), and the by-field counts and progress totals are
also kept rolled up per province and year (``province_fields``, a handful of rows where the
per-tenant tables hold five per tenant).

The models projection reads ``Tenant.Onboarded`` beside the model and unit events (it cannot
join the directory's tables, which another projection builds at its own position). A tenant's
rows written before its onboarding (the log allows it) get their province when it is
onboarded, and its per-tenant totals are added to its province's rollup then; after that, each
batch adds its deltas. So the tables do not depend on how the log is cut into batches.

``province_fields`` rows belong to the province's own scope (``tenant_id`` is
``province:<code>``), which row-level security lets the province's readers see.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from danvan.domain.policies import PROVINCE_SCOPE_PREFIX
from danvan.domain.tenants import Tenant
from danvan.projections.base import Cursor, pg_array, pg_text_array
from danvan.projections.events import Envelope, topic_of
from danvan.projections.models.fold import FIELD_COUNTERS, Changes

ONBOARDED = topic_of(Tenant.Onboarded)
TENANT_TOPICS = frozenset({ONBOARDED})

TENANT_TABLES = ("tenant_provinces",)
ADDITIVE_TABLES = ("province_fields",)
"""Written by commutative upserts in key order, with deltas from the batch and the tenants'
own rows only (never from the roll-up's value): tenant shards may share it."""
TABLES = (*TENANT_TABLES, *ADDITIVE_TABLES)
KEYED = ("quota_counts", "open_units", "unit_histogram")
"""Per-tenant tables whose rows carry their tenant's ``province_code``."""
PROVINCE_SUMS = (*FIELD_COUNTERS, "participants", "workdays", "money_vnd", "land_m2",
                 "reports")
_SUM_TYPES = ("int[]", "int[]", "int[]", "bigint[]", "bigint[]", "numeric[]", "numeric[]",
              "int[]")


def ddl(s: str) -> list[str]:
    return [
        f"""CREATE TABLE {s}.tenant_provinces (
            tenant_id text COLLATE "C" PRIMARY KEY,
            province_code text NOT NULL)""",
        f"""CREATE TABLE {s}.province_fields (
            tenant_id text COLLATE "C" NOT NULL,
            year int NOT NULL,
            field text NOT NULL,
            new_models int NOT NULL DEFAULT 0,
            recognized_tenant_level int NOT NULL DEFAULT 0,
            recognized_province_level int NOT NULL DEFAULT 0,
            participants bigint NOT NULL DEFAULT 0,
            workdays bigint NOT NULL DEFAULT 0,
            money_vnd numeric NOT NULL DEFAULT 0,
            land_m2 numeric NOT NULL DEFAULT 0,
            reports int NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant_id, year, field)) WITH (fillfactor = 70)""",
    ]


def indexes(s: str) -> list[str]:
    return [f"CREATE INDEX ON {s}.quota_counts (province_code, year)",
            f"CREATE INDEX ON {s}.open_units (province_code)",
            f"CREATE INDEX ON {s}.unit_histogram (province_code, year)"]


def with_province(schema: str, rows: str) -> str:
    """``rows`` (a FROM item with a ``tenant_id``, aliased ``d``) beside their tenant's
    province, ``p.province_code`` (NULL while the tenant is not onboarded)."""
    return (f"{rows} LEFT JOIN {schema}.tenant_provinces p ON p.tenant_id = d.tenant_id")


def onboarded(events: Iterable[Envelope]) -> dict[str, str]:
    """Tenant id -> province code of the tenants a batch onboards."""
    return {e.tenant_id: e.data.province_code for e in events if e.topic == ONBOARDED}


def write_onboardings(cur: Cursor, schema: str, tenants: dict[str, str]) -> None:
    """First in a batch's writes: the rows written after it find the new tenants' province."""
    if tenants:
        cur.execute(f"INSERT INTO {schema}.tenant_provinces (tenant_id, province_code) "
                    "SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING",
                    (pg_text_array(tenants), pg_text_array(tenants.values())))


def write_rollup(cur: Cursor, schema: str, changes: Changes, tenants: dict[str, str]) -> None:
    """Last in a batch's writes: the batch's by-field and progress deltas of tenants onboarded
    before it, added to their province's rows; a tenant onboarded in the batch brings its
    per-tenant rows (with the batch's deltas) whole, and its earlier rows their province."""
    deltas = _deltas(changes, set(tenants))
    if deltas:
        keys = list(deltas)
        columns = [pg_text_array(k[0] for k in keys), pg_array(k[1] for k in keys),
                   pg_text_array(k[2] for k in keys)]
        columns += [pg_array(deltas[k][i] for k in keys) for i in range(len(PROVINCE_SUMS))]
        casts = ", ".join(["%s::text[]", "%s::int[]", "%s::text[]",
                           *(f"%s::{t}" for t in _SUM_TYPES)])
        sums = ", ".join(f"sum(d.{c})" for c in PROVINCE_SUMS)
        _add(cur, schema,
             f"SELECT '{PROVINCE_SCOPE_PREFIX}' || p.province_code, d.year, d.field, {sums} "
             f"FROM unnest({casts}) AS d(tenant_id, year, field, {', '.join(PROVINCE_SUMS)}) "
             f"JOIN {schema}.tenant_provinces p ON p.tenant_id = d.tenant_id "
             "GROUP BY 1, 2, 3", columns)
    if tenants:
        ids = pg_text_array(tenants)
        zero_counts = ", ".join(["0"] * len(FIELD_COUNTERS))
        _add(cur, schema,
             f"""SELECT '{PROVINCE_SCOPE_PREFIX}' || p.province_code, x.year, x.field,
                        {', '.join(f'sum(x.{c})' for c in PROVINCE_SUMS)}
                   FROM (SELECT tenant_id, year, field, {', '.join(FIELD_COUNTERS)},
                                0::bigint AS participants, 0::bigint AS workdays,
                                0::numeric AS money_vnd, 0::numeric AS land_m2, 0 AS reports
                           FROM {schema}.field_counts WHERE tenant_id = ANY(%(t)s::text[])
                         UNION ALL
                         SELECT tenant_id, year, field, {zero_counts}, participants, workdays,
                                money_vnd, land_m2, reports
                           FROM {schema}.progress_totals
                          WHERE tenant_id = ANY(%(t)s::text[])) x
                   JOIN {schema}.tenant_provinces p ON p.tenant_id = x.tenant_id
                  GROUP BY 1, 2, 3""", {"t": ids})
        for table in KEYED:
            cur.execute(f"UPDATE {schema}.{table} r SET province_code = p.province_code "
                        f"FROM {schema}.tenant_provinces p WHERE p.tenant_id = r.tenant_id "
                        "AND r.tenant_id = ANY(%s::text[]) AND r.province_code IS NULL",
                        (ids,))


def _add(cur: Cursor, schema: str, select: str, params: Any) -> None:
    adds = ", ".join(f"{c} = f.{c} + excluded.{c}" for c in PROVINCE_SUMS)
    cur.execute(f"INSERT INTO {schema}.province_fields AS f (tenant_id, year, field, "
                f"{', '.join(PROVINCE_SUMS)}) {select} "
                f"ORDER BY 1, 2, 3 ON CONFLICT (tenant_id, year, field) DO UPDATE SET {adds}",
                params)


def _deltas(changes: Changes, skipped: set[str]) -> dict[tuple[str, int, str], list[Any]]:
    """Per (tenant, year, field): the three counters' and the progress sums' deltas, but for
    the tenants in ``skipped``."""
    found: dict[tuple[str, int, str], list[Any]] = {}
    for (tenant, year, field), counters in changes.fields.items():
        if tenant not in skipped:
            found[(tenant, year, field)] = [*counters[:len(FIELD_COUNTERS)], 0, 0,
                                            Decimal(0), Decimal(0), 0]
    for key, sums in changes.progress_sums.items():
        if key[0] not in skipped:
            row = found.setdefault(key, [0] * len(FIELD_COUNTERS) + [0, 0, Decimal(0),
                                                                      Decimal(0), 0])
            for i, value in enumerate(sums):
                row[len(FIELD_COUNTERS) + i] += value
    return found

