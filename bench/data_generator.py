"""Realistic event logs in bulk: ``danvan bench data --events N``.

Tenants come from the official catalogue (Lào Cai first, then the other provinces: 34
provinces, 3,321 communes, wards and special zones) and live through five years of the
movement (``YEARS``; the current year stops at ``Simulation.cutoff``). Each is a merged
commune or ward as after the 2025 reorganisation: 25-60 units (a party cell per village or
residential group, the Fatherland Front and the mass organisations, the offices, the schools,
the police and military cells), its staff (tenant admin, reviewers, approver), a user for
each unit (its own account, or the office's account holding the grants of the units without
one), targets, plan tasks, and models taken through their lifecycle: every unit is expected
to register at least one model a year (some 8% do not, some register two), reviewed,
reported on each quarter, evaluated, recognised, maintained into the next year. Users sign
in as they work (unit users when they register, submit, report and self-assess; staff
every month); a mistyped password is recorded, and so is the sign-in that follows it.
Everything goes through the domain's own aggregates (so every event is one the service
could have written) and is encoded by the event store's own mapper and transcoder (so the
bytes are real): some 3,000 events a tenant, about 10 million for the whole catalogue.

Writing is a bulk path of its own, equivalent to the store's (``write_chunk``): one
transaction per chunk takes the table's EXCLUSIVE lock like any writer, reserves the
chunk's notification ids from the table's sequence, links every row to its tenant's hash
chain in Python (``danvan.infra.audit_chain.event_hash``, the trigger's canonical hash,
from the heads in ``audit_chain_heads``), COPYs the rows with their chain columns while the
per-row chain trigger is disabled inside that same transaction (enabled again before
commit, so no other session ever sees it off; the other guard triggers stay on), and moves
the heads. It needs the table's owner (``connect_owner``).

Memory stays flat: tenants are simulated a group at a time (``group`` tenants through all
years, their events interleaved phase by phase as the year goes), and events stream from
the simulation into COPY a chunk at a time, never collected.
"""

from __future__ import annotations

import contextlib
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from danvan.domain.base import Actor, Context, DomainError
from danvan.domain.clock import VIETNAM
from danvan.domain.commands import (
    AcceptModel,
    AddUnit,
    AmendModel,
    ApproveList,
    CloseUnit,
    CompletePlanTask,
    DiscontinueModel,
    EvaluateModel,
    InspectModel,
    Level,
    MaintainModel,
    NominateModel,
    OnboardTenant,
    PersonDetails,
    ProposeModel,
    ReceiveCopy,
    RecognizeModel,
    RegisterModel,
    RegisterUser,
    RegistrationForm,
    RejectModel,
    ReportProgress,
    ReturnModel,
    RevokeRecognition,
    SchedulePlanTask,
    SelfAssessModel,
    SetProvinceTargets,
    SetTenantTargets,
    SubmitModel,
)
from danvan.domain.evaluation import COLLECTIVE_CRITERIA, PERSON_CRITERIA
from danvan.domain.model import Model, State
from danvan.domain.plans import PlanTask
from danvan.domain.policies import RoleGrant, province_scope
from danvan.domain.registration_form import Field, ModelKind
from danvan.domain.targets import ProvinceTargets, TenantTargets, YearTargets
from danvan.domain.tenants import Tenant, TenantKind
from danvan.domain.units import Unit, UnitKind
from danvan.domain.users import User
from danvan.domain.year_lists import YearList
from danvan.infra.audit_chain import GENESIS, event_hash
from danvan.infra.catalogue import CatalogueUnit, official_catalogue
from danvan.infra.event_store import EVENTS_TABLE

REPORT_MONTHS = (4, 7, 9, 12)
"""When each quarter's progress is reported: after the quarter, before the evaluation (10)."""
YEARS = (2022, 2023, 2024, 2025, 2026)
FIRST_PROVINCE = "15"
FIELDS = ("party_building", "economy", "culture_society", "defense_security",
          "digital_transformation")
ORGANISATIONS = (  # (name, kind, reports to its own chain of command); every tenant has them
    ("Ủy ban MTTQ", "front", False), ("Đoàn Thanh niên", "mass_org", False),
    ("Hội Liên hiệp Phụ nữ", "mass_org", False), ("Hội Nông dân", "mass_org", False),
    ("Hội Cựu chiến binh", "mass_org", False), ("Công đoàn cơ sở", "mass_org", False),
    ("Chi bộ Cơ quan Đảng - Đoàn thể", "party_cell", False),
    ("Văn phòng HĐND và UBND", "gov_office", False), ("Trạm Y tế", "other", False),
    ("Chi bộ Công an", "police", True), ("Chi bộ Quân sự", "military", True),
)
SCHOOLS = ("Trường Mầm non", "Trường Tiểu học", "Trường THCS")
VILLAGE_CELL = {"ward": "Chi bộ tổ dân phố {n}", "commune": "Chi bộ thôn {n}",
                "special_zone": "Chi bộ thôn {n}"}
VILLAGES = (12, 44)
"""A village or residential-group party cell each (range, upper bound excluded): with the
organisations and 2-6 schools, 25-60 units a tenant."""
OWN_ACCOUNT = 0.8
"""Share of units with an account of their own; the others' grants sit on the office's."""
SKIP_REGISTRATION = 0.08
SECOND_MODEL = {"party_cell": 0.2}
"""Chance that a unit registers a second model in a year, by unit kind (others: ``0.6``)."""
FAILED_SIGN_IN = 0.12
"""Share of sign-ins that begin with a mistyped password (recorded, as is the sign-in after
it; a sign-in at the first try changes nothing and writes no event)."""
NEW_SECRETARY = 0.05
"""Share of units whose user is replaced by a new account each January."""
ACTIVITIES = ("xây dựng nông thôn mới", "hiến đất làm đường", "phát triển kinh tế hộ",
              "chuyển đổi số cộng đồng", "giữ gìn an ninh trật tự", "bảo tồn văn hóa dân tộc",
              "vệ sinh môi trường", "xóa nhà tạm", "khuyến học", "chăm sóc người cao tuổi")
ADDRESSES = ("203.0.113.7", "203.0.113.41", "198.51.100.23", "192.0.2.150")
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0$aGFzaGhhc2hoYXNoaGFzaA"

Emit = Callable[[Any], None]


def vn(day: date, minutes: int) -> datetime:
    """A moment on ``day`` (Vietnam time), ``minutes`` after 07:30, as UTC."""
    return (datetime(day.year, day.month, day.day, 7, 30, tzinfo=VIETNAM)
            + timedelta(minutes=minutes)).astimezone(UTC)


@dataclass
class TenantSim:
    tenant: Tenant
    units: list[Unit] = field(default_factory=list)
    models: list[Model] = field(default_factory=list)
    targets: dict[int, TenantTargets] = field(default_factory=dict)
    tasks: list[PlanTask] = field(default_factory=list)
    staff: dict[str, list[User]] = field(default_factory=dict)
    """Users by tenant role (tenant_admin, reviewer, approver)."""
    unit_users: dict[str, User] = field(default_factory=dict)
    """The user acting for each unit (by unit id): its own account or the office's."""

    @property
    def id(self) -> str:
        return str(self.tenant.id)


class Simulation:
    """Drives aggregates and hands each changed aggregate to ``emit`` (in log order)."""

    def __init__(self, emit: Emit, seed: int = 1, cutoff: datetime | None = None) -> None:
        self.emit = emit
        self.rng = random.Random(seed)
        self.serial = 0
        self.cutoff = cutoff or datetime.now(UTC)
        """Nothing happens after this moment: phases of the current year still to come are
        skipped, and dates drawn past it are pulled back to it."""

    def ctx(self, role: str, tenant_id: str, at: datetime, user: str = "") -> Context:
        self.serial += 1
        return Context(tenant_id=tenant_id, actor=Actor(user or f"{role}@{tenant_id[:8]}", role),
                       at=at, correlation_id=f"c{self.serial}", causation_id=f"k{self.serial}",
                       request_id=f"r{self.serial}")

    def when(self, year: int, month: int, spread_days: int = 27, first_day: int = 1) -> datetime:
        day = date(year, month, first_day) + timedelta(days=self.rng.randrange(spread_days))
        return min(vn(day, self.rng.randrange(600)), self.cutoff - timedelta(days=20))

    def due(self, year: int, month: int) -> bool:
        """Whether the phase of ``month`` has begun by the cut-off."""
        return vn(date(year, month, 1), 0) < self.cutoff - timedelta(days=20)

    # --- who acts -----------------------------------------------------------------------

    def staff(self, sim: TenantSim, role: str, at: datetime) -> Context:
        """A command by one of the tenant's staff in ``role`` (signed in this month)."""
        user = self.rng.choice(sim.staff[role])
        return self.ctx(role, sim.id, at, user=str(user.id))

    def by_unit(self, sim: TenantSim, unit_id: str, at: datetime, signed: set[UUID]) -> Context:
        """A command by the unit's user, who signs in first (once in a phase: ``signed``)."""
        user = sim.unit_users[unit_id]
        if user.id not in signed:
            signed.add(user.id)
            self.sign_in(user, at - timedelta(minutes=self.rng.randrange(2, 15)))
        return self.ctx("unit_user", sim.id, at, user=str(user.id))

    def sign_in(self, user: User, at: datetime) -> None:
        """One sign-in as the service records it (``backend/auth``): a wrong password is a
        ``LoginFailed`` by an anonymous actor; the right one a ``LoggedIn`` by the user
        only when failures are pending (most sign-ins write nothing)."""
        roll = self.rng.random()
        if roll < FAILED_SIGN_IN:
            attempts = 2 if roll < FAILED_SIGN_IN * 0.2 else 1
            address = self.rng.choice(ADDRESSES)
            for attempt in range(attempts):
                user.record_failed_login(
                    self.ctx("anonymous", user.tenant_id,
                             at - timedelta(minutes=attempts - attempt), user="anonymous"),
                    address=address)
            if roll < FAILED_SIGN_IN * 0.9:  # the rest give up and come back another day
                user.record_login(self.ctx("self", user.tenant_id, at, user=str(user.id)))
        elif user.failed_logins:
            user.record_login(self.ctx("self", user.tenant_id, at, user=str(user.id)))
        if user.pending_events:
            self.emit(user)

    # --- setting up a province and a group of tenants -----------------------------------

    def province(self, code: str) -> None:
        for year in YEARS:
            at = vn(date(year, 1, 5), 60)
            defaults = {TenantKind.COMMUNE: YearTargets(10, 2, 1, 1),
                        TenantKind.WARD: YearTargets(12, 3, 1, 1),
                        TenantKind.SPECIAL_ZONE: YearTargets(8, 2, 1, 1)}
            self.emit(ProvinceTargets.set_first(
                self.ctx("province_admin", province_scope(code), at),
                SetProvinceTargets(code, year, defaults)))

    def unit_names(self, kind: str) -> list[tuple[str, str, bool]]:
        village = VILLAGE_CELL.get(kind, VILLAGE_CELL["commune"])
        villages = [(village.format(n=n + 1), "party_cell", False)
                    for n in range(self.rng.randrange(*VILLAGES))]
        schools = [(f"{SCHOOLS[n % len(SCHOOLS)]} số {n // len(SCHOOLS) + 1}", "school", False)
                   for n in range(self.rng.randrange(2, 7))]
        return [*villages, *ORGANISATIONS, *schools]

    def register_user(self, sim: TenantSim, ctx: Context, username: str, full_name: str,
                      role: str, unit_ids: list[str] | None = None) -> User:
        code = sim.tenant.province_code
        grants = ([RoleGrant(role, code, sim.id, u) for u in unit_ids] if unit_ids
                  else [RoleGrant(role, code, sim.id)])
        user = User.register(ctx, RegisterUser(username, PASSWORD_HASH, full_name,
                                               tuple(grants)))
        self.emit(user)
        return user

    def onboard(self, unit: CatalogueUnit) -> TenantSim:
        at = vn(date(YEARS[0], 1, 2), self.rng.randrange(600))
        ctx = self.ctx("province_admin", province_scope(unit.province_code), at)
        tenant = Tenant.onboard(ctx, OnboardTenant(unit.code, unit.name, TenantKind(unit.kind),
                                                   unit.province_code))
        self.emit(tenant)
        sim = TenantSim(tenant)
        for role, count in (("tenant_admin", 1), ("reviewer", self.rng.randrange(1, 4)),
                            ("approver", 1)):
            for n in range(count):
                suffix = "" if n == 0 else str(n + 1)
                sim.staff.setdefault(role, []).append(self.register_user(
                    sim, self.ctx("province_admin", sim.id, at + timedelta(minutes=30 + n)),
                    f"{role.replace('_', '.')}{suffix}.{unit.code}",
                    f"Cán bộ {role}{suffix} {unit.name}", role))
        admin_at = at + timedelta(days=1)
        for i, (name, kind, vertical) in enumerate(self.unit_names(unit.kind)):
            u = Unit.add(self.staff(sim, "tenant_admin", admin_at + timedelta(minutes=i)),
                         AddUnit(name, UnitKind(kind), vertical))
            self.emit(u)
            sim.units.append(u)
        office: list[str] = []
        for i, u in enumerate(sim.units):
            if self.rng.random() < OWN_ACCOUNT:
                sim.unit_users[str(u.id)] = self.register_user(
                    sim, self.staff(sim, "tenant_admin", admin_at + timedelta(hours=2, minutes=i)),
                    f"cb{i + 1:02d}.{unit.code}", f"Bí thư, cán bộ {u.name}", "unit_user",
                    [str(u.id)])
            else:
                office.append(str(u.id))
        if office:
            user = self.register_user(
                sim, self.staff(sim, "tenant_admin", admin_at + timedelta(hours=4)),
                f"vanphong.{unit.code}", f"Văn phòng {unit.name}", "unit_user", office)
            sim.unit_users.update(dict.fromkeys(office, user))
        return sim

    # --- one year of a group of tenants, phase by phase ---------------------------------

    def year(self, sims: list[TenantSim], year: int) -> None:
        phases: list[tuple[int, Callable[[TenantSim], None]]] = [
            (1, lambda sim: self.plan_year(sim, year)),
            (2, lambda sim: self.register(sim, year)),
            (3, lambda sim: self.review(sim, year)),
            (4, lambda sim: self.approve_list(sim, year)),
            *((REPORT_MONTHS[q - 1], lambda sim, q=q: self.report(sim, year, q))
              for q in (1, 2, 3, 4)),
            (10, lambda sim: self.evaluate(sim, year)),
            (11, lambda sim: self.recognize(sim, year)),
            (12, lambda sim: self.close_year(sim, year)),
        ]
        phases.sort(key=lambda item: item[0])  # stable: a model's events keep time order
        signed_in_until = 0  # staff sign in every month, up to the month of each phase
        for month, phase in phases:
            if self.due(year, month):
                for m in range(signed_in_until + 1, month + 1):
                    for sim in sims:
                        self.staff_month(sim, year, m)
                signed_in_until = max(signed_in_until, month)
                for sim in sims:
                    phase(sim)

    def staff_month(self, sim: TenantSim, year: int, month: int) -> None:
        for users in sim.staff.values():
            for user in users:
                self.sign_in(user, self.when(year, month))

    def plan_year(self, sim: TenantSim, year: int) -> None:
        at = self.when(year, 1)
        if self.rng.random() < 0.3:
            targets = TenantTargets.set_first(
                self.staff(sim, "tenant_admin", at),
                SetTenantTargets(year, YearTargets(self.rng.randrange(8, 16), 2, 1, 1)))
            self.emit(targets)
        sim.tasks = []
        for i, (title, month) in enumerate((("Quán triệt Chỉ thị", 3),
                                            ("Ban hành kế hoạch của đơn vị", 4),
                                            ("Sơ kết 6 tháng", 7))):
            task = PlanTask.schedule(self.staff(sim, "tenant_admin", at + timedelta(minutes=i)),
                                     SchedulePlanTask(year, title, date(year, month, 28)))
            self.emit(task)
            sim.tasks.append(task)
        if year == YEARS[0]:
            return
        for i, u in enumerate(sim.units):  # new secretaries get accounts of their own
            if not u.closed and self.rng.random() < NEW_SECRETARY:
                sim.unit_users[str(u.id)] = self.register_user(
                    sim, self.staff(sim, "tenant_admin", at + timedelta(hours=1, minutes=i)),
                    f"cb{i + 1:02d}.{year}.{sim.tenant.code}", f"Bí thư, cán bộ {u.name}",
                    "unit_user", [str(u.id)])

    def register(self, sim: TenantSim, year: int) -> None:
        sim.models = [m for m in sim.models if m.state not in (State.DISCONTINUED,
                                                               State.REJECTED, State.REVOKED)
                      and year in m.list_years]  # carried-over models keep reporting
        signed: set[UUID] = set()
        i = 0
        for unit in sim.units:
            if unit.closed or self.rng.random() < SKIP_REGISTRATION:
                continue  # some units never register: units without registration
            second = self.rng.random() < SECOND_MODEL.get(unit.kind, 0.6)
            for _ in range(2 if second else 1):
                i += 1
                model = self.register_one(sim, year, unit, i, signed)
                if model is not None:
                    sim.models.append(model)

    def register_one(self, sim: TenantSim, year: int, unit: Unit, i: int,
                     signed: set[UUID]) -> Model | None:
        at = self.when(year, 2)
        kind = ModelKind.INDIVIDUAL if self.rng.random() < 0.1 else ModelKind.COLLECTIVE
        activity = self.rng.choice(ACTIVITIES)
        form = RegistrationForm(
            problem=f"Khó khăn trong {activity}", goals="Nâng cao đời sống Nhân dân",
            content="Vận động Nhân dân cùng tham gia, công khai, dân chủ",
            area=sim.tenant.name, implementers=unit.name,
            resources="Nhân dân đóng góp, ngân sách hỗ trợ",
            start_date=date(year, 3, 1), end_date=date(year, 12, 31),
            outputs="Sản phẩm cụ thể, đo đếm được", sustainability="Duy trì và nhân rộng")
        individual = kind == ModelKind.INDIVIDUAL
        command = RegisterModel(str(unit.id), year,
                                f"Dân vận khéo trong {activity} ({unit.name}, {i})", kind,
                                Field(self.rng.choice(FIELDS)), form,
                                PersonDetails("Nguyễn Văn A", 1970) if individual else None)
        # a sealed token stands in for the vault's (the generator writes no person keys)
        sealed = {"person_key_id": f"pk-{sim.id[:8]}-{year}-{i}",
                  "person_token": "v1." + "A" * 120} if individual else {}
        try:
            model = Model.register(self.by_unit(sim, str(unit.id), at, signed), unit, command,
                                   **sealed)
        except DomainError:
            return None
        if self.rng.random() < 0.3:
            model.handle(AmendModel(form=RegistrationForm(
                goals="Nâng cao đời sống và thu nhập của Nhân dân")),
                self.by_unit(sim, str(unit.id), at + timedelta(days=2), signed))
        self.emit(model)
        return model

    def review(self, sim: TenantSim, year: int) -> None:
        signed: set[UUID] = set()
        for m in sim.models:
            if m.year != year or m.state != State.DRAFT:
                continue
            at = self.when(year, 3, 18)  # + up to 9 days: still March
            if m.vertical_line:
                m.handle(ReceiveCopy(), self.staff(sim, "reviewer", at))
                self.emit(m)
                continue
            m.handle(SubmitModel(), self.by_unit(sim, m.unit_id, at, signed))
            roll = self.rng.random()
            if roll < 0.15:
                m.handle(ReturnModel("Bổ sung số liệu, làm rõ mục tiêu"),
                         self.staff(sim, "reviewer", at + timedelta(days=3)))
                m.handle(AmendModel(form=RegistrationForm(
                    outputs="Sản phẩm cụ thể, có số liệu đo đếm")),
                    self.by_unit(sim, m.unit_id, at + timedelta(days=6), signed))
                m.handle(SubmitModel(), self.by_unit(sim, m.unit_id, at + timedelta(days=7),
                                                     signed))
            if roll > 0.95:
                m.handle(RejectModel("Trùng với mô hình đã đăng ký"),
                         self.staff(sim, "reviewer", at + timedelta(days=9)))
            else:
                m.handle(AcceptModel(), self.staff(sim, "reviewer", at + timedelta(days=9)))
            self.emit(m)

    def approve_list(self, sim: TenantSim, year: int) -> None:
        at = self.when(year, 4)
        self.emit(YearList.approve(self.staff(sim, "approver", at), ApproveList(
            year, f"{self.rng.randrange(1, 300)}-QĐ/ĐU")))
        for task in sim.tasks:
            if self.rng.random() < 0.75:
                task.complete(self.staff(sim, "reviewer", self.when(year, 5)),
                              CompletePlanTask("Đã xong"))
                self.emit(task)

    def report(self, sim: TenantSim, year: int, quarter: int) -> None:
        signed: set[UUID] = set()
        for m in sim.models:
            if m.state not in (State.ACCEPTED, State.RECOGNIZED_TENANT,
                               State.RECOGNIZED_PROVINCE) or self.rng.random() < 0.2:
                continue
            month = REPORT_MONTHS[quarter - 1]
            # December's report comes in the first days, before the year is closed.
            at = self.when(year, month, 8) if month == 12 else self.when(year, month, 22)
            m.handle(ReportProgress(
                f"{year}-Q{quarter}", participants=self.rng.randrange(10, 400),
                workdays=self.rng.randrange(20, 2000),
                money_vnd=Decimal(self.rng.randrange(0, 500) * 100_000),
                land_m2=Decimal(f"{self.rng.randrange(0, 3000)}.{self.rng.randrange(10)}"),
                note="Kết quả quý"), self.by_unit(sim, m.unit_id, at, signed))
            if self.rng.random() < 0.3:
                m.handle(InspectModel("Thực hiện đúng kế hoạch"),
                         self.staff(sim, "reviewer", at + timedelta(days=5)))
            self.emit(m)

    def evaluate(self, sim: TenantSim, year: int) -> None:
        signed: set[UUID] = set()
        for m in sim.models:
            if m.year != year or m.state != State.ACCEPTED or self.rng.random() < 0.3:
                continue
            at = self.when(year, 10, 17)  # + up to 10 days: still October
            m.handle(SelfAssessModel("Đạt các mục tiêu đề ra"),
                     self.by_unit(sim, m.unit_id, at, signed))
            criteria = PERSON_CRITERIA if m.kind == "individual" else COLLECTIVE_CRITERIA
            low = 55 if self.rng.random() < 0.15 else 70
            m.handle(EvaluateModel({c: Decimal(self.rng.randrange(low, 100)) for c in criteria}),
                     self.staff(sim, "reviewer", at + timedelta(days=7)))
            if m.passed:
                m.handle(ProposeModel(), self.staff(sim, "reviewer", at + timedelta(days=10)))
            self.emit(m)

    def recognize(self, sim: TenantSim, year: int) -> None:
        proposed = [m for m in sim.models if m.state == State.PROPOSED]
        self.rng.shuffle(proposed)
        for rank, m in enumerate(proposed[:self.rng.randrange(3, 9)]):
            at = self.when(year, 11, 13)  # + up to 14 days: still November
            m.handle(RecognizeModel(Level.TENANT, f"{self.rng.randrange(1, 500)}/QĐ-UBND",
                                    at.astimezone(VIETNAM).date()),
                     self.staff(sim, "approver", at))
            if rank == 0 or (rank == 1 and self.rng.random() < 0.3):
                m.handle(NominateModel(), self.staff(sim, "approver", at + timedelta(days=3)))
                later = at + timedelta(days=14)
                m.handle(RecognizeModel(Level.PROVINCE,
                                        f"{self.rng.randrange(1, 900)}/QĐ-UBND",
                                        later.astimezone(VIETNAM).date()),
                         self.ctx("province_admin", sim.id, later))
            self.emit(m)

    def close_year(self, sim: TenantSim, year: int) -> None:
        for m in sim.models:
            at = self.when(year, 12, 12, first_day=16)
            roll = self.rng.random()
            try:
                if roll < 0.02 and m.state in (State.RECOGNIZED_TENANT, State.NOMINATED):
                    m.handle(RevokeRecognition(Level.TENANT, "Không duy trì được hiệu quả"),
                             self.staff(sim, "approver", at))
                elif roll < 0.07 and m.state in (State.ACCEPTED, State.EVALUATED):
                    m.handle(DiscontinueModel("Không còn phù hợp"),
                             self.staff(sim, "reviewer", at))
                elif (roll < 0.4 and m.state == State.ACCEPTED) or (roll < 0.7 and m.state in (
                        State.RECOGNIZED_TENANT, State.RECOGNIZED_PROVINCE)):
                    m.handle(MaintainModel(year + 1), self.staff(sim, "reviewer", at))
                else:
                    continue
            except DomainError:
                continue
            self.emit(m)
        if self.rng.random() < 0.05:
            open_units = [u for u in sim.units if not u.closed]
            if len(open_units) > 5:
                unit = self.rng.choice(open_units)
                unit.close(self.staff(sim, "tenant_admin", self.when(year, 12, 12, first_day=16)),
                           CloseUnit("Sáp nhập đơn vị"))
                self.emit(unit)


def tenants_in_order() -> Iterator[CatalogueUnit]:
    catalogue = official_catalogue()
    codes = [FIRST_PROVINCE] + [p.code for p in catalogue.provinces() if p.code != FIRST_PROVINCE]
    for code in codes:
        yield from catalogue.units_of(code)


class Enough(Exception):
    """The requested number of events has been produced."""


def simulate(emit: Emit, *, seed: int = 1, group: int = 25,
             cutoff: datetime | None = None) -> None:
    """Run the simulation until ``emit`` raises ``Enough`` (or the catalogue runs out)."""
    sim = Simulation(emit, seed, cutoff)
    province = None
    batch: list[CatalogueUnit] = []

    def run_group() -> None:
        sims = [sim.onboard(u) for u in batch]
        for year in YEARS:
            sim.year(sims, year)
        batch.clear()

    for unit in tenants_in_order():
        if unit.province_code != province:
            if batch:
                run_group()
            province = unit.province_code
            sim.province(province)
        batch.append(unit)
        if len(batch) == group:
            run_group()
    if batch:
        run_group()


# --- writing ----------------------------------------------------------------------------

@dataclass
class WriteStats:
    events: int = 0
    seconds: float = 0.0
    copy_seconds: float = 0.0
    """Time spent writing chunks: each chunk's transaction (lock, notification ids, chain
    links, COPY, heads, commit)."""


EVENTS = f"public.{EVENTS_TABLE}"
SEQUENCE = f"public.{EVENTS_TABLE}_notification_id_seq"
CHAIN_TRIGGER = f"{EVENTS_TABLE}_chain"
"""The per-row BEFORE INSERT trigger that links rows (``infra/sql/010_event_store_guard.sql``)."""
CHAINED_COLUMNS = ("(notification_id, originator_id, originator_version, topic, state, "
                   "tenant_id, prev_hash, hash)")
CHAINED_TYPES = ["int8", "uuid", "int8", "text", "bytea", "text", "bytea", "bytea"]
COPY_COLUMNS = "(originator_id, originator_version, topic, state)"
COPY_TYPES = ["uuid", "int8", "text", "bytea"]

HANDOVER_ROWS = 2000
HANDOVER_QUEUE = 16
"""Rows go from the simulation to the writer in lists of ``HANDOVER_ROWS``, at most
``HANDOVER_QUEUE`` of them waiting: enough to simulate on while a chunk is written."""

Row = tuple[str, UUID, int, str, bytes]
"""An encoded event: (tenant_id, originator_id, originator_version, topic, state)."""


def copy_chunk(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]],
               table: str = EVENTS) -> None:
    """COPY (originator_id, originator_version, topic, state) rows in one transaction that
    takes ``table``'s EXCLUSIVE lock. Into the events table the chain trigger links each
    row (the store's own per-row path); ``bench/projections.py`` uses it on a plain table
    as the baseline of ``write_chunk``."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        with cur.copy(f"COPY {table} {COPY_COLUMNS} FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(COPY_TYPES)
            for row in rows:
                copy.write_row(row)


def write_chunk(conn: psycopg.Connection[Any], rows: list[Row]) -> None:
    """Append ``rows`` to the store and to their tenants' hash chains in one transaction, as
    the chain trigger would, but linked in Python: take the EXCLUSIVE lock (as every writer
    must, so no one else draws notification ids or moves a head meanwhile), reserve the
    chunk's notification ids, read the touched tenants' heads, COPY every column with the
    chain trigger disabled for this transaction only, move the heads, commit.
    ``conn``: the table's owner (``ALTER TABLE``), autocommit."""
    if not rows:
        return
    tenants = list({row[0] for row in rows})
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"LOCK TABLE {EVENTS} IN EXCLUSIVE MODE")
        cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                    (SEQUENCE, len(rows)))
        ids = sorted(r[0] for r in cur.fetchall())
        cur.execute("SELECT tenant_id, position, hash FROM public.audit_chain_heads "
                    "WHERE tenant_id = ANY(%s)", (tenants,))
        heads: dict[str, bytes] = {}
        for tenant, position, head_hash in cur.fetchall():
            if position >= ids[0]:  # as danvan_chain_advance() refuses it
                raise RuntimeError(f"audit chain of tenant {tenant} is at position "
                                   f"{position}, cannot append {ids[0]}")
            heads[tenant] = bytes(head_hash)
        last: dict[str, int] = {}
        cur.execute(f"ALTER TABLE {EVENTS} DISABLE TRIGGER {CHAIN_TRIGGER}")
        with cur.copy(f"COPY {EVENTS} {CHAINED_COLUMNS} FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(CHAINED_TYPES)
            for notification_id, (tenant, originator_id, version, topic, state) in zip(
                    ids, rows, strict=True):
                prev = heads.get(tenant, GENESIS)
                link = event_hash(prev, notification_id, originator_id, version, topic, state)
                heads[tenant] = link
                last[tenant] = notification_id
                copy.write_row((notification_id, originator_id, version, topic, state, tenant,
                                prev, link))
        cur.execute(f"ALTER TABLE {EVENTS} ENABLE TRIGGER {CHAIN_TRIGGER}")
        moved = list(last)
        cur.execute(
            "INSERT INTO public.audit_chain_heads AS h (tenant_id, position, hash) "
            "SELECT * FROM unnest(%s::text[], %s::int8[], %s::bytea[]) "
            "ON CONFLICT (tenant_id) DO UPDATE SET position = excluded.position, "
            "hash = excluded.hash",
            (moved, [last[t] for t in moved], [heads[t] for t in moved]))


def stored_rows(mapper: Any, limit: int, *, seed: int = 1, group: int = 25,
                cutoff: datetime | None = None) -> Iterator[Row]:
    """Exactly ``limit`` encoded events (``Row``), simulated and encoded as they are needed.
    The tenant is the event's ``tenant_id``, which the transcoder puts at the top of the
    stored state (where the trigger reads it)."""
    produced: list[Row] = []
    count = 0
    stop = threading.Event()  # the consumer went away early

    def emit(aggregate: Any) -> None:
        nonlocal count
        for event in aggregate.collect_events():
            if count >= limit or stop.is_set():
                raise Enough
            stored = mapper.to_stored_event(event)
            produced.append((event.tenant_id, stored.originator_id,
                             stored.originator_version, stored.topic, stored.state))
            count += 1

    # The simulation calls back; run it on a thread and hand rows over a bounded queue so
    # the caller can stream them (and write while the next rows are simulated).
    rows: queue.Queue[list[Row] | None] = queue.Queue(maxsize=HANDOVER_QUEUE)
    failure: list[BaseException] = []

    def produce() -> None:
        def emit_and_hand_over(aggregate: Any) -> None:
            emit(aggregate)
            if len(produced) >= HANDOVER_ROWS:
                rows.put(list(produced))
                produced.clear()
        try:
            simulate(emit_and_hand_over, seed=seed, group=group, cutoff=cutoff)
        except Enough:
            pass
        except BaseException as exc:  # re-raised in the consumer
            failure.append(exc)
        finally:
            if produced:
                rows.put(list(produced))
            rows.put(None)

    thread = threading.Thread(target=produce, name="bench-simulation", daemon=True)
    thread.start()
    try:
        while (chunk := rows.get()) is not None:
            yield from chunk
    finally:
        stop.set()
        while thread.is_alive():  # unblock the producer so that it ends
            with contextlib.suppress(queue.Empty):
                rows.get(timeout=0.05)
        thread.join()
    if failure:
        raise failure[0]


def write_events(conn: psycopg.Connection[Any], mapper: Any, limit: int, *, seed: int = 1,
                 chunk: int = 20_000, progress: Callable[[int], None] | None = None,
                 group: int = 25, cutoff: datetime | None = None) -> WriteStats:
    """Simulate and write exactly ``limit`` events into the store (autocommit ``conn`` of the
    owner), one ``write_chunk`` transaction per ``chunk`` events. Simulation (a thread) and
    writing overlap."""
    stats = WriteStats()
    started = time.perf_counter()
    pending: list[Row] = []

    def flush() -> None:
        t0 = time.perf_counter()
        write_chunk(conn, pending)
        stats.copy_seconds += time.perf_counter() - t0
        stats.events += len(pending)
        pending.clear()

    for row in stored_rows(mapper, limit, seed=seed, group=group, cutoff=cutoff):
        pending.append(row)
        if len(pending) >= chunk:
            flush()
            if progress is not None:
                progress(stats.events)
    if pending:
        flush()
    if progress is not None:
        progress(stats.events)
    stats.seconds = time.perf_counter() - started
    return stats
