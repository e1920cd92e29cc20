"""A report as a DOCX in the Vietnamese administrative form (DOCUMENTS.md), with python-docx:
A4, margins 20 mm top and bottom, 30 mm left, 15 mm right; Times New Roman, body 14 pt;
the letterhead in two columns (issuer left, motto right, the date in italic under it); the
title and subject centred in bold; tables with a total row; addressees left and the
signature right; pages numbered from the second, centred at the top."""

from __future__ import annotations

import copy
import io
from datetime import date
from decimal import Decimal
from typing import cast

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.styles.style import ParagraphStyle
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from danvan.backend.reports import wording as w
from danvan.backend.reports.content import Column, Kind, Report, Table, Value

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 12
TEXT = qn("w:t")
WIDE_TABLE_PT = 10
WIDE_COLUMNS = 7
"""Above this, a table's text is set smaller."""
LANDSCAPE_COLUMNS = 10
"""Above this, a table goes on landscape pages."""


def cell_text(column: Column, value: Value) -> str:
    """How a value is written in the document (the XLSX keeps the value itself)."""
    if value is None:
        return ""
    if column.kind == Kind.PERCENT and isinstance(value, Decimal):
        return f"{w.number((value * 100).quantize(Decimal('0.1')))}%"
    if isinstance(value, date):
        return w.day(value)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return w.number(value)
    return str(value)


def _font(run_or_style: object, size: int, *, bold: bool = False, italic: bool = False,
          underline: bool = False) -> None:
    font = run_or_style.font  # type: ignore[attr-defined]
    font.name = FONT
    font.size = Pt(size)
    font.bold = bold
    font.italic = italic
    font.underline = underline
    props = run_or_style._element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = props.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        props.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def _line(container: Paragraph | _Cell | DocxDocument, text: str, size: int = BODY_PT, *,
          bold: bool = False, italic: bool = False, underline: bool = False,
          align: WD_ALIGN_PARAGRAPH | None = WD_ALIGN_PARAGRAPH.CENTER,
          first: bool = False, indent: bool = False, after: int = 0) -> Paragraph:
    if isinstance(container, Paragraph):
        paragraph = container
    elif first and isinstance(container, _Cell):
        paragraph = container.paragraphs[0]
    else:
        paragraph = container.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(0), Pt(after)
    if indent:
        fmt.first_line_indent = Cm(1.27)
    run = paragraph.add_run(text)
    _font(run, size, bold=bold, italic=italic, underline=underline)
    return paragraph


def _no_borders(table: object) -> None:
    props = table._tbl.tblPr  # type: ignore[attr-defined]
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    props.append(borders)


def _rule(paragraph: Paragraph) -> None:
    """A short line under the paragraph (the state form's issuer and motto)."""
    props = paragraph._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"),
                       ("w:color", "000000")):
        bottom.set(qn(key), value)
    border.append(bottom)
    props.append(border)


def _page_numbers(document: DocxDocument) -> None:
    """Numbered from the second page, centred at the top (the first page's header empty)."""
    section = document.sections[0]
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    _font(run, BODY_PT)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind is not None:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def _letterhead(document: DocxDocument, report: Report) -> None:
    head = report.letterhead
    form = w.section("forms", "party" if head.party else "state")
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    table.autofit = False
    left, right = table.rows[0].cells
    left.width, right.width = Cm(7.5), Cm(9.0)
    _line(left, head.superior, 14, first=True)
    issuer = _line(left, head.issuer, 14, bold=True)
    if head.party:
        _line(left, "*", 14)
    else:
        _rule(issuer)
    _line(left, head.number, 14, after=0)
    _line(right, form["motto"], 14 if head.party else 13, bold=True, underline=head.party,
          first=True)
    if not head.party:
        _rule(_line(right, form["motto_below"], 14, bold=True))
    _line(right, "", 14)
    _line(right, head.date_line(), 14, italic=True)


def _orient(document: DocxDocument, landscape: bool) -> None:
    """Start a new section (a new page) in that orientation: a wide table goes on landscape
    pages, numbered like the rest."""
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.different_first_page_header_footer = False
    long_side, short_side = Mm(297), Mm(210)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (
        (long_side, short_side) if landscape else (short_side, long_side))


def _usable_cm(document: DocxDocument) -> float:
    section = document.sections[-1]
    width = section.page_width - section.left_margin - section.right_margin  # type: ignore[operator]
    return float(width) / 360000


def _table_style(document: DocxDocument, size: int) -> ParagraphStyle:
    """A paragraph style for table text of ``size`` points (one per size, made once): a
    style per cell rather than fonts on every run keeps a table of thousands of rows fast."""
    name = f"Report table {size}"
    styles = document.styles
    if name in [s.name for s in styles]:
        return cast(ParagraphStyle, styles[name])
    style = cast(ParagraphStyle, styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH))
    style.base_style = styles["Normal"]
    _font(style, size)
    fmt = style.paragraph_format
    fmt.space_before, fmt.space_after = Pt(0), Pt(0)
    return style


def _table(document: DocxDocument, table: Table) -> None:
    size = WIDE_TABLE_PT if len(table.columns) > WIDE_COLUMNS else TABLE_PT
    style = _table_style(document, size)
    grid = document.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    usable = _usable_cm(document)
    share = sum(c.width for c in table.columns)
    widths = [Cm(usable * c.width / share) for c in table.columns]
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width
    header = grid.rows[0]
    _repeat_header(header)
    for cell, column, width in zip(header.cells, table.columns, widths, strict=True):
        cell.width = width
        _line(cell, column.title, size, bold=True, first=True)
    # One row made the usual way, then copied for every row: python-docx's own row and cell
    # calls cost a millisecond each, too slow for a list of thousands of models.
    template = grid.add_row()
    for cell, column in zip(template.cells, table.columns, strict=True):
        paragraph = cell.paragraphs[0]
        paragraph.style = style
        if column.kind != Kind.TEXT:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run("-")  # its w:t is filled in below
    model = template._tr
    body = model.getparent()
    body.remove(model)
    rows = [*table.rows, *([table.totals] if table.totals is not None else [])]
    for r, values in enumerate(rows, start=1):
        tr = copy.deepcopy(model)
        body.append(tr)
        bold = table.totals is not None and r == len(rows)
        for tc, column, value in zip(tr.tc_lst, table.columns, values, strict=True):
            run = tc.p_lst[0].r_lst[0]
            run.find(TEXT).text = cell_text(column, value)
            if bold:
                run.get_or_add_rPr().append(OxmlElement("w:b"))


def _repeat_header(row: object) -> None:
    props = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    props.append(element)


def _signature(document: DocxDocument, report: Report) -> None:
    head = report.letterhead
    form = w.section("forms", "party" if head.party else "state")
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(8.0), Cm(8.5)
    _line(left, form["addressees_title"], 12, bold=not head.party, italic=not head.party,
          underline=head.party, align=WD_ALIGN_PARAGRAPH.LEFT, first=True)
    for line in head.addressees:
        _line(left, line, 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    if head.mandate:
        _line(right, head.mandate, 14, bold=True, first=True)
    _line(right, head.office, 14, bold=True, first=not head.mandate)
    for _ in range(4):
        _line(right, "", 14)
    _line(right, head.signer, 14, bold=True)


def render_docx(report: Report) -> bytes:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    _font(document.styles["Normal"], BODY_PT)
    _page_numbers(document)
    _letterhead(document, report)
    _line(document, "", BODY_PT)
    _line(document, report.title, BODY_PT, bold=True)
    _line(document, report.subject, BODY_PT, bold=True, after=12)
    for part in report.sections:
        table = part.table if part.table is not None and part.table.rows else None
        wide = table is not None and len(table.columns) > LANDSCAPE_COLUMNS
        if wide:  # the heading goes with its table
            _orient(document, landscape=True)
        if part.heading:
            _line(document, part.heading, BODY_PT, bold=True, align=WD_ALIGN_PARAGRAPH.LEFT,
                  indent=True, after=6)
        for text in part.paragraphs:
            _line(document, text, BODY_PT, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True,
                  after=6)
        if table is not None:  # an empty one: its sentence says so
            _table(document, table)
            if wide:
                _orient(document, landscape=False)
            else:
                _line(document, "", 6)
    for text in report.closing:
        _line(document, text, BODY_PT, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True, after=6)
    _line(document, "", BODY_PT)
    _signature(document, report)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
