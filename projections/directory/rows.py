"""Rows of the directory: a tenant, a unit (``reading.row``: the fields are the SELECT list)."""

from __future__ import annotations

from datetime import datetime

from danvan.projections.reading import column, row


@row
class TenantRef:
    id: str = column("t.tenant_id")
    code: str
    name: str
    kind: str
    province_code: str


@row
class UnitRow:
    id: str = column("u.unit_id::text")
    tenant_id: str
    name: str
    kind: str
    reports_to_vertical_line: bool
    added_at: datetime
    closed_at: datetime | None
    closed_reason: str | None
