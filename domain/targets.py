"""Targets (chỉ tiêu): built-in defaults, province defaults per tenant kind, tenant overrides."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from danvan.domain.base import Context, TenantAggregate, derive_id
from danvan.domain.policies import province_scope
from danvan.domain.tenants import TenantKind
from danvan.domain.validation import Errors

if TYPE_CHECKING:
    from danvan.domain.commands import SetPeriodTargets, SetProvinceTargets, SetTenantTargets

TARGET_FIELDS = ("new_models", "recognized_tenant_level", "recognized_province_level",
                 "per_unit_minimum")
MAX_TARGET = 100_000
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class YearTargets:
    new_models: int
    recognized_tenant_level: int
    recognized_province_level: int
    per_unit_minimum: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


BUILT_IN_DEFAULTS: dict[str, YearTargets] = {
    TenantKind.COMMUNE: YearTargets(10, 2, 1, 1),
    TenantKind.WARD: YearTargets(10, 2, 1, 1),
    TenantKind.SPECIAL_ZONE: YearTargets(10, 2, 1, 1),
    TenantKind.AGENCY: YearTargets(1, 0, 0, 1),
}


def check_year_targets(targets: YearTargets, errors: Errors, prefix: str = "") -> None:
    for name, value in targets.as_dict().items():
        errors.integer(f"{prefix}{name}", value, maximum=MAX_TARGET)


def check_year(errors: Errors, year: Any, field: str = "year") -> int | None:
    return errors.integer(field, year, minimum=FIRST_YEAR, maximum=LAST_YEAR)


def effective_targets(kind: str, province_defaults: dict[str, YearTargets] | None,
                      tenant_targets: YearTargets | None) -> YearTargets:
    """A tenant's own targets override the province's defaults, which override the built-ins."""
    if tenant_targets is not None:
        return tenant_targets
    if province_defaults and kind in province_defaults:
        return province_defaults[kind]
    return BUILT_IN_DEFAULTS[kind]


class ProvinceTargets(TenantAggregate):
    """The province's default targets per tenant kind for one year."""

    province_code: str
    year: int
    defaults: dict[str, YearTargets]

    @staticmethod
    def id_for(province_code: str, year: int) -> uuid.UUID:
        return derive_id("province-targets", province_code, year)

    class Set(TenantAggregate.Created):
        province_code: str
        year: int
        defaults: dict[str, dict[str, int]]

    class Changed(TenantAggregate.Event):
        defaults: dict[str, dict[str, int]]

        def apply(self, agg: ProvinceTargets) -> None:
            agg.defaults = {k: YearTargets(**v) for k, v in self.defaults.items()}

    @staticmethod
    def check(command: SetProvinceTargets) -> dict[str, YearTargets]:
        errors = Errors()
        if not command.defaults:
            errors.add("body", "give defaults for at least one tenant kind")
        for kind, targets in command.defaults.items():
            check_year_targets(targets, errors, f"{kind.value}.")
        errors.raise_if_any()
        return {kind.value: targets for kind, targets in command.defaults.items()}

    @classmethod
    def set_first(cls, ctx: Context, command: SetProvinceTargets) -> ProvinceTargets:
        errors = Errors()
        year_ = check_year(errors, command.year)
        errors.raise_if_any()
        defaults = cls.check(command)
        assert year_ is not None
        return cls._create(cls.Set, id=cls.id_for(command.province_code, year_),
                           tenant_id=province_scope(command.province_code), meta=ctx.meta(),
                           timestamp=ctx.at, province_code=command.province_code, year=year_,
                           defaults={k: v.as_dict() for k, v in defaults.items()})

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], province_code: str, year: int,
                 defaults: dict[str, dict[str, int]]) -> None:
        self.tenant_id = tenant_id
        self.province_code = province_code
        self.year = year
        self.defaults = {k: YearTargets(**v) for k, v in defaults.items()}

    def change(self, ctx: Context, command: SetProvinceTargets) -> bool:
        """Replace the defaults; answers whether anything changed (no event when nothing did)."""
        defaults = self.check(command)
        if defaults == self.defaults:
            return False
        self._emit(self.Changed, ctx, defaults={k: v.as_dict() for k, v in defaults.items()})
        return True


class TenantTargets(TenantAggregate):
    """One tenant's own targets for one year, overriding the province defaults."""

    year: int
    targets: YearTargets

    @staticmethod
    def id_for(tenant_id: str, year: int) -> uuid.UUID:
        return derive_id("tenant-targets", tenant_id, year)

    class Set(TenantAggregate.Created):
        year: int
        targets: dict[str, int]

    class Changed(TenantAggregate.Event):
        targets: dict[str, int]

        def apply(self, agg: TenantTargets) -> None:
            agg.targets = YearTargets(**self.targets)

    @staticmethod
    def check(command: SetTenantTargets) -> YearTargets:
        errors = Errors()
        check_year_targets(command.targets, errors)
        errors.raise_if_any()
        return command.targets

    @classmethod
    def set_first(cls, ctx: Context, command: SetTenantTargets) -> TenantTargets:
        errors = Errors()
        year_ = check_year(errors, command.year)
        errors.raise_if_any()
        assert year_ is not None
        targets = cls.check(command)
        return cls._create(cls.Set, id=cls.id_for(ctx.tenant_id, year_), tenant_id=ctx.tenant_id,
                           meta=ctx.meta(), timestamp=ctx.at, year=year_,
                           targets=targets.as_dict())

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], year: int,
                 targets: dict[str, int]) -> None:
        self.tenant_id = tenant_id
        self.year = year
        self.targets = YearTargets(**targets)

    def change(self, ctx: Context, command: SetTenantTargets) -> bool:
        targets = self.check(command)
        if targets == self.targets:
            return False
        self._emit(self.Changed, ctx, targets=targets.as_dict())
        return True


PERIOD_FIELDS = ("recognized_tenant_level", "recognized_province_level", "maintained_models")

TERM_DEFAULTS: dict[str, dict[str, int]] = {
    TenantKind.COMMUNE: {"recognized_tenant_level": 10, "recognized_province_level": 2,
                         "maintained_models": 70},
    TenantKind.WARD: {"recognized_tenant_level": 10, "recognized_province_level": 2,
                      "maintained_models": 70},
    TenantKind.SPECIAL_ZONE: {"recognized_tenant_level": 10, "recognized_province_level": 2,
                              "maintained_models": 70},
    TenantKind.AGENCY: {"recognized_tenant_level": 0, "recognized_province_level": 0,
                        "maintained_models": 0},
}
"""A multi-year period's targets where none were set (``SetPeriodTargets``): those of the
movement's 2026–2030 term for a commune, ward or special zone (at least 10 recognised at its
own level and 2 at the province's, 70 models maintained); none for an agency."""


def effective_period_targets(kind: str, own: dict[str, int] | None) -> dict[str, int]:
    """A tenant's own period targets, else the term's defaults for its kind."""
    return dict(own) if own is not None else dict(TERM_DEFAULTS[kind])


class PeriodTargets(TenantAggregate):
    """Multi-year targets, e.g. 2026–2030: 10 ward-level, 2 province-level, maintain 70."""

    start_year: int
    end_year: int
    targets: dict[str, int]

    @staticmethod
    def id_for(tenant_id: str, start_year: int, end_year: int) -> uuid.UUID:
        return derive_id("period-targets", tenant_id, start_year, end_year)

    class Set(TenantAggregate.Created):
        start_year: int
        end_year: int
        targets: dict[str, int]

    class Changed(TenantAggregate.Event):
        targets: dict[str, int]

        def apply(self, agg: PeriodTargets) -> None:
            agg.targets = dict(self.targets)

    @staticmethod
    def check(command: SetPeriodTargets) -> dict[str, int]:
        errors = Errors()
        start = check_year(errors, command.start_year, "start_year")
        end = check_year(errors, command.end_year, "end_year")
        if start is not None and end is not None and not start < end <= start + 10:
            errors.add("end_year", "must be after start_year, at most 10 years later")
        targets = {name: getattr(command, name) for name in PERIOD_FIELDS}
        for name, value in targets.items():
            errors.integer(name, value, maximum=MAX_TARGET)
        errors.raise_if_any()
        return targets

    @classmethod
    def set_first(cls, ctx: Context, command: SetPeriodTargets) -> PeriodTargets:
        targets = cls.check(command)
        return cls._create(cls.Set,
                           id=cls.id_for(ctx.tenant_id, command.start_year, command.end_year),
                           tenant_id=ctx.tenant_id, meta=ctx.meta(), timestamp=ctx.at,
                           start_year=command.start_year, end_year=command.end_year,
                           targets=targets)

    def __init__(self, *, tenant_id: str, meta: dict[str, Any], start_year: int, end_year: int,
                 targets: dict[str, int]) -> None:
        self.tenant_id = tenant_id
        self.start_year = start_year
        self.end_year = end_year
        self.targets = dict(targets)

    def change(self, ctx: Context, command: SetPeriodTargets) -> bool:
        targets = self.check(command)
        if targets == self.targets:
            return False
        self._emit(self.Changed, ctx, targets=targets)
        return True
