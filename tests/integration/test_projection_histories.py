"""Random valid histories for the projection tests, made by driving the domain's aggregates
and saving every command's events with the real event store (so the log is what the service
would write), plus helpers to dump and reset the read models.

A history is a list of steps ``(operation, pick, hours)``: the clock moves ``hours`` ahead,
then the operation is applied to the ``pick``-th candidate in a state that allows it (a
refused command appends nothing, as in the service). Hypothesis shrinks such lists well.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from hypothesis import strategies as st
from psycopg import sql

from danvan.domain.base import Actor, Context, DomainError
from danvan.domain.clock import vietnam_date
from danvan.domain.commands import (
    AcceptModel,
    AddUnit,
    AmendModel,
    ApproveList,
    CloseUnit,
    CompletePlanTask,
    DiscontinueModel,
    ErasePersonalData,
    EvaluateModel,
    InspectModel,
    Level,
    MaintainModel,
    ModelCommand,
    NominateModel,
    OnboardTenant,
    PersonDetails,
    ProposeModel,
    ReceiveCopy,
    RecognizeModel,
    RegisterModel,
    RegistrationForm,
    RejectModel,
    ReportProgress,
    ReturnModel,
    RevokeRecognition,
    SchedulePlanTask,
    SelfAssessModel,
    SetPeriodTargets,
    SetProvinceTargets,
    SetTenantTargets,
    SubmitModel,
    rule_of,
)
from danvan.domain.evaluation import COLLECTIVE_CRITERIA, PERSON_CRITERIA
from danvan.domain.model import Model, State
from danvan.domain.plans import PlanTask
from danvan.domain.policies import province_scope
from danvan.domain.registration_form import Field, ModelKind
from danvan.domain.targets import (
    PeriodTargets,
    ProvinceTargets,
    TenantTargets,
    YearTargets,
    effective_targets,
)
from danvan.domain.tenants import Tenant, TenantKind
from danvan.domain.units import Unit, UnitKind
from danvan.domain.year_lists import YearList
from danvan.infra.database import connect_owner
from danvan.infra.event_store import EventStore, open_event_store
from danvan.infra.settings import Settings
from danvan.projections.catalog import all_projections
from danvan.projections.directory.read import tenants_by_id
from danvan.projections.embedded import make_runner
from danvan.projections.models.read import quotas
from danvan.projections.models.rows import TenantQuota
from danvan.projections.schema import ensure_read_models, versions

PROVINCE = "15"
WARD_CODES = ("02647", "02668", "02671")  # catalogue codes of Lào Cai (province 15)
START = datetime(2025, 12, 10, 2, 0, tzinfo=UTC)
FIELDS = ("party_building", "economy", "culture_society", "defense_security",
          "digital_transformation")
UNIT_KINDS = ("party_cell", "front", "mass_org", "school", "police", "military")

MODEL_OPS = ("advance", "advance", "advance", "advance", "submit", "accept", "progress",
             "self_assess", "evaluate", "propose", "recognize_tenant", "nominate",
             "recognize_province", "revoke", "discontinue", "maintain", "return", "reject",
             "amend", "inspect", "copy", "erase")
OTHER_OPS = ("onboard", "add_unit", "add_unit", "close_unit", "register", "register",
             "register", "tenant_targets", "province_targets", "period_targets", "task",
             "approve_list")
OPS = MODEL_OPS + MODEL_OPS + OTHER_OPS

DEEP_HISTORY: list[tuple[str, int, int]] = [
    ("onboard", 0, 2), ("onboard", 0, 2), ("province_targets", 1, 3),
    ("province_targets", 2, 1), ("add_unit", 0, 2), ("add_unit", 1, 2), ("add_unit", 4, 2),
    ("add_unit", 2, 2), ("tenant_targets", 5, 4), ("tenant_targets", 7, 1),
    ("register", 0, 20), ("register", 1, 20), ("register", 2, 20), ("register", 3, 20),
    ("period_targets", 2, 6), ("period_targets", 4, 6), ("task", 0, 5),
    *[("advance", 1, 40)] * 8, ("progress", 0, 30), *[("advance", 1, 30)] * 8,
    ("revoke", 0, 40), ("nominate", 0, 20), ("recognize_province", 0, 20),
    *[("advance", 1, 30)] * 2, ("revoke", 1, 20), *[("advance", 1, 30)] * 4,
    ("maintain", 0, 30), ("close_unit", 3, 30),
    ("tenant_targets", 7, 30), ("province_targets", 2, 30), ("period_targets", 3, 40),
    ("task", 1, 40), ("approve_list", 0, 30), ("discontinue", 1, 30), ("erase", 0, 30),
    ("register", 6, 30), ("register", 7, 30), *[("advance", 1, 200)] * 10,
    ("progress", 2, 30), ("maintain", 1, 30), ("recognize_tenant", 0, 30),
]
"""A long history that reaches every kind of event (recognitions at both levels, revocations,
maintenance, closures, target changes across a year end); an explicit example for the
property tests."""

step_strategy = st.tuples(st.sampled_from(OPS), st.integers(0, 1000), st.integers(0, 96))
history_strategy = st.lists(step_strategy, min_size=10, max_size=70)


def registration(unit: Unit, name: str, field_: str, year: int,
                 kind: ModelKind = ModelKind.COLLECTIVE) -> RegisterModel:
    return RegisterModel(
        str(unit.id), year, name, kind, Field(field_), RegistrationForm(
            problem="Đường liên thôn xuống cấp", goals="Bê tông hóa 2 km đường",
            content="Vận động Nhân dân hiến đất", area="Tổ dân phố 5", implementers="Chi bộ",
            resources="Nhân dân đóng góp", start_date=date(year, 1, 1),
            end_date=date(year, 12, 31), outputs="2 km đường",
            sustainability="Tổ tự quản duy trì"),
        PersonDetails("Lò Thị Mai", 1972) if kind == ModelKind.INDIVIDUAL else None)


def scores(kind: str, passing: bool) -> dict[str, Decimal]:
    criteria = PERSON_CRITERIA if kind == "individual" else COLLECTIVE_CRITERIA
    return dict.fromkeys(criteria, Decimal(85 if passing else 40))


@dataclass
class World:
    """Domain aggregates of one province, saved as they change."""

    store: EventStore
    now: datetime = START
    tenants: list[Tenant] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    models: list[Model] = field(default_factory=list)
    tenant_targets: dict[tuple[str, int], TenantTargets] = field(default_factory=dict)
    province_targets: dict[int, ProvinceTargets] = field(default_factory=dict)
    periods: dict[tuple[str, int], PeriodTargets] = field(default_factory=dict)
    tasks: list[PlanTask] = field(default_factory=list)
    lists: set[tuple[str, int]] = field(default_factory=set)
    serial: int = 0
    applied: int = 0

    def ctx(self, role: str, tenant_id: str) -> Context:
        self.serial += 1
        return Context(tenant_id=tenant_id, actor=Actor(f"user-{role}-{self.serial % 3}", role),
                       at=self.now, correlation_id=f"corr-{self.serial}",
                       causation_id=f"cause-{self.serial}", request_id=f"req-{self.serial}")

    @property
    def year(self) -> int:
        return vietnam_date(self.now).year

    def run(self, steps: list[tuple[str, int, int]]) -> World:
        for op, pick, hours in steps:
            self.now += timedelta(hours=hours)
            with contextlib.suppress(DomainError):
                if self.apply(op, pick):
                    self.applied += 1
        return self

    def apply(self, op: str, pick: int) -> bool:
        if op in MODEL_OPS:
            return self.act_on_model(op, pick)
        return getattr(self, f"op_{op}")(pick)

    def _pick(self, items: list[Any], pick: int) -> Any:
        return items[pick % len(items)] if items else None

    # --- tenants, units, targets, plans -------------------------------------------------

    def op_onboard(self, pick: int) -> bool:
        if len(self.tenants) >= len(WARD_CODES) + 1:
            return False
        ctx = self.ctx("province_admin", province_scope(PROVINCE))
        if len(self.tenants) < len(WARD_CODES):
            tenant = Tenant.onboard(ctx, OnboardTenant(
                WARD_CODES[len(self.tenants)], f"Phường {len(self.tenants)}", TenantKind.WARD,
                PROVINCE))
        else:
            tenant = Tenant.onboard(ctx, OnboardTenant("SO-NV", "Sở Nội vụ", TenantKind.AGENCY,
                                                       PROVINCE))
        self.store.save(tenant)
        self.tenants.append(tenant)
        return True

    def op_early_unit(self, pick: int) -> bool:
        """A unit of the next ward to be onboarded, stored before the ward's onboarding (the
        log allows it): the ward's first rows precede its province (not in ``OPS``)."""
        if len(self.tenants) >= len(WARD_CODES):
            return False
        tenant_id = str(Tenant.id_for(TenantKind.WARD, PROVINCE, WARD_CODES[len(self.tenants)]))
        unit = Unit.add(self.ctx("tenant_admin", tenant_id),
                        AddUnit(f"Chi bộ {len(self.units)}", UnitKind.PARTY_CELL, False))
        self.store.save(unit)
        self.units.append(unit)
        return True

    def op_add_unit(self, pick: int) -> bool:
        tenant = self._pick(self.tenants, pick)
        if tenant is None:
            return self.op_onboard(pick)
        kind = UNIT_KINDS[pick % len(UNIT_KINDS)]
        unit = Unit.add(self.ctx("tenant_admin", str(tenant.id)),
                        AddUnit(f"Chi bộ {len(self.units)}", UnitKind(kind),
                                kind in ("police", "military")))
        self.store.save(unit)
        self.units.append(unit)
        return True

    def op_close_unit(self, pick: int) -> bool:
        unit = self._pick([u for u in self.units if not u.closed], pick)
        if unit is None:
            return False
        unit.close(self.ctx("tenant_admin", unit.tenant_id), CloseUnit("Sáp nhập"))
        self.store.save(unit)
        return True

    def op_register(self, pick: int) -> bool:
        unit = self._pick([u for u in self.units if not u.closed], pick)
        if unit is None:
            return self.op_add_unit(pick)
        year = self.year + (1 if pick % 7 == 0 else 0)
        kind = ModelKind.INDIVIDUAL if pick % 5 == 0 else ModelKind.COLLECTIVE
        command = registration(unit, f"Mô hình {len(self.models)} đường Đoàn", FIELDS[pick % 5],
                               year, kind)
        sealed = {"person_key_id": f"key-{len(self.models)}", "person_token": "sealed"} \
            if kind == ModelKind.INDIVIDUAL else {}
        model = Model.register(self.ctx("unit_user", unit.tenant_id), unit, command, **sealed)
        self.store.save(model)
        self.models.append(model)
        return True

    def _targets(self, pick: int) -> YearTargets:
        return YearTargets(new_models=pick % 4, recognized_tenant_level=pick % 3,
                           recognized_province_level=pick % 2, per_unit_minimum=pick % 3)

    def op_tenant_targets(self, pick: int) -> bool:
        tenant = self._pick(self.tenants, pick)
        if tenant is None:
            return False
        key = (str(tenant.id), self.year)
        ctx = self.ctx("tenant_admin", key[0])
        agg = self.tenant_targets.get(key)
        if agg is None:
            agg = TenantTargets.set_first(ctx, SetTenantTargets(self.year, self._targets(pick)))
            self.tenant_targets[key] = agg
        elif not agg.change(ctx, SetTenantTargets(self.year, self._targets(pick // 3))):
            return False
        self.store.save(agg)
        return True

    def op_province_targets(self, pick: int) -> bool:
        ctx = self.ctx("province_admin", province_scope(PROVINCE))
        kinds = (TenantKind.WARD, TenantKind.AGENCY) if pick % 2 else (TenantKind.WARD,)
        command = SetProvinceTargets(PROVINCE, self.year, {
            k: self._targets(pick + i) for i, k in enumerate(kinds)})
        agg = self.province_targets.get(self.year)
        if agg is None:
            agg = ProvinceTargets.set_first(ctx, command)
            self.province_targets[self.year] = agg
        elif not agg.change(ctx, command):
            return False
        self.store.save(agg)
        return True

    def op_period_targets(self, pick: int) -> bool:
        tenant = self._pick(self.tenants, pick)
        if tenant is None:
            return False
        start = self.year - pick % 2
        key = (str(tenant.id), start)
        ctx = self.ctx("tenant_admin", key[0])
        command = SetPeriodTargets(start, start + 4, recognized_tenant_level=pick % 4,
                                   recognized_province_level=pick % 2,
                                   maintained_models=pick % 3)
        agg = self.periods.get(key)
        if agg is None:
            agg = PeriodTargets.set_first(ctx, command)
            self.periods[key] = agg
        elif not agg.change(ctx, command):
            return False
        self.store.save(agg)
        return True

    def op_task(self, pick: int) -> bool:
        open_tasks = [t for t in self.tasks if t.completed_on is None]
        if open_tasks and pick % 2:
            task = self._pick(open_tasks, pick)
            task.complete(self.ctx("reviewer", task.tenant_id), CompletePlanTask("Xong"))
        else:
            tenant = self._pick(self.tenants, pick)
            if tenant is None:
                return False
            task = PlanTask.schedule(self.ctx("reviewer", str(tenant.id)), SchedulePlanTask(
                self.year, f"Nhiệm vụ {len(self.tasks)}",
                vietnam_date(self.now) + timedelta(days=pick % 40)))
            self.tasks.append(task)
        self.store.save(task)
        return True

    def op_approve_list(self, pick: int) -> bool:
        tenant = self._pick(self.tenants, pick)
        if tenant is None or (str(tenant.id), self.year) in self.lists:
            return False
        agg = YearList.approve(self.ctx("approver", str(tenant.id)),
                               ApproveList(self.year, f"{pick}/QĐ"))
        self.lists.add((str(tenant.id), self.year))
        self.store.save(agg)
        return True

    # --- models ---------------------------------------------------------------------------

    NEXT: ClassVar[dict[State, str]] = {
        State.DRAFT: "submit", State.RETURNED: "submit", State.SUBMITTED: "accept",
        State.ACCEPTED: "self_assess", State.SELF_ASSESSED: "evaluate",
        State.EVALUATED: "propose", State.PROPOSED: "recognize_tenant",
        State.RECOGNIZED_TENANT: "nominate", State.NOMINATED: "recognize_province"}

    def act_on_model(self, op: str, pick: int) -> bool:
        chosen: Model | None = None
        if op == "advance":  # the next natural step of some model, to reach deep states
            movable = [m for m in self.models if m.state in self.NEXT]
            # Mostly the oldest movable model, so that some go all the way.
            chosen = self._pick(movable, 0 if pick % 3 else pick)
            if chosen is None:
                return self.op_register(pick)
            op = self.NEXT[chosen.state]
            if op == "submit" and chosen.vertical_line:
                op = "copy"
        today = vietnam_date(self.now)
        level = Level.TENANT if pick % 2 else Level.PROVINCE
        commands: dict[str, Callable[[Model], tuple[ModelCommand, str]]] = {
            "submit": lambda m: (SubmitModel(), "unit_user"),
            "copy": lambda m: (ReceiveCopy(), "reviewer"),
            "accept": lambda m: (AcceptModel(), "reviewer"),
            "return": lambda m: (ReturnModel("Bổ sung"), "reviewer"),
            "reject": lambda m: (RejectModel("Trùng"), "reviewer"),
            "amend": lambda m: (AmendModel(field=Field(FIELDS[(pick // 5) % 5]),
                                           form=RegistrationForm(goals=f"Mục tiêu {pick}")),
                                "unit_user"),
            "progress": lambda m: (ReportProgress(
                f"{m.year + pick % 2}-Q{1 + pick % 4}", participants=pick, workdays=pick * 2,
                money_vnd=Decimal(f"{pick * 1000}.5"), land_m2=Decimal(f"{pick}.25"),
                note="Tiến độ"), "unit_user"),
            "inspect": lambda m: (InspectModel("Tốt"), "reviewer"),
            "self_assess": lambda m: (SelfAssessModel("Đạt"), "unit_user"),
            "evaluate": lambda m: (EvaluateModel(scores(m.kind, pick % 4 != 3)), "reviewer"),
            "propose": lambda m: (ProposeModel(), "reviewer"),
            "recognize_tenant": lambda m: (RecognizeModel(Level.TENANT, f"{pick}/QĐ-UBND",
                                                          today), "approver"),
            "nominate": lambda m: (NominateModel(), "approver"),
            "recognize_province": lambda m: (RecognizeModel(Level.PROVINCE, f"{pick}/QĐ-TU",
                                                            today), "province_admin"),
            "revoke": lambda m: (RevokeRecognition(level, "Không còn hiệu quả"),
                                 "approver" if level == Level.TENANT else "province_admin"),
            "discontinue": lambda m: (DiscontinueModel("Dừng"), "reviewer"),
            "maintain": lambda m: (MaintainModel(max(m.list_years or (m.year,)) + 1),
                                   "reviewer"),
            "erase": lambda m: (ErasePersonalData("Yêu cầu"), "tenant_admin"),
        }
        if op == "erase":
            candidates = [m for m in self.models if m.kind == "individual" and not m.person_erased]
        else:
            allowed = {m.id: rule_of(commands[op](m)[0]).allowed_from for m in self.models}
            candidates = [m for m in self.models if m.state in allowed[m.id]]
        model: Model | None = chosen or self._pick(candidates, pick)
        if model is None:
            return False
        command, role = commands[op](model)
        version = model.version
        model.handle(command, self.ctx(role, model.tenant_id))
        if model.version == version and not model.pending_events:
            return False
        self.store.save(model)
        return True

    # --- what the quotas must be, computed from the aggregates ----------------------------

    def expected_quota(self, tenant: Tenant, year: int) -> dict[str, int]:
        tid = str(tenant.id)
        province = self.province_targets.get(year)
        own = self.tenant_targets.get((tid, year))
        targets: YearTargets = effective_targets(tenant.kind,
                                                 province.defaults if province else None,
                                                 own.targets if own else None)
        mine = [m for m in self.models if m.tenant_id == tid and m.year == year]
        submitted: dict[str, int] = {}
        for m in mine:
            if m.submitted_ever:
                submitted[m.unit_id] = submitted.get(m.unit_id, 0) + 1
        lacking = sum(1 for u in self.units if u.tenant_id == tid and not u.closed
                      and submitted.get(str(u.id), 0) < targets.per_unit_minimum)
        return {
            "new_models": sum(1 for m in mine if m.accepted),
            "recognized_tenant_level": sum(1 for m in mine if "tenant" in m.recognitions),
            "recognized_province_level": sum(1 for m in mine if "province" in m.recognitions),
            "maintained_models": sum(1 for m in self.models if m.tenant_id == tid
                                     and year in m.list_years[1:]),
            "discontinued_models": sum(1 for m in mine if m.state == State.DISCONTINUED),
            "units_without_registration": lacking,
            "new_models_target": targets.new_models,
            "recognized_tenant_level_target": targets.recognized_tenant_level,
            "recognized_province_level_target": targets.recognized_province_level,
        }

    def years(self) -> list[int]:
        return sorted({m.year for m in self.models} | {self.year, START.year + 1})


# --- read-model helpers --------------------------------------------------------------------

def dump(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table, through the readers' views, in a stable order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for projection in all_projections():
        for table in projection.tables:
            rows = conn.execute(sql.SQL("SELECT * FROM {}").format(
                sql.Identifier("danvan_read", table))).fetchall()
            tables[table] = sorted(rows, key=repr)
    return tables


def tenant_quota(conn: psycopg.Connection[Any], tenant_id: str, year: int, *,
                 as_of: datetime | None = None, now: datetime | None = None
                 ) -> TenantQuota | None:
    """One tenant's quota through the batched read API (a batch of one); None when the tenant
    was not onboarded by ``as_of``."""
    tenants = list(tenants_by_id(conn, [tenant_id], as_of=as_of).values())
    found = quotas(conn, tenants, year, as_of=as_of, now=now)
    return found[0] if found else None


def projected(settings: Settings, event_store: EventStore,
              history: list[tuple[str, int, int]] = DEEP_HISTORY) -> World:
    """``history`` written, and every read model created and caught up with it."""
    world = World(event_store).run(history)
    with connect_owner(settings) as conn:
        ensure_read_models(conn, settings.app_db_role)
    runner = make_runner(settings)
    runner.catch_up()
    runner.close()
    return world


def reset_read_models(conn: psycopg.Connection[Any], app_role: str) -> None:
    """Drop every version and start again from empty tables at position 0."""
    for version in versions(conn):
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            sql.Identifier(version.schema)))
    conn.execute("DELETE FROM public.danvan_projection_versions")
    conn.execute("DELETE FROM public.danvan_projections")
    ensure_read_models(conn, app_role)


def positions(conn: psycopg.Connection[Any]) -> dict[str, int]:
    return {v.name: v.position for v in versions(conn) if v.status == "active"}


@contextlib.contextmanager
def written_history(admin_params: Any, template: str, tmp: Path,
                    steps: list[tuple[str, int, int]]) -> Iterator[tuple[Settings, World]]:
    """``steps`` written through the event store into a migrated database of their own
    (hypothesis examples share their test's fixtures); its settings and the world."""
    from tests.conftest import make_settings, migrated_database

    with migrated_database(admin_params, template) as url:
        config = make_settings(url, tmp)
        store = open_event_store(config)
        try:
            world = World(store).run(steps)
        finally:
            store.close()
        yield config, world


# --- the generator itself ------------------------------------------------------------------

def test_a_generated_history_reaches_deep_states(event_store: EventStore) -> None:
    steps = [("onboard", 0, 1), ("add_unit", 0, 1), ("register", 1, 1)]
    steps += [(op, 0, 2) for op in ("submit", "accept", "self_assess", "evaluate", "propose",
                                    "recognize_tenant", "nominate", "recognize_province")]
    world = World(event_store).run(steps)
    assert world.models[0].state == State.RECOGNIZED_PROVINCE
    assert world.applied == len(steps)
