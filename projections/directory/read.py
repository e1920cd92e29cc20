"""The directory's questions, batched: tenants by id or by province, units by tenant or by id.

Each function takes the connection first (scope it with ``queries.scoped``) and answers for
every key asked at once (one statement); a single tenant is a batch of one. Dicts map each key
asked to what was found (an empty list when nothing was; absent for single objects).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from danvan.projections.base import Connection
from danvan.projections.directory.rows import TenantRef, UnitRow
from danvan.projections.reading import R, as_of_bound, rows_of, select_list

_TENANTS = f"SELECT {select_list(TenantRef, 't')} FROM {R}.tenants t"
_UNITS = f"SELECT {select_list(UnitRow, 'u')} FROM {R}.units u"


def tenants_by_id(conn: Connection, tenant_ids: Sequence[str], *,
                  as_of: datetime | None = None) -> dict[str, TenantRef]:
    """The tenants asked for (onboarded by ``as_of``, if given)."""
    rows = conn.execute(
        f"{_TENANTS} WHERE t.tenant_id = ANY(%s) AND t.onboarded_at <= %s::timestamptz",
        (list(tenant_ids), as_of_bound(as_of))).fetchall()
    return {t.id: t for t in rows_of(TenantRef, rows)}


def province_tenants(conn: Connection, province_code: str, *,
                     as_of: datetime | None = None) -> list[TenantRef]:
    """The province's tenants onboarded by ``as_of`` (default: all), by official code."""
    rows = conn.execute(
        f"{_TENANTS} WHERE t.province_code = %s AND t.onboarded_at <= %s::timestamptz "
        "ORDER BY t.code, t.tenant_id", (province_code, as_of_bound(as_of)),
        prepare=True).fetchall()
    return rows_of(TenantRef, rows)


def every_tenant(conn: Connection) -> list[TenantRef]:
    """Every tenant the connection may see (all of them, as the schema's owner: the jobs
    that work for the whole deployment), by province and official code."""
    rows = conn.execute(f"{_TENANTS} ORDER BY t.province_code, t.code, t.tenant_id").fetchall()
    return rows_of(TenantRef, rows)


def units_by_tenant(conn: Connection, tenant_ids: Sequence[str], *,
                    include_closed: bool = True) -> dict[str, list[UnitRow]]:
    """Each tenant's units by name."""
    found: dict[str, list[UnitRow]] = {t: [] for t in tenant_ids}
    rows = conn.execute(
        f"{_UNITS} WHERE u.tenant_id = ANY(%s) AND (%s OR u.closed_at IS NULL) "
        "ORDER BY u.tenant_id, u.name, u.unit_id", (list(tenant_ids), include_closed)).fetchall()
    for unit in rows_of(UnitRow, rows):
        found[unit.tenant_id].append(unit)
    return found


def units_by_id(conn: Connection, unit_ids: Sequence[str]) -> dict[str, UnitRow]:
    rows = conn.execute(f"{_UNITS} WHERE u.unit_id = ANY(%s::uuid[])",
                        (list(unit_ids),)).fetchall()
    return {u.id: u for u in rows_of(UnitRow, rows)}
