"""Rows of the models read model: the registry's (``reading.row``: the fields are the SELECT
list) and the quota answers computed from its counts and the targets in force."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.quota_status import MET
from danvan.projections.reading import column, row


@row
class ModelSummary:
    """A model's current row, with its form (``models`` joined to ``model_forms``)."""

    id: str = column("m.model_id::text")
    tenant_id: str
    unit_id: str = column("m.unit_id::text")
    year: int
    kind: str
    name: str
    field: str | None
    state: str
    vertical_line: bool
    form: dict[str, Any] = column("coalesce(f.form, '{}')")
    registered_at: datetime
    submitted_at: datetime | None
    accepted_at: datetime | None
    copy_received_at: datetime | None
    discontinued_at: datetime | None
    evaluation_total: Decimal | None
    passed: bool
    person_erased: bool
    list_years: list[int]
    recognized_levels: list[str]
    version: int
    updated_at: datetime


@row
class RecognitionRow:
    """An entry of the recognition registry, with its model's name."""

    position: int
    model_id: str = column("r.model_id::text")
    tenant_id: str
    year: int
    field: str | None
    level: str
    decision_number: str
    decision_date: date
    recognized_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    model_name: str = column("m.name")


@row
class Counts:
    """A tenant's counts of a year (``quota_counts``, or the same figures as of a moment)."""

    new_models: int = 0
    recognized_tenant_level: int = 0
    recognized_province_level: int = 0
    maintained_models: int = 0
    discontinued_models: int = 0
    submitted_models: int = 0


@dataclass(frozen=True)
class TenantQuota:
    tenant: TenantRef
    year: int
    new_models: int
    new_models_target: int
    recognized_tenant_level: int
    recognized_tenant_level_target: int
    recognized_province_level: int
    recognized_province_level_target: int
    per_unit_minimum: int
    units_without_registration: int
    maintained_models: int
    discontinued_models: int
    submitted_models: int
    status: str
    at_risk: bool


@dataclass(frozen=True)
class Progress:
    participants: int = 0
    workdays: int = 0
    money_vnd: Decimal = Decimal(0)
    land_m2: Decimal = Decimal(0)
    reports: int = 0

    @classmethod
    def total(cls, parts: Sequence[FieldBreakdown]) -> Progress:
        return cls(sum(p.progress.participants for p in parts),
                   sum(p.progress.workdays for p in parts),
                   sum((p.progress.money_vnd for p in parts), Decimal(0)),
                   sum((p.progress.land_m2 for p in parts), Decimal(0)),
                   sum(p.progress.reports for p in parts))


@dataclass(frozen=True)
class FieldBreakdown:
    field: str
    new_models: int
    recognized_tenant_level: int
    recognized_province_level: int
    progress: Progress


@dataclass(frozen=True)
class ProvinceSummary:
    province_code: str
    year: int
    tenant_count: int
    new_models: int
    recognized_tenant_level: int
    recognized_province_level: int
    maintained_models: int
    tenants_met: int
    tenants_at_risk: int
    by_field: list[FieldBreakdown]
    progress: Progress


@dataclass(frozen=True)
class ProvinceFigures:
    """A province's quota rows and per-field breakdown, read once; the summary adds the rows
    up, so its totals equal the sum of the rows any page shows."""

    province_code: str
    year: int
    quotas: Sequence[TenantQuota]
    """One row per tenant onboarded (by ``as_of``), ordered by official code."""
    by_field: Sequence[FieldBreakdown]

    def summary(self) -> ProvinceSummary:
        rows = self.quotas
        return ProvinceSummary(
            self.province_code, self.year, len(rows), sum(q.new_models for q in rows),
            sum(q.recognized_tenant_level for q in rows),
            sum(q.recognized_province_level for q in rows),
            sum(q.maintained_models for q in rows),
            sum(1 for q in rows if q.status == MET), sum(1 for q in rows if q.at_risk),
            list(self.by_field), Progress.total(self.by_field))


@row
class UnitCompliance:
    """A unit open at the moment asked: models of the year submitted against the minimum
    (``read.unit_compliance`` joins ``units`` to the submissions and each tenant's minimum)."""

    unit_id: str = column("u.unit_id::text")
    name: str = column("u.name")
    kind: str = column("u.kind")
    reports_to_vertical_line: bool = column("u.reports_to_vertical_line")
    submitted_models: int = column("coalesce(c.n, 0)")
    per_unit_minimum: int = column("m.minimum")
    compliant: bool = column("coalesce(c.n, 0) >= m.minimum")


@dataclass(frozen=True)
class PeriodQuota:
    tenant_id: str
    start_year: int
    end_year: int
    targets: dict[str, int]
    actual: dict[str, int] = field(default_factory=dict)
    status: str = ""
    at_risk: bool = False


@dataclass(frozen=True)
class PeriodQuotaRow:
    """A tenant's quota for a multi-year period (``read.period_quota``): recognitions of the
    period's years at each level and models maintained into them, against the targets."""

    tenant_id: str
    start: int
    end: int
    recognized_tenant_level: int
    recognized_tenant_level_target: int
    recognized_province_level: int
    recognized_province_level_target: int
    maintained_models: int
    maintained_models_target: int
    targets_set: bool
    """Whether the tenant set targets for this period (else the term's defaults apply)."""
    status: str
    at_risk: bool
