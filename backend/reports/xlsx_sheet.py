"""A report as an XLSX workbook (openpyxl): one sheet per table, the heading lines above it,
typed cells (integers, dates, money as whole đồng, shares as percentages), the header row
frozen, column widths set, and a total row whose figures are the sums of the rows above."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter

from danvan.backend.reports.content import Kind, Report, Table, Value

FONT = "Times New Roman"
FORMATS = {Kind.INT: "#,##0", Kind.MONEY: "#,##0", Kind.DECIMAL: "#,##0.##",
           Kind.DATE: "DD/MM/YYYY", Kind.PERCENT: "0.0%"}
HEADING_ROWS = 4
"""The scope, the title, the subject and the moment, above each table's header row."""
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _typed(value: Value) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _sheet_name(name: str, taken: set[str]) -> str:
    base = "".join(c for c in name if c not in "[]:*?/\\")[:31] or "Sheet"
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base[:28]} {n}"
        n += 1
    taken.add(candidate)
    return candidate


def _style_name(kind: Kind, bold: bool) -> str:
    return f"report {kind.value}{' total' if bold else ''}"


def _add_styles(workbook: Workbook) -> None:
    """One named style per kind of column (and its total): a style named on each cell,
    rather than fonts and borders built for each, keeps a sheet of thousands of rows fast."""
    for kind in Kind:
        for bold in (False, True):
            style = NamedStyle(name=_style_name(kind, bold))
            style.font = Font(name=FONT, size=12, bold=bold)
            style.border = _BOX
            if kind in FORMATS:
                style.number_format = FORMATS[kind]
            if kind == Kind.TEXT:
                style.alignment = Alignment(wrap_text=True, vertical="top")
            workbook.add_named_style(style)


def _write(sheet: object, report: Report, table: Table) -> None:
    ws = sheet
    for row, (text, bold) in enumerate(((report.scope_name, False), (report.title, True),
                                         (report.subject, True),
                                         (report.moment_line, False)), start=1):
        cell = ws.cell(row=row, column=1, value=text)  # type: ignore[attr-defined]
        cell.font = Font(name=FONT, size=13, bold=bold)
    top = HEADING_ROWS + 1
    for col, column in enumerate(table.columns, start=1):
        cell = ws.cell(row=top, column=col, value=column.title)  # type: ignore[attr-defined]
        cell.font = Font(name=FONT, size=12, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BOX
        ws.column_dimensions[get_column_letter(col)].width = column.width  # type: ignore[attr-defined]
    rows = [*table.rows, *([table.totals] if table.totals is not None else [])]
    names = [_style_name(column.kind, False) for column in table.columns]
    bold_names = [_style_name(column.kind, True) for column in table.columns]
    for r, values in enumerate(rows, start=top + 1):
        total = table.totals is not None and r == top + len(rows)
        styles = bold_names if total else names
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=_typed(value))  # type: ignore[attr-defined]
            cell.style = styles[col - 1]
    ws.freeze_panes = ws.cell(row=top + 1, column=1)  # type: ignore[attr-defined]
    ws.print_title_rows = f"{top}:{top}"  # type: ignore[attr-defined]


def render_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    _add_styles(workbook)
    taken: set[str] = set()
    tables = report.all_tables()
    first = workbook.active
    assert first is not None
    if not tables:
        first.title = _sheet_name(report.title, taken)
        for row, text in enumerate((report.scope_name, report.title, report.subject,
                                    report.moment_line), start=1):
            first.cell(row=row, column=1, value=text)
    for i, table in enumerate(tables):
        sheet = first if i == 0 else workbook.create_sheet()
        sheet.title = _sheet_name(table.name, taken)
        _write(sheet, report, table)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
