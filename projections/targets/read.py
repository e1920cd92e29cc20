"""The targets in force, batched by tenant, at any moment (by the versions' validity).

Which targets apply to a tenant (its own, else its province's default for its kind, else the
built-in default) is the domain's rule (``domain.targets.effective_targets``), applied here.
Each function takes the connection first (scope it with ``queries.scoped``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from danvan.domain.targets import YearTargets, effective_targets
from danvan.projections.base import Connection, pg_text_array
from danvan.projections.directory.rows import TenantRef
from danvan.projections.reading import R, as_of_bound, rows_of, select_list
from danvan.projections.targets.rows import PeriodTargetsRow

_VALID_AT = ("valid_from <= %(at)s::timestamptz "
             "AND (valid_to IS NULL OR valid_to > %(at)s::timestamptz)")


def resolved_targets(conn: Connection, tenants: Sequence[TenantRef], year: int,
                     as_of: datetime | None = None, *, prepare: bool = False
                     ) -> dict[str, YearTargets]:
    """Each tenant's targets for ``year`` as they stood at ``as_of`` (default: now).
    ``prepare``: for a whole province's tenants (``models.read.quotas``), read again and
    again with the same list; each arm is one small table read by its index whatever the
    plan, and planning cost more than running it (~0.9 ms for a province of 99 tenants)."""
    rows = conn.execute(
        f"""(SELECT DISTINCT ON (tenant_id) false, tenant_id, targets FROM {R}.tenant_targets
             WHERE tenant_id = ANY(%(ids)s::text[]) AND year = %(y)s AND {_VALID_AT}
             ORDER BY tenant_id, valid_from DESC, position DESC)
            UNION ALL
            (SELECT DISTINCT ON (province_code) true, province_code, defaults
               FROM {R}.province_targets
              WHERE province_code = ANY(%(p)s) AND year = %(y)s AND {_VALID_AT}
              ORDER BY province_code, valid_from DESC, position DESC)""",
        {"ids": pg_text_array(t.id for t in tenants), "y": year, "at": as_of_bound(as_of),
         "p": sorted({t.province_code for t in tenants})}, prepare=prepare).fetchall()
    own = {key: YearTargets(**t) for province, key, t in rows if not province}
    defaults = {key: {kind: YearTargets(**t) for kind, t in d.items()}
                for province, key, d in rows if province}
    return {t.id: effective_targets(t.kind, defaults.get(t.province_code), own.get(t.id))
            for t in tenants}


def period_targets_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                             as_of: datetime | None = None
                             ) -> dict[str, list[PeriodTargetsRow]]:
    """Each tenant's multi-year targets in force at ``as_of`` (default: now), by years."""
    found: dict[str, list[PeriodTargetsRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(
        f"SELECT {select_list(PeriodTargetsRow)} FROM ("
        f"SELECT DISTINCT ON (aggregate_id) * FROM {R}.period_targets "
        f"WHERE tenant_id = ANY(%(ids)s) AND {_VALID_AT} "
        "ORDER BY aggregate_id, valid_from DESC, position DESC) p "
        "ORDER BY tenant_id, start_year, end_year",
        {"ids": list(tenant_ids), "at": as_of_bound(as_of)}).fetchall()
    for period in rows_of(PeriodTargetsRow, rows):
        found[period.tenant_id].append(period)
    return found
