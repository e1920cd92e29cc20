"""The public registry (API.md "Public registry"): recognised, not revoked models, by
province, tenant, field and year, for anyone, with no personal data.

Read through the read models' own questions (``directory.read``, ``models.read``): the
recognition registry, the models' rows and forms, the tenants and units. An exemplar's
personal details live only in the vault, which this never opens; of the registration form
only the summary fields below are shown.

    page = recognized_models(pool, catalogue, RegistryQuery(province="15", year=2026))
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from danvan.domain.base import InvalidInput
from danvan.domain.clock import vietnam_date
from danvan.domain.registration_form import Field
from danvan.domain.targets import FIRST_YEAR, LAST_YEAR
from danvan.infra.catalogue import Catalogue
from danvan.projections.directory.read import province_tenants, units_by_id
from danvan.projections.models.read import models_by_id, recognitions_by_tenant
from danvan.projections.queries import scoped

PAGE_SIZE = 50
MAX_PAGE = 1000
SUMMARY_FIELDS = ("problem", "goals", "content", "area", "outputs", "start_date", "end_date")
"""What of the registration form the public sees: what the model does, where and with what
result; never who the exemplar is (that is only in the vault)."""
LEVEL_RANK = {"province": 2, "tenant": 1}


@dataclass(frozen=True)
class RegistryQuery:
    province: str | None = None
    year: int | None = None
    field: str | None = None
    tenant: str | None = None
    page: int = 1

    def checked(self, catalogue: Catalogue, today: date) -> RegistryQuery:
        """Bounded and defaulted: the current year (Vietnam) when none is given."""
        errors: dict[str, str] = {}
        if self.province is not None and catalogue.province(self.province) is None:
            errors["province"] = "no such province in the official catalogue"
        year = self.year if self.year is not None else today.year
        if not FIRST_YEAR <= year <= LAST_YEAR:
            errors["year"] = f"a year between {FIRST_YEAR} and {LAST_YEAR}"
        if self.field is not None and self.field not in {f.value for f in Field}:
            errors["field"] = "one of " + ", ".join(f.value for f in Field)
        if self.tenant is not None and (len(self.tenant) > 64 or not self.tenant.isprintable()):
            errors["tenant"] = "a tenant's id or official code"
        if not 1 <= self.page <= MAX_PAGE:
            errors["page"] = f"a page between 1 and {MAX_PAGE}"
        if errors:
            raise InvalidInput(errors)
        return RegistryQuery(self.province, year, self.field, self.tenant, self.page)


@dataclass(frozen=True)
class RegistryEntry:
    model_id: str
    name: str
    year: int
    field: str | None
    kind: str
    level: str
    decision_number: str
    decision_date: date
    province_code: str
    province_name: str
    tenant_id: str
    tenant_code: str
    tenant_name: str
    unit_name: str
    summary: dict[str, str]


@dataclass(frozen=True)
class RegistryPage:
    query: RegistryQuery
    entries: list[RegistryEntry]
    total: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def recognized_models(pool: Any, catalogue: Catalogue, query: RegistryQuery,
                      *, today: date | None = None) -> RegistryPage:
    query = query.checked(catalogue, today or vietnam_date(datetime.now(UTC)))
    provinces = ([query.province] if query.province is not None
                 else [p.code for p in catalogue.provinces()])
    with pool.connection() as conn, scoped(conn, province_codes=provinces):
        tenants = {t.id: t for code in provinces for t in province_tenants(conn, code)}
        if query.tenant is not None:
            tenants = {i: t for i, t in tenants.items() if query.tenant in (t.id, t.code)}
        registry = recognitions_by_tenant(conn, list(tenants), year=query.year,
                                          include_revoked=False)
        best: dict[str, Any] = {}
        for rows in registry.values():
            for row in rows:
                if query.field is not None and row.field != query.field:
                    continue
                held = best.get(row.model_id)
                if held is None or LEVEL_RANK.get(row.level, 0) > LEVEL_RANK.get(held.level, 0):
                    best[row.model_id] = row
        ordered = sorted(best.values(), key=lambda r: (
            -LEVEL_RANK.get(r.level, 0), tenants[r.tenant_id].province_code,
            tenants[r.tenant_id].code, r.model_name, r.model_id))
        start = (query.page - 1) * PAGE_SIZE
        shown = ordered[start:start + PAGE_SIZE]
        models = models_by_id(conn, [r.model_id for r in shown])
        units = units_by_id(conn, list({m.unit_id for m in models.values()}))
    entries = []
    for row in shown:
        model = models.get(row.model_id)
        if model is None:
            continue
        tenant = tenants[row.tenant_id]
        province = catalogue.province(tenant.province_code)
        unit = units.get(model.unit_id)
        entries.append(RegistryEntry(
            model_id=row.model_id, name=model.name, year=model.year, field=model.field,
            kind=model.kind, level=row.level, decision_number=row.decision_number,
            decision_date=row.decision_date, province_code=tenant.province_code,
            province_name=province.name if province else tenant.province_code,
            tenant_id=tenant.id, tenant_code=tenant.code, tenant_name=tenant.name,
            unit_name=unit.name if unit else "",
            summary={k: str(model.form[k]) for k in SUMMARY_FIELDS if model.form.get(k)}))
    return RegistryPage(query, entries, len(ordered))


@dataclass
class RegistryCache:
    """The answers of the last ``seconds``, per query: the public registry is read by many
    and changes by decisions, a few a day. Bounded to ``max_entries`` queries."""

    seconds: float = 30.0
    max_entries: int = 512
    clock: Callable[[], float] = time.monotonic
    _kept: dict[RegistryQuery, tuple[float, RegistryPage]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, query: RegistryQuery, compute: Callable[[], RegistryPage]) -> RegistryPage:
        now = self.clock()
        with self._lock:
            kept = self._kept.get(query)
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        answer = compute()
        with self._lock:
            if len(self._kept) >= self.max_entries:
                self._kept.clear()
            self._kept[query] = (now, answer)
        return answer
