"""Realistic event logs in bulk: ``danvan bench data --events N``.

Tenants come from the official catalogue (Lào Cai first, then the other provinces), each with
its units, users, targets, plan tasks and some 15-20 models a year taken through their
lifecycle by the domain's own aggregates (so every event is one the service could have
written), encoded by the event store's own mapper and transcoder (so the bytes are real),
and written with COPY in chunks, each chunk holding the table's EXCLUSIVE lock like any
writer; the hash-chain trigger links every row.

Memory stays flat: tenants are simulated a group at a time (``group`` tenants through all
years, their events interleaved phase by phase as the year goes), and events stream from
the simulation into COPY without being collected.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from danvan.domain.base import Actor, Context, DomainError
from danvan.domain.clock import VIETNAM
from danvan.domain.evaluation import COLLECTIVE_CRITERIA, PERSON_CRITERIA
from danvan.domain.model import Model, State
from danvan.domain.plans import PlanTask
from danvan.domain.targets import ProvinceTargets, TenantTargets
from danvan.domain.tenants import Tenant, province_scope
from danvan.domain.units import Unit
from danvan.domain.users import RoleGrant, User
from danvan.domain.year_lists import YearList
from danvan.infra.catalogue import CatalogueUnit, official_catalogue
from danvan.infra.event_store import EVENTS_TABLE

YEARS = (2024, 2025, 2026)
FIRST_PROVINCE = "15"
FIELDS = ("party_building", "economy", "culture_society", "defense_security",
          "digital_transformation")
UNIT_TEMPLATES = (
    ("Chi bộ thôn {n}", "party_cell", False), ("Chi bộ tổ dân phố {n}", "party_cell", False),
    ("Ủy ban MTTQ", "front", False), ("Đoàn Thanh niên", "mass_org", False),
    ("Hội Liên hiệp Phụ nữ", "mass_org", False), ("Hội Nông dân", "mass_org", False),
    ("Hội Cựu chiến binh", "mass_org", False), ("Công đoàn cơ sở", "mass_org", False),
    ("Văn phòng HĐND và UBND", "gov_office", False), ("Trường THCS {n}", "school", False),
    ("Chi bộ Công an", "police", True), ("Chi bộ Quân sự", "military", True),
)
ACTIVITIES = ("xây dựng nông thôn mới", "hiến đất làm đường", "phát triển kinh tế hộ",
              "chuyển đổi số cộng đồng", "giữ gìn an ninh trật tự", "bảo tồn văn hóa dân tộc",
              "vệ sinh môi trường", "xóa nhà tạm", "khuyến học", "chăm sóc người cao tuổi")
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

    def when(self, year: int, month: int, spread_days: int = 27) -> datetime:
        day = date(year, month, 1) + timedelta(days=self.rng.randrange(spread_days))
        return min(vn(day, self.rng.randrange(600)), self.cutoff - timedelta(days=20))

    def due(self, year: int, month: int) -> bool:
        """Whether the phase of ``month`` has begun by the cut-off."""
        return vn(date(year, month, 1), 0) < self.cutoff - timedelta(days=20)

    # --- setting up a province and a group of tenants -----------------------------------

    def province(self, code: str) -> None:
        for year in YEARS:
            at = vn(date(year, 1, 5), 60)
            body = {"commune": {"new_models": 10, "recognized_tenant_level": 2,
                                "recognized_province_level": 1, "per_unit_minimum": 1},
                    "ward": {"new_models": 12, "recognized_tenant_level": 3,
                             "recognized_province_level": 1, "per_unit_minimum": 1},
                    "special_zone": {"new_models": 8, "recognized_tenant_level": 2,
                                     "recognized_province_level": 1, "per_unit_minimum": 1}}
            self.emit(ProvinceTargets.set_first(
                self.ctx("province_admin", province_scope(code), at), province_code=code,
                year=year, body=body))

    def onboard(self, unit: CatalogueUnit) -> TenantSim:
        at = vn(date(YEARS[0], 1, 2), self.rng.randrange(600))
        ctx = self.ctx("province_admin", province_scope(unit.province_code), at)
        tenant = Tenant.onboard(ctx, code=unit.code, name=unit.name, kind=unit.kind,
                                province_code=unit.province_code)
        self.emit(tenant)
        sim = TenantSim(tenant)
        count = self.rng.randrange(12, 22)
        for i in range(count):
            template, kind, vertical = UNIT_TEMPLATES[i % len(UNIT_TEMPLATES)]
            name = template.format(n=i + 1) if "{n}" in template else \
                (template if i < len(UNIT_TEMPLATES) else f"{template} {i}")
            u = Unit.add(self.ctx("tenant_admin", sim.id, at + timedelta(minutes=i)),
                         name=name, kind=kind, reports_to_vertical_line=vertical)
            self.emit(u)
            sim.units.append(u)
        for role in ("tenant_admin", "reviewer", "approver", "unit_user"):
            unit_id = str(sim.units[0].id) if role == "unit_user" else None
            user = User.register(
                self.ctx("province_admin", sim.id, at + timedelta(minutes=30)),
                username=f"{role.replace('_', '.')}.{unit.code}", password_hash=PASSWORD_HASH,
                full_name=f"Cán bộ {role} {unit.name}",
                grants=[RoleGrant(role, unit.province_code, sim.id, unit_id)])
            if self.rng.random() < 0.3:
                user.record_failed_login(self.ctx("anonymous", sim.id, at + timedelta(days=3)),
                                         address="203.0.113.7")
            self.emit(user)
        return sim

    # --- one year of a group of tenants, phase by phase ---------------------------------

    def year(self, sims: list[TenantSim], year: int) -> None:
        phases: list[tuple[int, Callable[[TenantSim], None]]] = [
            (1, lambda sim: self.plan_year(sim, year)),
            (2, lambda sim: self.register(sim, year)),
            (3, lambda sim: self.review(sim, year)),
            (4, lambda sim: self.approve_list(sim, year)),
            *((q * 3, lambda sim, q=q: self.report(sim, year, q)) for q in (1, 2, 3, 4)),
            (10, lambda sim: self.evaluate(sim, year)),
            (11, lambda sim: self.recognise(sim, year)),
            (12, lambda sim: self.close_year(sim, year)),
        ]
        for month, phase in phases:
            if self.due(year, month):
                for sim in sims:
                    phase(sim)

    def plan_year(self, sim: TenantSim, year: int) -> None:
        at = self.when(year, 1)
        if self.rng.random() < 0.3:
            body = {"new_models": self.rng.randrange(8, 16), "recognized_tenant_level": 2,
                    "recognized_province_level": 1, "per_unit_minimum": 1}
            targets = TenantTargets.set_first(self.ctx("tenant_admin", sim.id, at), year=year,
                                              body=body)
            self.emit(targets)
        sim.tasks = []
        for i, (title, month) in enumerate((("Quán triệt Chỉ thị", 3),
                                            ("Ban hành kế hoạch của đơn vị", 4),
                                            ("Sơ kết 6 tháng", 7))):
            task = PlanTask.schedule(self.ctx("reviewer", sim.id, at + timedelta(minutes=i)),
                                     year=year, title=title,
                                     due_date=date(year, month, 28).isoformat())
            self.emit(task)
            sim.tasks.append(task)

    def register(self, sim: TenantSim, year: int) -> None:
        open_units = [u for u in sim.units if not u.closed]
        count = self.rng.randrange(14, 22)
        sim.models = [m for m in sim.models if m.state not in (State.DISCONTINUED,
                                                               State.REJECTED, State.REVOKED)
                      and year in m.list_years]  # carried-over models keep reporting
        for i in range(count):
            unit = open_units[i % len(open_units)] if i < len(open_units) else \
                self.rng.choice(open_units)
            if self.rng.random() < 0.08:
                continue  # some units never register: units without registration
            at = self.when(year, 2)
            kind = "individual" if self.rng.random() < 0.1 else "collective"
            activity = self.rng.choice(ACTIVITIES)
            values = {
                "year": year, "name": f"Dân vận khéo trong {activity} ({unit.name}, {i + 1})",
                "field": self.rng.choice(FIELDS), "kind": kind,
                "problem": f"Khó khăn trong {activity}", "goals": "Nâng cao đời sống Nhân dân",
                "content": "Vận động Nhân dân cùng tham gia, công khai, dân chủ",
                "area": sim.tenant.name, "implementers": unit.name,
                "resources": "Nhân dân đóng góp, ngân sách hỗ trợ",
                "start_date": f"{year}-03-01", "end_date": f"{year}-12-31",
                "outputs": "Sản phẩm cụ thể, đo đếm được",
                "sustainability": "Duy trì và nhân rộng"}
            person = {"person_key_id": f"pk-{sim.id[:8]}-{year}-{i}",
                      "person_token": "v1." + "A" * 120} if kind == "individual" else {}
            try:
                model = Model.register(self.ctx("unit_user", sim.id, at), unit=unit,
                                       values=values, **person)
            except DomainError:
                continue
            if self.rng.random() < 0.3:
                model.amend(self.ctx("unit_user", sim.id, at + timedelta(days=2)),
                            values={"goals": "Nâng cao đời sống và thu nhập của Nhân dân"})
            self.emit(model)
            sim.models.append(model)

    def review(self, sim: TenantSim, year: int) -> None:
        for m in sim.models:
            if m.year != year or m.state != State.DRAFT:
                continue
            at = self.when(year, 3)
            if m.vertical_line:
                m.receive_copy(self.ctx("reviewer", sim.id, at))
                self.emit(m)
                continue
            m.submit(self.ctx("unit_user", sim.id, at))
            roll = self.rng.random()
            if roll < 0.15:
                m.return_for_revision(self.ctx("reviewer", sim.id, at + timedelta(days=3)),
                                      reason="Bổ sung số liệu, làm rõ mục tiêu")
                m.amend(self.ctx("unit_user", sim.id, at + timedelta(days=6)),
                        values={"outputs": "Sản phẩm cụ thể, có số liệu đo đếm"})
                m.submit(self.ctx("unit_user", sim.id, at + timedelta(days=7)))
            if roll > 0.95:
                m.reject(self.ctx("reviewer", sim.id, at + timedelta(days=9)),
                         reason="Trùng với mô hình đã đăng ký")
            else:
                m.accept(self.ctx("reviewer", sim.id, at + timedelta(days=9)))
            self.emit(m)

    def approve_list(self, sim: TenantSim, year: int) -> None:
        at = self.when(year, 4)
        self.emit(YearList.approve(self.ctx("approver", sim.id, at), year=year,
                                   decision_number=f"{self.rng.randrange(1, 300)}-QĐ/ĐU"))
        for task in sim.tasks:
            if self.rng.random() < 0.75:
                task.complete(self.ctx("reviewer", sim.id, self.when(year, 5)), note="Đã xong")
                self.emit(task)

    def report(self, sim: TenantSim, year: int, quarter: int) -> None:
        for m in sim.models:
            if m.state not in (State.ACCEPTED, State.RECOGNIZED_TENANT,
                               State.RECOGNIZED_PROVINCE) or self.rng.random() < 0.25:
                continue
            at = self.when(year, quarter * 3)
            m.report_progress(self.ctx("unit_user", sim.id, at), values={
                "period": f"{year}-Q{quarter}", "participants": self.rng.randrange(10, 400),
                "workdays": self.rng.randrange(20, 2000),
                "money_vnd": str(self.rng.randrange(0, 500) * 100_000),
                "land_m2": f"{self.rng.randrange(0, 3000)}.{self.rng.randrange(10)}",
                "note": "Kết quả quý"})
            if self.rng.random() < 0.3:
                m.inspect(self.ctx("reviewer", sim.id, at + timedelta(days=5)),
                          findings="Thực hiện đúng kế hoạch")
            self.emit(m)

    def evaluate(self, sim: TenantSim, year: int) -> None:
        for m in sim.models:
            if m.year != year or m.state != State.ACCEPTED or self.rng.random() < 0.4:
                continue
            at = self.when(year, 10)
            m.self_assess(self.ctx("unit_user", sim.id, at), summary="Đạt các mục tiêu đề ra")
            criteria = PERSON_CRITERIA if m.kind == "individual" else COLLECTIVE_CRITERIA
            low = 55 if self.rng.random() < 0.15 else 70
            m.evaluate(self.ctx("reviewer", sim.id, at + timedelta(days=7)),
                       scores={c: self.rng.randrange(low, 100) for c in criteria})
            if m.passed:
                m.propose(self.ctx("reviewer", sim.id, at + timedelta(days=10)))
            self.emit(m)

    def recognise(self, sim: TenantSim, year: int) -> None:
        proposed = [m for m in sim.models if m.state == State.PROPOSED]
        self.rng.shuffle(proposed)
        for rank, m in enumerate(proposed[:self.rng.randrange(2, 5)]):
            at = self.when(year, 11)
            m.recognise(self.ctx("approver", sim.id, at), level="tenant",
                        decision_number=f"{self.rng.randrange(1, 500)}/QĐ-UBND",
                        decision_date=at.astimezone(VIETNAM).date().isoformat())
            if rank == 0 or (rank == 1 and self.rng.random() < 0.3):
                m.nominate(self.ctx("approver", sim.id, at + timedelta(days=3)))
                later = at + timedelta(days=14)
                m.recognise(self.ctx("province_admin", sim.id, later), level="province",
                            decision_number=f"{self.rng.randrange(1, 900)}/QĐ-UBND",
                            decision_date=later.astimezone(VIETNAM).date().isoformat())
            self.emit(m)

    def close_year(self, sim: TenantSim, year: int) -> None:
        for m in sim.models:
            at = self.when(year, 12, 20)
            roll = self.rng.random()
            try:
                if roll < 0.02 and m.state in (State.RECOGNIZED_TENANT, State.NOMINATED):
                    m.revoke(self.ctx("approver", sim.id, at), level="tenant",
                             reason="Không duy trì được hiệu quả")
                elif roll < 0.07 and m.state in (State.ACCEPTED, State.EVALUATED):
                    m.discontinue(self.ctx("reviewer", sim.id, at),
                                  reason="Không còn phù hợp")
                elif roll < 0.4 and m.state in (State.ACCEPTED, State.RECOGNIZED_TENANT,
                                                State.RECOGNIZED_PROVINCE):
                    m.maintain(self.ctx("reviewer", sim.id, at), year=year + 1)
                else:
                    continue
            except DomainError:
                continue
            self.emit(m)
        if self.rng.random() < 0.05:
            open_units = [u for u in sim.units if not u.closed]
            if len(open_units) > 5:
                unit = self.rng.choice(open_units)
                unit.close(self.ctx("tenant_admin", sim.id, self.when(year, 12, 20)),
                           reason="Sáp nhập đơn vị")
                self.emit(unit)


def tenants_in_order() -> Iterator[CatalogueUnit]:
    catalogue = official_catalogue()
    codes = [FIRST_PROVINCE] + [p.code for p in catalogue.provinces() if p.code != FIRST_PROVINCE]
    for code in codes:
        yield from catalogue.units_of(code)


class Enough(Exception):
    """The requested number of events has been produced."""


def simulate(emit: Emit, *, seed: int = 1, group: int = 25) -> None:
    """Run the simulation until ``emit`` raises ``Enough`` (or the catalogue runs out)."""
    sim = Simulation(emit, seed)
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


@dataclass
class WriteStats:
    events: int = 0
    seconds: float = 0.0
    copy_seconds: float = 0.0
    """Time spent in COPY (the hash-chain trigger runs per row inside it)."""


COPY_COLUMNS = "(originator_id, originator_version, topic, state)"
COPY_TYPES = ["uuid", "int8", "text", "bytea"]


def copy_chunk(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]],
               table: str = f"public.{EVENTS_TABLE}") -> None:
    """One transaction: take the table's EXCLUSIVE lock (as every writer must), COPY."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        with cur.copy(f"COPY {table} {COPY_COLUMNS} FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(COPY_TYPES)
            for row in rows:
                copy.write_row(row)


def stored_rows(mapper: Any, limit: int, *, seed: int = 1) -> Iterator[tuple[Any, ...]]:
    """Exactly ``limit`` stored-event rows, simulated and encoded as they are needed."""
    produced: list[tuple[Any, ...]] = []
    count = 0

    def emit(aggregate: Any) -> None:
        nonlocal count
        for event in aggregate.collect_events():
            if count >= limit:
                raise Enough
            stored = mapper.to_stored_event(event)
            produced.append((stored.originator_id, stored.originator_version, stored.topic,
                             stored.state))
            count += 1

    # The simulation calls back; run it on a thread and hand rows over a small queue so the
    # caller can stream them.
    rows: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(maxsize=4)
    failure: list[BaseException] = []

    def produce() -> None:
        def emit_and_hand_over(aggregate: Any) -> None:
            emit(aggregate)
            if len(produced) >= 2000:
                rows.put(list(produced))
                produced.clear()
        try:
            simulate(emit_and_hand_over, seed=seed)
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
    while (chunk := rows.get()) is not None:
        yield from chunk
    thread.join()
    if failure:
        raise failure[0]


def write_events(conn: psycopg.Connection[Any], mapper: Any, limit: int, *, seed: int = 1,
                 chunk: int = 20_000, progress: Callable[[int], None] | None = None
                 ) -> WriteStats:
    """Simulate and COPY exactly ``limit`` events into the store (autocommit ``conn`` of the
    owner), one transaction per ``chunk`` events. Simulation (a thread) and COPY overlap."""
    stats = WriteStats()
    started = time.perf_counter()
    pending: list[tuple[Any, ...]] = []
    for row in stored_rows(mapper, limit, seed=seed):
        pending.append(row)
        if len(pending) >= chunk:
            t0 = time.perf_counter()
            copy_chunk(conn, pending)
            stats.copy_seconds += time.perf_counter() - t0
            stats.events += len(pending)
            pending.clear()
            if progress is not None:
                progress(stats.events)
    if pending:
        t0 = time.perf_counter()
        copy_chunk(conn, pending)
        stats.copy_seconds += time.perf_counter() - t0
        stats.events += len(pending)
    if progress is not None:
        progress(stats.events)
    stats.seconds = time.perf_counter() - started
    return stats
