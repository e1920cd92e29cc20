"""``danvan demo``: a realistic year of the movement in Lào Cai, written through the domain.

Every event comes from the real aggregates, asked by the domain's own commands (so it passes
every rule); accounts and exemplars are made by the services' own paths (the one password
rule, the one sealing of personal data). The events are stored in the order of their
timestamps, so the audit trail, time travel and the hash chain read like a real year. The
accounts it creates share one password, printed on the terminal; loading refuses to run in
production.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from eventsourcing.application import Application

from danvan.backend.demo_story import (
    AGENCIES,
    AGENCY_UNITS,
    EXEMPLARS,
    MODEL_NAMES,
    PLACES,
    PLAN_TASKS,
    UNITS,
)
from danvan.backend.services.models import registered_model
from danvan.backend.services.people import Hasher, NewUser, registered_user
from danvan.domain.base import Actor, Context, TenantAggregate
from danvan.domain.clock import VIETNAM
from danvan.domain.commands import (
    AcceptModel,
    AddUnit,
    AmendModel,
    ApproveList,
    CompletePlanTask,
    CompleteUnitTask,
    DiscontinueModel,
    EvaluateModel,
    InspectModel,
    Level,
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
    SchedulePlanTask,
    SelfAssessModel,
    SetPeriodTargets,
    SetProvinceTargets,
    SubmitModel,
)
from danvan.domain.model import Model
from danvan.domain.plans import PlanTask
from danvan.domain.policies import Role, RoleGrant, SpecialRole, province_scope
from danvan.domain.registration_form import Field, ModelKind
from danvan.domain.targets import BUILT_IN_DEFAULTS, PeriodTargets, ProvinceTargets
from danvan.domain.tenants import Tenant, TenantKind
from danvan.domain.units import Unit, UnitKind
from danvan.domain.year_lists import YearList
from danvan.infra.catalogue import Catalogue
from danvan.infra.personal_data import PersonalDataVault
from danvan.infra.settings import Settings

A = TypeVar("A", bound=TenantAggregate)

PROVINCE = "15"
SHOWCASE = "04252"  # phường Yên Bái, whose plan is in shared/seeds
DEMO_PASSWORD = "dan-van-kheo-2026"
DEMO_NAMES = {
    "admin.laocai": "Hoàng Văn Tỉnh", "phantich.laocai": "Giàng Thị Phân",
    "quantri.yenbai": "Nguyễn Văn Quản", "bxdd.yenbai": "Hà Thị Xây",
    "thuongtruc.yenbai": "Vũ Văn Trực", "bithu.to1.yenbai": "Lò Văn Bí",
    "thanhtra.yenbai": "Đặng Thị Tra",
}
"""Full names of the demo accounts, as the tenant page lists them."""
SCORES = ("effectiveness", "creativity", "participation", "replicability", "political_tie",
          "planning")
PERSON_SCORES = ("reputation", "ethics", "responsibility", "mobilisation")


@dataclass
class DemoSummary:
    year: int
    password: str = DEMO_PASSWORD
    tenants: int = 0
    units: int = 0
    models: int = 0
    events: int = 0
    accounts: list[tuple[str, str]] = field(default_factory=list)


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    run: Callable[[Context], TenantAggregate | None] = field(compare=False)
    role: str = field(compare=False, default=SpecialRole.SYSTEM)
    scope: str = field(compare=False, default="")


class Timeline:
    """Steps in time order; saved so that insertion order equals timestamp order."""

    def __init__(self, store: Application, end: datetime, batch: int = 400) -> None:
        self.store = store
        self.end = end
        self.batch = batch
        self.heap: list[Step] = []
        self.seq = 0
        self.events = 0

    def at(self, when: datetime, run: Callable[[Context], TenantAggregate | None],
           role: str, scope: str) -> bool:
        if when > self.end:
            return False
        self.seq += 1
        heapq.heappush(self.heap, Step(when, self.seq, run, role, scope))
        return True

    def play(self) -> None:
        dirty: dict[uuid.UUID, TenantAggregate] = {}
        while self.heap:
            step = heapq.heappop(self.heap)
            ctx = Context(tenant_id=step.scope, actor=Actor("demo", step.role), at=step.at,
                          correlation_id=f"demo-{step.seq}")
            aggregate = step.run(ctx)
            if aggregate is None or not aggregate.pending_events:
                continue
            if (aggregate.id in dirty and len(aggregate.pending_events) > 1) or \
                    len(dirty) >= self.batch:
                # This step's event comes after everything dirty: hold it back, save the rest.
                held = aggregate.pending_events.pop()
                self._flush(dirty)
                aggregate.pending_events.append(held)
            dirty[aggregate.id] = aggregate
        self._flush(dirty)

    def _flush(self, dirty: dict[uuid.UUID, TenantAggregate]) -> None:
        """Saves with at most one pending event per aggregate, oldest first."""
        ready = sorted((a for a in dirty.values() if a.pending_events),
                       key=lambda a: a.pending_events[0].timestamp)
        self.events += len(ready)
        self.store.save(*ready)
        dirty.clear()


def created(aggregate: TenantAggregate) -> Callable[[Context], TenantAggregate]:
    """A step that stores an aggregate created (with its first event) when scheduling."""
    return lambda _ctx: aggregate


def doing(aggregate: A, act: Callable[[A, Context], object]
          ) -> Callable[[Context], TenantAggregate]:
    """A step that runs one command on an aggregate at the step's time."""
    def run(ctx: Context) -> TenantAggregate:
        act(aggregate, ctx)
        return aggregate
    return run


def part_done(unit_id: str) -> Callable[[PlanTask, Context], None]:
    return lambda task, ctx: task.complete_unit(
        ctx, CompleteUnitTask(unit_id, "Đã ban hành kế hoạch của đơn vị"))


def acting(command: ModelCommand) -> Callable[[Model, Context], None]:
    return lambda model, ctx: model.handle(command, ctx)


def _day(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=VIETNAM)


class DemoYear:
    def __init__(self, store: Application, vault: PersonalDataVault | None,
                 catalogue: Catalogue, hash_password: Hasher, *, year: int,
                 now: datetime, seed: int = 2026, tenant_limit: int | None = None) -> None:
        self.tenant_limit = tenant_limit
        self.store = store
        self.vault = vault
        self.catalogue = catalogue
        self.year = year
        self.rng = random.Random(seed)
        self.timeline = Timeline(store, end=min(now, _day(year, 12, 28)))
        self.hash_password = hash_password
        self.summary = DemoSummary(year)
        self.tenants: dict[str, Tenant] = {}
        self.units: dict[str, list[Unit]] = {}

    def days_after(self, start: datetime, low: int, high: int) -> datetime:
        return start + timedelta(days=self.rng.randint(low, high),
                                 minutes=self.rng.randint(0, 480))

    # --- the province and its accounts -----------------------------------------------------

    def province(self) -> None:
        start = _day(self.year, 1, 2)
        scope = province_scope(PROVINCE)
        defaults = SetProvinceTargets(PROVINCE, self.year,
                                      {TenantKind(k): t for k, t in BUILT_IN_DEFAULTS.items()})
        self.timeline.at(start, lambda ctx: ProvinceTargets.set_first(ctx, defaults),
                         Role.PROVINCE_ADMIN, scope)
        for username, role in (("admin.laocai", Role.PROVINCE_ADMIN),
                               ("phantich.laocai", Role.PROVINCE_ANALYST)):
            self.account(start, scope, username, [RoleGrant(role, PROVINCE)])

    def account(self, when: datetime, scope: str, username: str,
                grants: list[RoleGrant]) -> None:
        self.summary.accounts.append((username, ", ".join(g.role for g in grants)))
        new = NewUser(username, DEMO_PASSWORD,
                      DEMO_NAMES.get(username, f"Tài khoản trình diễn {username}"),
                      [Role(g.role) for g in grants])
        self.timeline.at(when, lambda ctx: registered_user(ctx, new, grants, self.hash_password),
                         SpecialRole.SYSTEM, scope)

    # --- tenants, units, plans ---------------------------------------------------------------

    def tenant(self, code: str, name: str, kind: str, when: datetime) -> Tenant:
        tenant = Tenant.onboard(Context(province_scope(PROVINCE), Actor("demo", "province_admin"),
                                        when, "demo"),
                                OnboardTenant(code, name, TenantKind(kind), PROVINCE))
        self.tenants[code] = tenant
        self.timeline.at(when, created(tenant), "province_admin", province_scope(PROVINCE))
        tenant_id = str(tenant.id)
        units = []
        for unit_name, unit_kind, vertical in (AGENCY_UNITS if kind == "agency" else UNITS):
            unit = Unit.add(Context(tenant_id, Actor("demo", "tenant_admin"), when, "demo"),
                            AddUnit(unit_name, UnitKind(unit_kind), vertical))
            units.append(unit)
            self.timeline.at(when + timedelta(hours=1), created(unit), "tenant_admin", tenant_id)
        self.units[code] = units
        self.summary.tenants += 1
        self.summary.units += len(units)
        return tenant

    def showcase_extras(self, tenant: Tenant) -> None:
        tenant_id = str(tenant.id)
        when = _day(self.year, 1, 20)
        self.timeline.at(when, lambda ctx: PeriodTargets.set_first(
            ctx, SetPeriodTargets(2026, 2030, recognized_tenant_level=10,
                                  recognized_province_level=2, maintained_models=70)),
                         "tenant_admin", tenant_id)
        unit_of = {u.name: str(u.id) for u in self.units[SHOWCASE]}
        people = (("quantri.yenbai", "tenant_admin", None), ("bxdd.yenbai", "reviewer", None),
                  ("thuongtruc.yenbai", "approver", None),
                  ("bithu.to1.yenbai", "unit_user", unit_of["Chi bộ thôn/tổ dân phố số 1"]))
        for username, role, unit_id in people:
            self.account(_day(self.year, 1, 6), tenant_id, username,
                         [RoleGrant(role, PROVINCE, tenant_id, unit_id)])
        self.account(_day(self.year, 1, 6), tenant_id, "thanhtra.yenbai",
                     [RoleGrant("inspector", PROVINCE, tenant_id)])
        for title, month, day, by_units in PLAN_TASKS:
            units = tuple(unit_of.values()) if by_units else ()
            task = PlanTask.schedule(Context(tenant_id, Actor("demo", "tenant_admin"),
                                             _day(self.year, 1, 25), "demo"),
                                     SchedulePlanTask(self.year, title,
                                                      date(self.year, month, day), units))
            self.timeline.at(_day(self.year, 1, 25), created(task), "tenant_admin", tenant_id)
            if by_units:
                self.unit_parts(task, _day(self.year, month, day))
                continue
            done = self.days_after(_day(self.year, month, day), -20, 5)
            self.timeline.at(done, doing(task, lambda t, c: t.complete(
                c, CompletePlanTask("Đã hoàn thành"))),
                             "tenant_admin", tenant_id)

    def unit_parts(self, task: PlanTask, due: datetime) -> None:
        """Each unit does its part of ``task``: most on time, some late, the last two not
        yet (overdue, each on its own)."""
        rng = random.Random(self.year)  # apart from the year's draws: they stay the same
        for unit_id in task.unit_ids[:-2]:
            done = due + timedelta(days=rng.randint(-40, 12), minutes=rng.randint(0, 480))
            self.timeline.at(done, doing(task, part_done(unit_id)), "tenant_admin",
                             task.tenant_id)

    # --- models --------------------------------------------------------------------------------

    def models(self, code: str, count: int) -> None:
        tenant = self.tenants[code]
        tenant_id = str(tenant.id)
        registering = [u for u in self.units[code]]
        accepted_by = _day(self.year, 4, 5)
        for n in range(count):
            unit = registering[n % len(registering)]
            field_ = self.rng.choice(sorted(MODEL_NAMES))
            name = f"{self.rng.choice(MODEL_NAMES[field_])} ({self.rng.choice(PLACES)}, {n + 1})"
            individual = (self.vault is not None and not unit.reports_to_vertical_line
                          and self.rng.random() < 0.1)
            self.model(tenant_id, unit, name, field_, individual)
            self.summary.models += 1
        approval = ApproveList(self.year, f"{self.rng.randint(10, 99)}-QĐ/ĐU")
        self.timeline.at(self.days_after(accepted_by, 0, 10),
                         lambda ctx: YearList.approve(ctx, approval), "approver", tenant_id)

    def model(self, tenant_id: str, unit: Unit, name: str, field_: str,
              individual: bool) -> None:
        registered = self.days_after(_day(self.year, 1, 10), 0, 70)
        kind = ModelKind.INDIVIDUAL if individual else ModelKind.COLLECTIVE
        form = RegistrationForm(
            problem="Nhu cầu thực tế của Nhân dân trên địa bàn",
            goals="Huy động Nhân dân cùng tham gia, đo bằng số hộ tham gia",
            content="Tuyên truyền, vận động, làm mẫu, nhân rộng",
            area="Địa bàn " + unit.name, implementers=unit.name,
            resources="Nhân dân đóng góp, ngân sách hỗ trợ",
            start_date=registered.date(), end_date=date(self.year, 12, 31),
            outputs="Báo cáo kết quả, số liệu đo đếm được",
            sustainability="Tổ tự quản duy trì, nhân rộng")
        holder: dict[str, Model] = {}

        def register(ctx: Context) -> Model:
            person = None
            if individual:  # decided when scheduling
                person_name, birth_year = self.rng.choice(EXEMPLARS)
                person = PersonDetails(person_name, birth_year, "", unit.name)
            command = RegisterModel(str(unit.id), self.year, name, kind, Field(field_), form,
                                    person)
            holder["m"] = registered_model(self.vault, ctx, unit, command)
            return holder["m"]

        by_unit = "unit_user"
        if not self.timeline.at(registered, register, by_unit, tenant_id):
            return

        def step(after: datetime, low: int, high: int, role: str,
                 act: Callable[[Model, Context], Any]) -> datetime | None:
            when = self.days_after(after, low, high)

            def run(ctx: Context) -> Model:
                act(holder["m"], ctx)
                return holder["m"]

            return when if self.timeline.at(when, run, role, tenant_id) else None

        if unit.reports_to_vertical_line:
            step(registered, 5, 20, "reviewer", acting(ReceiveCopy()))
            return
        fate = self.rng.random()
        submitted = step(registered, 2, 10, by_unit, acting(SubmitModel()))
        if submitted is None or fate < 0.04:
            return
        if fate < 0.09:
            step(submitted, 3, 10, "reviewer",
                 acting(RejectModel("Trùng lặp với mô hình đã có")))
            return
        reviewed: datetime | None = submitted
        if fate < 0.2:
            returned = step(submitted, 3, 10, "reviewer", acting(ReturnModel(
                "Bổ sung chỉ tiêu đo lường và lộ trình")))
            amended = returned and step(returned, 2, 8, by_unit, acting(AmendModel(
                form=RegistrationForm(goals="Huy động 100% hộ tham gia, đo theo quý"))))
            reviewed = amended and step(amended, 0, 2, by_unit, acting(SubmitModel()))
        if reviewed is None:
            return
        accepted = step(reviewed, 3, 15, "reviewer", acting(AcceptModel()))
        if accepted is None:
            return
        stops = self.days_after(accepted, 60, 150) if fate > 0.97 else None
        for month in (3, 6, 9):
            quarter_end = _day(self.year, month, 28)
            if accepted < quarter_end and (stops is None or quarter_end + timedelta(days=6)
                                           < stops):
                figures = ReportProgress(
                    f"{self.year}-Q{month // 3}", participants=self.rng.randint(20, 400),
                    workdays=self.rng.randint(50, 2000),
                    money_vnd=Decimal(self.rng.randint(0, 300) * 1_000_000),
                    land_m2=Decimal(self.rng.randint(0, 40) * 25), note="Kết quả quý")
                step(quarter_end, 0, 5, by_unit, acting(figures))
        if stops is not None:
            step(stops, 0, 0, "reviewer", acting(DiscontinueModel("Không còn phù hợp")))
            return
        step(_day(self.year, 7, 1), 0, 30, "reviewer",
             acting(InspectModel("Triển khai đúng kế hoạch")))
        assessed = step(_day(self.year, 9, 10), 0, 25, by_unit,
                        acting(SelfAssessModel("Hoàn thành mục tiêu đề ra")))
        if assessed is None:
            return
        strong = fate > 0.55
        names = PERSON_SCORES if individual else SCORES
        scores = {k: Decimal(self.rng.randint(72, 98) if strong else self.rng.randint(50, 78))
                  for k in names}
        evaluated = step(assessed, 3, 12, "reviewer", acting(EvaluateModel(scores)))
        if evaluated is None or not strong:
            return
        proposed = step(evaluated, 2, 6, "reviewer", acting(ProposeModel()))
        if proposed is None:
            return
        tenant_number = f"{self.rng.randint(100, 999)}-QĐ/ĐU"
        recognized = step(proposed, 4, 12, "approver", lambda m, c: m.handle(RecognizeModel(
            Level.TENANT, tenant_number, vietnam_day(c)), c))
        if recognized is None or fate < 0.86:
            return
        nominated = step(recognized, 2, 8, "approver", acting(NominateModel()))
        if nominated is None:
            return
        province_number = f"{self.rng.randint(1000, 2999)}-QĐ/TU"
        step(nominated, 8, 25, "province_admin", lambda m, c: m.handle(RecognizeModel(
            Level.PROVINCE, province_number, vietnam_day(c)), c))

    # --- the whole year --------------------------------------------------------------------

    def build(self) -> DemoSummary:
        self.province()
        catalogue_units = self.catalogue.units_of(PROVINCE)
        if self.tenant_limit is not None:
            showcase = [u for u in catalogue_units if u.code == SHOWCASE]
            others = [u for u in catalogue_units if u.code != SHOWCASE]
            catalogue_units = showcase + others[: max(self.tenant_limit - 1, 0)]
        for n, unit in enumerate(catalogue_units):
            when = _day(self.year, 1, 3) + timedelta(minutes=n)
            self.tenant(unit.code, unit.name, unit.kind, when)
            count = self.rng.randint(24, 30) if unit.code == SHOWCASE else \
                self.rng.randint(7, 20)
            self.models(unit.code, count)
        for code, name in AGENCIES:
            self.tenant(code, name, "agency", _day(self.year, 1, 4))
            self.models(code, self.rng.randint(1, 2))
        self.showcase_extras(self.tenants[SHOWCASE])
        self.timeline.play()
        self.summary.events = self.timeline.events
        return self.summary


def vietnam_day(ctx: Context) -> date:
    return ctx.at.astimezone(VIETNAM).date()


def already_loaded(store: Application) -> bool:
    from eventsourcing.application import AggregateNotFoundError

    try:
        store.repository.get(Tenant.id_for("ward", PROVINCE, SHOWCASE))
    except AggregateNotFoundError:
        return False
    return True


def load_demo(settings: Settings, *, year: int | None = None, tenant_limit: int | None = None,
              now: datetime | None = None) -> DemoSummary | None:
    """Loads the demo year into the database of ``settings``; None if it is already there."""
    from danvan.backend.auth.passwords import hash_password
    from danvan.backend.wiring import open_db_pool, open_store, open_vault
    from danvan.infra.catalogue import official_catalogue

    now = now or datetime.now(VIETNAM)
    store = open_store(settings)
    pool = open_db_pool(settings)
    try:
        if already_loaded(store):
            return None
        vault = open_vault(settings, pool)
        demo = DemoYear(store, vault, official_catalogue(), hash_password,
                        year=year or now.astimezone(VIETNAM).year, now=now,
                        tenant_limit=tenant_limit)
        return demo.build()
    finally:
        pool.close()
        store.close()
