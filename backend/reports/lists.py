"""The two lists: ``registration_list`` (the year's registrations accepted by the moment)
and ``recognition_list`` (decisions in force at each level, and what is proposed now). No
exemplar's phone or address is read: a model's form gives only its dates."""

from __future__ import annotations

from danvan.backend.reports import wording as w
from danvan.backend.reports.asked import (
    Asked,
    counted_by,
    every_model,
    form_date,
    in_force,
    tenant_cell,
    tenant_column,
    tenants_of,
)
from danvan.backend.reports.content import Column, Kind, Section, Table
from danvan.domain.clock import vietnam_date
from danvan.projections.directory.read import units_by_tenant
from danvan.projections.models.read import models_by_id, recognitions_by_tenant


def registration_list(asked: Asked) -> tuple[tuple[Section, ...], dict[str, object]]:
    tenants = tenants_of(asked.conn, asked.scope, asked.moment)
    order = {t.id: i for i, t in enumerate(tenants)}
    names = {t.id: t.name for t in tenants}
    units = {u.id: u.name for found in units_by_tenant(asked.conn, list(names)).values()
             for u in found}
    counted = counted_by(asked.moment)
    models = sorted((m for m in every_model(asked.conn, list(names), asked.year)
                     if counted(m.accepted_at)),
                    key=lambda m: (order[m.tenant_id], units.get(m.unit_id, ""), m.name, m.id))
    columns = (Column("STT", Kind.INT, 8, "no"), *tenant_column(asked),
               Column("Tên mô hình", Kind.TEXT, 40, "name"),
               Column("Chi bộ, đơn vị đăng ký", Kind.TEXT, 26, "unit"),
               Column("Lĩnh vực", Kind.TEXT, 20, "field"),
               Column("Loại", Kind.TEXT, 10, "kind"),
               Column("Bắt đầu", Kind.DATE, 12, "start_date"),
               Column("Kết thúc", Kind.DATE, 12, "end_date"),
               Column("Ngày tiếp nhận", Kind.DATE, 13, "accepted_on"))
    rows = [(i, *tenant_cell(asked, names, m.tenant_id), m.name, units.get(m.unit_id, ""),
             w.name_of("fields", m.field), w.name_of("model_kinds", m.kind),
             form_date(m, "start_date"), form_date(m, "end_date"),
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
    holds = in_force(asked.moment)
    entries = [r for rows in found.values() for r in rows if holds(r)]
    models = models_by_id(asked.conn, sorted({r.model_id for r in entries}))
    units = {u.id: u.name for found_units in units_by_tenant(asked.conn, list(names)).values()
             for u in found_units}

    def unit_of(model_id: str) -> str:
        model = models.get(model_id)
        return units.get(model.unit_id, "") if model else ""

    columns = (Column("STT", Kind.INT, 8, "no"), *tenant_column(asked),
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
        rows = [(i, *tenant_cell(asked, names, r.tenant_id), r.model_name,
                 unit_of(r.model_id), w.name_of("fields", r.field), r.decision_number,
                 r.decision_date) for i, r in enumerate(chosen, start=1)]
        counts[f"{level}_level"] = len(rows)
        sections.append(Section(heading, table=Table(sheet, columns, rows)))
    if asked.moment is None:  # what is proposed now: a state, not a history
        proposed = [m for state in ("proposed", "nominated")
                    for m in every_model(asked.conn, list(names), asked.year, state=state)]
        proposed.sort(key=lambda m: (order[m.tenant_id], m.name, m.id))
        columns_p = (Column("STT", Kind.INT, 8, "no"), *tenant_column(asked),
                     Column("Tên mô hình", Kind.TEXT, 40, "name"),
                     Column("Chi bộ, đơn vị", Kind.TEXT, 24, "unit"),
                     Column("Lĩnh vực", Kind.TEXT, 20, "field"),
                     Column("Đề nghị công nhận", Kind.TEXT, 16, "proposed_level"))
        rows_p = [(i, *tenant_cell(asked, names, m.tenant_id), m.name,
                   units.get(m.unit_id, ""), w.name_of("fields", m.field),
                   w.word("level_tenant") if m.state == "proposed" else w.word("level_province"))
                  for i, m in enumerate(proposed, start=1)]
        sections.append(Section(text["proposed_heading"], (text["proposed_note"],),
                                Table("Đề nghị", columns_p, rows_p)))
    return tuple(sections), counts
