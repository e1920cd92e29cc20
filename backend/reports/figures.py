"""A report's content, read only through the read models' read API (``projections/<model>/
read.py``, the functions GraphQL answers with), so that every figure equals the GraphQL
answer for the same scope, year and ``as_of``. No exemplar's phone or address is read: a
model's form gives only its dates.

    with scoped(conn, ...):
        report = compose(conn, scope, request, moment=..., now=...)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from danvan.backend.reports import wording as w
from danvan.backend.reports.content import Column, Kind, Letterhead, Report, Section, Table, Value
from danvan.domain.clock import vietnam_date
from danvan.domain.registration_form import Field
from danvan.domain.reports import ReportKind, ReportPeriod, ReportRequest
from danvan.domain.tenants import TenantKind
from danvan.projections.base import Connection
from danvan.projections.directory.read import province_tenants, units_by_tenant
from danvan.projections.directory.rows import TenantRef
from danvan.projections.models.quota_status import IN_PROGRESS, MET, MISSED
from danvan.projections.models.read import (
    breakdown,
    model_pages,
    models_by_id,
    province_figures,
    quotas,
    recognitions_by_tenant,
    unit_compliance,
)
from danvan.projections.models.rows import (
    FieldBreakdown,
    ModelSummary,
    Progress,
    RecognitionRow,
    TenantQuota,
)
from danvan.projections.paging import MAX_PAGE

_STATE_ISSUERS = re.compile(r"^(UBND|ỦY BAN|UỶ BAN|SỞ |BỘ |CỤC |CHI CỤC )", re.IGNORECASE)


@dataclass(frozen=True)
class Scope:
    """What a report is about: one tenant, or a whole province (``tenant`` None)."""

    province_code: str
    province_name: str
    """``Tỉnh Lào Cai``."""
    tenant: TenantRef | None = None

    @property
    def province_short(self) -> str:
        return self.province_name.split(" ", 1)[1] if " " in self.province_name \
            else self.province_name

    @property
    def words(self) -> str:
        """How a sentence names it: ``phường Yên Bái``, ``tỉnh Lào Cai``."""
        name = self.tenant.name if self.tenant else self.province_name
        return name[:1].lower() + name[1:] if self.tenant is None or self.local else name

    @property
    def local(self) -> bool:
        return self.tenant is not None and self.tenant.kind != TenantKind.AGENCY

    @property
    def place(self) -> str:
        if self.local and self.tenant is not None:
            prefix = w.name_of("tenant_kinds", self.tenant.kind)
            name = self.tenant.name
            return name[len(prefix) + 1:] if name.lower().startswith(prefix + " ") else name
        return self.province_short

    @property
    def display(self) -> str:
        return self.tenant.name if self.tenant else self.province_name


# --- the letterhead ------------------------------------------------------------------------

def _symbol(name: str) -> str:
    return "".join(word[0] for word in name.split() if word[:1].isalpha()).upper()


def letterhead(scope: Scope, request: ReportRequest, kind_type: str, today: date) -> Letterhead:
    values = {"province": scope.province_name, "province_short": scope.province_short,
              "scope": scope.display, "type": kind_type,
              "issuer_symbol": _symbol(scope.display)}
    party_form = w.section("forms", "party")
    state_form = w.section("forms", "state")
    party = scope.tenant is None or scope.local
    if request.issuer:
        party = not _STATE_ISSUERS.match(request.issuer)
    if party:
        which = "tenant" if scope.tenant is not None else "province"
        superior = w.render(party_form[f"{which}_superior"], **values)
        issuer = request.issuer or w.render(party_form[f"{which}_issuer"], **values)
        number = w.render(party_form[f"{which}_number"], **values)
        mandate, office = party_form[f"{which}_mandate"], party_form[f"{which}_office"]
        addressees = tuple(party_form[f"{which}_addressees"])
    else:
        superior = w.render(state_form["superior"], **values)
        issuer = request.issuer or scope.display
        number = w.render(state_form["number"], **values)
        mandate, office = state_form["mandate"], state_form["office"]
        addressees = tuple(state_form["addressees"])
    if request.number:
        number = request.number if request.number.startswith("Số") else (
            f"Số {request.number}" if party else f"Số: {request.number}")
    return Letterhead(party=party, superior=superior.upper(), issuer=issuer.upper(),
                      number=number, place=scope.place, issued_on=today, mandate=mandate,
                      office=office, signer=request.signer or "",
                      addressees=request.addressees or addressees)


# --- reading -------------------------------------------------------------------------------

def tenants_of(conn: Connection, scope: Scope, moment: datetime | None) -> list[TenantRef]:
    if scope.tenant is not None:
        return [scope.tenant]
    return province_tenants(conn, scope.province_code, as_of=moment)


def every_model(conn: Connection, tenant_ids: Sequence[str], year: int,
                state: str | None = None) -> list[ModelSummary]:
    """Every model of ``year`` of the tenants, page after page (the read API's pages)."""
    found: list[ModelSummary] = []
    pending: dict[str, str | None] = dict.fromkeys(tenant_ids)
    while pending:
        after_groups: dict[str | None, list[str]] = {}
        for tenant_id, after in pending.items():
            after_groups.setdefault(after, []).append(tenant_id)
        pending = {}
        for after, ids in after_groups.items():
            for tenant_id, page in model_pages(conn, ids, year=year, state=state,
                                               first=MAX_PAGE, after=after).items():
                found.extend(page.items)
                if page.has_next_page:
                    pending[tenant_id] = page.end_cursor
    return found


def _counted_by(moment: datetime | None) -> Callable[[datetime | None], bool]:
    return lambda at: at is not None and (moment is None or at <= moment)


def _in_force(moment: datetime | None) -> Callable[[RecognitionRow], bool]:
    def holds(r: RecognitionRow) -> bool:
        if moment is None:
            return r.revoked_at is None
        return r.recognized_at <= moment and (r.revoked_at is None or r.revoked_at > moment)
    return holds


def _status(q: TenantQuota) -> str:
    word = {MET: "met", MISSED: "missed", IN_PROGRESS: "in_progress"}[q.status]
    text = w.word(word)
    return f"{text} ({w.word('at_risk').lower()})" if q.at_risk else text


def _share(actual: int, target: int) -> Decimal | None:
    return None if target <= 0 else (Decimal(actual) / Decimal(target)).quantize(
        Decimal("0.0001"))


# --- the kinds -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Asked:
    conn: Connection
    scope: Scope
    request: ReportRequest
    moment: datetime | None
    now: datetime

    @property
    def year(self) -> int:
        return self.request.year

    def values(self) -> dict[str, object]:
        period = self.request.period or ReportPeriod.YEAR
        return {"year": self.year, "scope": self.scope.words,
                "movement": w.section("movement")["name"],
                "period": w.render(w.section("periods")[period.value], year=self.year),
                "moment": w.render(w.word("moment_at"),
                                   day=w.day(vietnam_date(self.moment or self.now)))}


def _tenant_column(asked: Asked) -> tuple[Column, ...]:
    return () if asked.scope.tenant else (Column("Xã, phường, cơ quan", Kind.TEXT, 24, "tenant"),)


def _tenant_cell(asked: Asked, names: dict[str, str], tenant_id: str) -> tuple[Value, ...]:
    return () if asked.scope.tenant else (names.get(tenant_id, tenant_id),)


def _form_date(model: ModelSummary, key: str) -> date | None:
    value = model.form.get(key)
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def registration_list(asked: Asked) -> tuple[tuple[Section, ...], dict[str, object]]:
    tenants = tenants_of(asked.conn, asked.scope, asked.moment)
    order = {t.id: i for i, t in enumerate(tenants)}
    names = {t.id: t.name for t in tenants}
    units = {u.id: u.name for found in units_by_tenant(asked.conn, list(names)).values()
             for u in found}
    counted = _counted_by(asked.moment)
    models = sorted((m for m in every_model(asked.conn, list(names), asked.year)
                     if counted(m.accepted_at)),
                    key=lambda m: (order[m.tenant_id], units.get(m.unit_id, ""), m.name, m.id))
    columns = (Column("STT", Kind.INT, 8, "no"), *_tenant_column(asked),
               Column("Tên mô hình", Kind.TEXT, 40, "name"),
               Column("Chi bộ, đơn vị đăng ký", Kind.TEXT, 26, "unit"),
               Column("Lĩnh vực", Kind.TEXT, 20, "field"),
               Column("Loại", Kind.TEXT, 10, "kind"),
               Column("Bắt đầu", Kind.DATE, 12, "start_date"),
               Column("Kết thúc", Kind.DATE, 12, "end_date"),
               Column("Ngày tiếp nhận", Kind.DATE, 13, "accepted_on"))
    rows = [(i, *_tenant_cell(asked, names, m.tenant_id), m.name, units.get(m.unit_id, ""),
             w.name_of("fields", m.field), w.name_of("model_kinds", m.kind),
             _form_date(m, "start_date"), _form_date(m, "end_date"),
             vietnam_date(m.accepted_at) if m.accepted_at else None)
            for i, m in enumerate(models, start=1)]
    table = Table("Danh sách đăng ký", columns, rows)
    return (Section(table=table),), {"total": len(rows)}


def recognition_list(asked: Asked) -> tuple[tuple[Section, ...], dict[str, object]]:
    text = w.section("kinds", "recognition_list")
    tenants = tenants_of(asked.conn, asked.scope, asked.moment)
    order = {t.id: i for i, t in enumerate(tenants)}
    names = {t.id: t.name for t in tenants}
    found = recognitions_by_tenant(asked.conn, list(names), year=asked.year)
    holds = _in_force(asked.moment)
    entries = [r for rows in found.values() for r in rows if holds(r)]
    models = models_by_id(asked.conn, sorted({r.model_id for r in entries}))
    units = {u.id: u.name for found_units in units_by_tenant(asked.conn, list(names)).values()
             for u in found_units}

    def unit_of(model_id: str) -> str:
        model = models.get(model_id)
        return units.get(model.unit_id, "") if model else ""

    columns = (Column("STT", Kind.INT, 8, "no"), *_tenant_column(asked),
               Column("Tên mô hình", Kind.TEXT, 40, "name"),
               Column("Chi bộ, đơn vị", Kind.TEXT, 24, "unit"),
               Column("Lĩnh vực", Kind.TEXT, 20, "field"),
               Column("Số quyết định", Kind.TEXT, 16, "decision_number"),
               Column("Ngày quyết định", Kind.DATE, 14, "decision_date"))
    sections = []
    counts: dict[str, object] = {}
    for level, heading, sheet in (("province", text["province_heading"], "Cấp tỉnh"),
                                  ("tenant", text["tenant_heading"], "Cấp xã")):
        chosen = sorted((r for r in entries if r.level == level),
                        key=lambda r: (order[r.tenant_id], r.decision_date, r.model_name,
                                       r.model_id))
        rows = [(i, *_tenant_cell(asked, names, r.tenant_id), r.model_name,
                 unit_of(r.model_id), w.name_of("fields", r.field), r.decision_number,
                 r.decision_date) for i, r in enumerate(chosen, start=1)]
        counts[f"{level}_level"] = len(rows)
        sections.append(Section(heading, table=Table(sheet, columns, rows)))
    if asked.moment is None:  # what is proposed now: a state, not a history
        proposed = [m for state in ("proposed", "nominated")
                    for m in every_model(asked.conn, list(names), asked.year, state=state)]
        proposed.sort(key=lambda m: (order[m.tenant_id], m.name, m.id))
        columns_p = (Column("STT", Kind.INT, 8, "no"), *_tenant_column(asked),
                     Column("Tên mô hình", Kind.TEXT, 40, "name"),
                     Column("Chi bộ, đơn vị", Kind.TEXT, 24, "unit"),
                     Column("Lĩnh vực", Kind.TEXT, 20, "field"),
                     Column("Đề nghị công nhận", Kind.TEXT, 16, "proposed_level"))
        rows_p = [(i, *_tenant_cell(asked, names, m.tenant_id), m.name,
                   units.get(m.unit_id, ""), w.name_of("fields", m.field),
                   w.word("level_tenant") if m.state == "proposed" else w.word("level_province"))
                  for i, m in enumerate(proposed, start=1)]
        sections.append(Section(text["proposed_heading"], (text["proposed_note"],),
                                Table("Đề nghị", columns_p, rows_p)))
    return tuple(sections), counts


_QUOTA_PAIRS = (("new_models", "Mô hình mới"),
                ("recognized_tenant_level", "Công nhận cấp xã"),
                ("recognized_province_level", "Công nhận cấp tỉnh"))


def _tenant_quota_table(q: TenantQuota) -> Table:
    columns = (Column("STT", Kind.INT, 8, "no"), Column("Chỉ tiêu", Kind.TEXT, 34, "measure"),
               Column("Kế hoạch", Kind.INT, 12, "target"),
               Column("Thực hiện", Kind.INT, 12, "actual"),
               Column("Tỷ lệ", Kind.PERCENT, 10, "share"))
    rows: list[tuple[Value, ...]] = []
    for i, (key, title) in enumerate(_QUOTA_PAIRS, start=1):
        actual, target = getattr(q, key), getattr(q, f"{key}_target")
        rows.append((i, title, target, actual, _share(actual, target)))
    n = len(rows)
    rows += [(n + 1, "Mô hình các năm trước duy trì", None, q.maintained_models, None),
             (n + 2, "Mô hình dừng thực hiện", None, q.discontinued_models, None),
             (n + 3, "Mô hình đã gửi đăng ký", None, q.submitted_models, None),
             (n + 4, "Đơn vị chưa đăng ký đủ", None, q.units_without_registration, None)]
    return Table("Chỉ tiêu", columns, rows)


def quota(asked: Asked) -> tuple[tuple[Section, ...], dict[str, object]]:
    text = w.section("kinds", "quota")
    if asked.scope.tenant is not None:
        tenant = asked.scope.tenant
        q = quotas(asked.conn, [tenant], asked.year, as_of=asked.moment, now=asked.now)[0]
        compliance = unit_compliance(asked.conn, [tenant.id], asked.year,
                                     as_of=asked.moment)[tenant.id]
        columns: tuple[Column, ...] = (Column("STT", Kind.INT, 8, "no"),
                   Column("Chi bộ, đơn vị", Kind.TEXT, 34, "unit"),
                   Column("Loại", Kind.TEXT, 18, "unit_kind"),
                   Column("Mô hình đã gửi", Kind.INT, 14, "submitted"),
                   Column("Tối thiểu", Kind.INT, 10, "minimum"),
                   Column("Đánh giá", Kind.TEXT, 12, "compliant"))
        rows = [(i, u.name, w.name_of("unit_kinds", u.kind), u.submitted_models,
                 u.per_unit_minimum, w.word("yes") if u.compliant else w.word("no"))
                for i, u in enumerate(compliance, start=1)]
        totals = (None, w.word("total"), None, sum(u.submitted_models for u in compliance),
                  None, None)
        note = w.render(text["units_note"], minimum=q.per_unit_minimum,
                        without=q.units_without_registration)
        status = f"Đánh giá chung: {_status(q)}."
        return ((Section(text["tenant_heading"], (status,), _tenant_quota_table(q)),
                 Section(text["units_heading"], (note,),
                         Table("Chi bộ, đơn vị", columns, rows, totals))), {})
    figures = province_figures(asked.conn, asked.scope.province_code, asked.year,
                               as_of=asked.moment, now=asked.now)
    summary = figures.summary()
    columns = (Column("STT", Kind.INT, 8, "no"), Column("Đơn vị", Kind.TEXT, 26, "tenant"),
               Column("Mã", Kind.TEXT, 8, "code"),
               *(c for key, title in _QUOTA_PAIRS for c in (
                   Column(f"{title}: kế hoạch", Kind.INT, 11, f"{key}_target"),
                   Column(f"{title}: thực hiện", Kind.INT, 11, key))),
               Column("Đơn vị chưa đăng ký đủ", Kind.INT, 11, "units_without_registration"),
               Column("Duy trì", Kind.INT, 9, "maintained_models"),
               Column("Đánh giá", Kind.TEXT, 26, "status"))
    rows = [(i, q.tenant.name, q.tenant.code,
             *(v for key, _ in _QUOTA_PAIRS for v in (getattr(q, f"{key}_target"),
                                                       getattr(q, key))),
             q.units_without_registration, q.maintained_models, _status(q))
            for i, q in enumerate(figures.quotas, start=1)]
    sums = [sum(getattr(q, key) for q in figures.quotas) for key in (
        *(k for key, _ in _QUOTA_PAIRS for k in (f"{key}_target", key)),
        "units_without_registration", "maintained_models")]
    totals = (None, w.word("total"), None, *sums, None)
    note = w.render(text["province_note"], tenants=summary.tenant_count,
                    met=summary.tenants_met, at_risk=summary.tenants_at_risk)
    return (Section(text["summary_heading"], (note,), _by_tenant_kind(figures.quotas)),
            Section(text["province_heading"], table=Table("Chỉ tiêu", columns, rows,
                                                          totals))), {}


def _by_tenant_kind(rows: Sequence[TenantQuota]) -> Table:
    """The province's quota rows added up by kind of tenant (xã, phường, đặc khu, cơ quan)."""
    keys = [k for key, _ in _QUOTA_PAIRS for k in (f"{key}_target", key)]
    columns = (Column("STT", Kind.INT, 8, "no"), Column("Loại đơn vị", Kind.TEXT, 14, "kind"),
               Column("Số đơn vị", Kind.INT, 9, "tenants"),
               *(Column(f"{title}: {part}", Kind.INT, 10, key)
                 for (_, title), key, part in zip(
                     [p for p in _QUOTA_PAIRS for _ in (0, 1)], keys,
                     ["kế hoạch", "thực hiện"] * len(_QUOTA_PAIRS), strict=True)),
               Column("Đạt chỉ tiêu", Kind.INT, 9, "met"))
    body: list[tuple[Value, ...]] = []
    for kind in TenantKind:
        group = [q for q in rows if q.tenant.kind == kind.value]
        if group:
            body.append((len(body) + 1, w.name_of("tenant_kinds", kind.value).capitalize(),
                         len(group), *(sum(getattr(q, k) for q in group) for k in keys),
                         sum(1 for q in group if q.status == MET)))
    totals = (None, w.word("total"), len(rows), *(sum(getattr(q, k) for q in rows)
                                                   for k in keys),
              sum(1 for q in rows if q.status == MET))
    return Table("Tổng hợp", columns, body, totals)


def _field_table(parts: Sequence[FieldBreakdown]) -> Table:
    columns = (Column("STT", Kind.INT, 8, "no"), Column("Lĩnh vực", Kind.TEXT, 24, "field"),
               Column("Mô hình mới", Kind.INT, 11, "new_models"),
               Column("Công nhận cấp xã", Kind.INT, 11, "recognized_tenant_level"),
               Column("Công nhận cấp tỉnh", Kind.INT, 11, "recognized_province_level"),
               Column("Lượt người tham gia", Kind.INT, 13, "participants"),
               Column("Ngày công", Kind.INT, 11, "workdays"),
               Column("Tiền huy động (đồng)", Kind.MONEY, 20, "money_vnd"),
               Column("Đất hiến (m²)", Kind.DECIMAL, 12, "land_m2"))
    rows = [(i, w.name_of("fields", p.field), p.new_models, p.recognized_tenant_level,
             p.recognized_province_level, p.progress.participants, p.progress.workdays,
             p.progress.money_vnd, p.progress.land_m2) for i, p in enumerate(parts, start=1)]
    total = Progress.total(parts)
    totals = (None, w.word("total"), sum(p.new_models for p in parts),
              sum(p.recognized_tenant_level for p in parts),
              sum(p.recognized_province_level for p in parts), total.participants,
              total.workdays, total.money_vnd, total.land_m2)
    return Table("Theo lĩnh vực", columns, rows, totals)


def review(asked: Asked) -> tuple[tuple[Section, ...], dict[str, object]]:
    text = w.section("kinds", "review")
    values = asked.values()
    tenants = tenants_of(asked.conn, asked.scope, asked.moment)
    ids = [t.id for t in tenants]
    names = {t.id: t.name for t in tenants}
    rows_q = quotas(asked.conn, tenants, asked.year, as_of=asked.moment, now=asked.now)
    parts = breakdown(asked.conn, ids, asked.year, as_of=asked.moment)
    order = {f.value: i for i, f in enumerate(Field)}
    parts = sorted(parts, key=lambda p: order.get(p.field, len(order)))
    progress = Progress.total(parts)
    results = w.lines(
        text["results"], **values,
        new_models=sum(q.new_models for q in rows_q),
        recognized_tenant_level=sum(q.recognized_tenant_level for q in rows_q),
        recognized_province_level=sum(q.recognized_province_level for q in rows_q),
        maintained=sum(q.maintained_models for q in rows_q),
        discontinued=sum(q.discontinued_models for q in rows_q),
        participants=w.number(progress.participants), workdays=w.number(progress.workdays),
        money=w.number(progress.money_vnd), land=w.number(progress.land_m2))
    without = sum(q.units_without_registration for q in rows_q)
    lacking: Table
    if asked.scope.tenant is not None:
        units = [u for u in unit_compliance(asked.conn, ids, asked.year,
                                            as_of=asked.moment)[ids[0]] if not u.compliant]
        lacking = Table("Chưa đăng ký", (
            Column("STT", Kind.INT, 8, "no"), Column("Chi bộ, đơn vị", Kind.TEXT, 40, "unit"),
            Column("Mô hình đã gửi", Kind.INT, 14, "submitted"),
            Column("Tối thiểu", Kind.INT, 10, "minimum")),
            [(i, u.name, u.submitted_models, u.per_unit_minimum)
             for i, u in enumerate(units, start=1)])
    else:
        behind = [q for q in rows_q if q.units_without_registration > 0]
        lacking = Table("Chưa đăng ký", (
            Column("STT", Kind.INT, 8, "no"), Column("Đơn vị", Kind.TEXT, 40, "tenant"),
            Column("Đơn vị chưa đăng ký đủ", Kind.INT, 14, "units_without_registration")),
            [(i, q.tenant.name, q.units_without_registration)
             for i, q in enumerate(behind, start=1)],
            (None, w.word("total"), without))
    units_line = (text["units_none"] if without == 0
                  else w.render(text["units_some"], without=without))
    holds = _in_force(asked.moment)
    standout = sorted((r for rows in recognitions_by_tenant(
        asked.conn, ids, year=asked.year, level="province").values() for r in rows
        if holds(r)), key=lambda r: (r.decision_date, r.model_name, r.model_id))
    standout_table = Table("Tiêu biểu", (
        Column("STT", Kind.INT, 8, "no"), *_tenant_column(asked),
        Column("Tên mô hình", Kind.TEXT, 40, "name"), Column("Lĩnh vực", Kind.TEXT, 20, "field"),
        Column("Số quyết định", Kind.TEXT, 16, "decision_number")),
        [(i, *_tenant_cell(asked, names, r.tenant_id), r.model_name,
          w.name_of("fields", r.field), r.decision_number)
         for i, r in enumerate(standout, start=1)])
    return ((Section(text["results_heading"], results),
             Section(text["fields_heading"], table=_field_table(parts)),
             Section(text["units_heading"], (units_line,), lacking),
             Section(text["standout_heading"],
                     () if standout else (text["standout_none"],), standout_table),
             Section(text["direction_heading"], w.lines(text["direction"], **values))), {})


KINDS = {ReportKind.REGISTRATION_LIST: registration_list,
         ReportKind.RECOGNITION_LIST: recognition_list, ReportKind.QUOTA: quota,
         ReportKind.REVIEW: review}


def compose(conn: Connection, scope: Scope, request: ReportRequest, *,
            moment: datetime | None, now: datetime) -> Report:
    asked = Asked(conn, scope, request, moment, now)
    text = w.section("kinds", request.kind.value)
    sections, extra = KINDS[request.kind](asked)
    values = {**asked.values(), **extra}
    if request.kind == ReportKind.REVIEW:
        period = (request.period or ReportPeriod.YEAR).value
        subject = w.render(text[f"subject_{period}"], **values)
    else:
        subject = w.render(text["subject"], **values)
    intro = Section(paragraphs=w.lines(text["intro"], **values))
    return Report(
        letterhead=letterhead(scope, request, text["type"], vietnam_date(now)),
        title=text["title"], subject=subject, scope_name=scope.display,
        moment_line=str(values["moment"]), sections=(intro, *sections),
        closing=w.lines(text["closing"], **values))
