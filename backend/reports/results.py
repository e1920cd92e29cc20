"""The two reports of results: ``quota`` (the targets against what was done: per tenant
for a province, with a summary by kind of tenant; the measures and the units for a tenant)
and ``review`` (sơ kết / tổng kết: counts and progress by field, units without a
registration, the standout models)."""

from __future__ import annotations

from collections.abc import Sequence

from danvan.backend.reports import wording as w
from danvan.backend.reports.asked import (
    Asked,
    in_force,
    share,
    status_words,
    tenant_cell,
    tenant_column,
    tenants_of,
)
from danvan.backend.reports.content import Column, Kind, Section, Table, Value
from danvan.domain.registration_form import Field
from danvan.domain.tenants import TenantKind
from danvan.projections.models.quota_status import MET
from danvan.projections.models.read import (
    breakdown,
    province_figures,
    quotas,
    recognitions_by_tenant,
    unit_compliance,
)
from danvan.projections.models.rows import FieldBreakdown, Progress, TenantQuota

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
        rows.append((i, title, target, actual, share(actual, target)))
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
        status = f"Đánh giá chung: {status_words(q)}."
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
             q.units_without_registration, q.maintained_models, status_words(q))
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
    holds = in_force(asked.moment)
    standout = sorted((r for rows in recognitions_by_tenant(
        asked.conn, ids, year=asked.year, level="province").values() for r in rows
        if holds(r)), key=lambda r: (r.decision_date, r.model_name, r.model_id))
    standout_table = Table("Tiêu biểu", (
        Column("STT", Kind.INT, 8, "no"), *tenant_column(asked),
        Column("Tên mô hình", Kind.TEXT, 40, "name"), Column("Lĩnh vực", Kind.TEXT, 20, "field"),
        Column("Số quyết định", Kind.TEXT, 16, "decision_number")),
        [(i, *tenant_cell(asked, names, r.tenant_id), r.model_name,
          w.name_of("fields", r.field), r.decision_number)
         for i, r in enumerate(standout, start=1)])
    return ((Section(text["results_heading"], results),
             Section(text["fields_heading"], table=_field_table(parts)),
             Section(text["units_heading"], (units_line,), lacking),
             Section(text["standout_heading"],
                     () if standout else (text["standout_none"],), standout_table),
             Section(text["direction_heading"], w.lines(text["direction"], **values))), {})
