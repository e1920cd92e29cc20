"""What an import file holds, read defensively: a header and rows of text, or a ``FileProblem``.

    table = read_table(content, columns)       # XLSX (openpyxl, read-only) or CSV (UTF-8, BOM ok)
    table.rows                                 # [(row number, {machine name: text}), ...]
    template(columns)                          # an XLSX with the Vietnamese headers

Every file is hostile until read. What is refused, with a Vietnamese message naming the row
(1 = the first row after the header; 0 = the header, or the file as a whole) and the column's
machine name (``file`` for the file as a whole):

- more than ``MAX_FILE_BYTES`` (the route refuses those first), a ZIP that is not a workbook,
  one whose members would inflate past ``MAX_INFLATED_BYTES`` or number more than
  ``MAX_MEMBERS`` (a zip bomb), XML entities (``defusedxml``, which openpyxl uses when
  installed), CSV that is not UTF-8 or holds a NUL;
- more than the kind's row bound, a column beyond ``MAX_COLUMNS``, a cell over ``MAX_CELL``
  characters, a formula or an error value in a cell (only values are imported: a formula's
  result is whatever the last program to save the file computed, or nothing);
- a header naming an unknown column or one twice, or missing a required one.

Headers are the template's Vietnamese ones or the machine names, in any order, compared
without case, surrounding space or a trailing ``*`` (the template's mark of a required column).
Cells are text: numbers as written (``2025``, not ``2025.0``), dates as ``YYYY-MM-DD``,
booleans as ``true``/``false``; empty rows are skipped (their numbers still count).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from danvan.domain.base import normalize_key

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_INFLATED_BYTES = 48 * 1024 * 1024
MAX_MEMBERS = 500
MAX_COLUMNS = 30
MAX_CELL = 2_000
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    name: str
    """The machine name (``field`` in a job's errors)."""
    header: str
    """The template's Vietnamese header."""
    required: bool = True
    hint: str = ""
    """What the template says goes in it."""


@dataclass(frozen=True)
class Problem:
    row: int
    """1 for the first row after the header; 0 for the header, or the file as a whole."""
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


class FileProblem(Exception):
    """The file cannot be read as an import of its kind: every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(problems[0].message)
        self.problems = list(problems)


def refuse(message: str, row: int = 0, field: str | None = "file") -> FileProblem:
    return FileProblem([Problem(row, field, message)])


class Fault(str):
    """A cell that holds no value to import (a formula, an error): its text says why."""


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    """The machine names the header named, in its order."""
    rows: list[tuple[int, dict[str, str]]]


def is_xlsx(content: bytes) -> bool:
    return content.startswith(b"PK\x03\x04")


def read_table(content: bytes, columns: Sequence[Column], *, max_rows: int) -> Table:
    """The header and rows of ``content`` (XLSX when it is a ZIP, else CSV)."""
    if len(content) > MAX_FILE_BYTES:
        raise refuse(f"tệp quá lớn: tối đa {MAX_FILE_BYTES // (1024 * 1024)} MB")
    lines = _xlsx_lines(content) if is_xlsx(content) else _csv_lines(content)
    return _table(lines, columns, max_rows)


def _table(lines: Iterator[list[str]], columns: Sequence[Column], max_rows: int) -> Table:
    header: list[str] | None = None
    for values in lines:
        if any(v.strip() for v in values):
            header = values
            break
    if header is None:
        raise refuse("tệp không có dòng tiêu đề (tên cột)")
    names = _columns_of(header, columns)
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[Problem] = []
    for number, values in enumerate(lines, start=1):
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= max_rows:
            raise refuse(f"tệp có quá nhiều dòng: tối đa {max_rows} dòng", row=number)
        row: dict[str, str] = {}
        for index, value in enumerate(values):
            name = names[index] if index < len(names) else None
            if name is None:
                if value.strip():
                    problems.append(Problem(number, None, "giá trị nằm ngoài các cột có tiêu "
                                                          "đề"))
                continue
            if isinstance(value, Fault):
                problems.append(Problem(number, name, str(value)))
                continue
            if len(value) > MAX_CELL:
                problems.append(Problem(number, name, f"ô quá dài: tối đa {MAX_CELL} ký tự"))
                continue
            row[name] = value
        rows.append((number, row))
        if len(problems) >= 100:
            break
    if problems:
        raise FileProblem(problems)
    return Table(tuple(n for n in names if n is not None), rows)


def _columns_of(header: list[str], columns: Sequence[Column]) -> list[str | None]:
    """Each header cell's machine name (None: an empty cell); every problem of the header."""
    known: dict[str, str] = {}
    for column in columns:
        known[normalize_key(column.name)] = column.name
        known[normalize_key(column.header)] = column.name
    names: list[str | None] = []
    problems: list[Problem] = []
    for cell in header:
        key = normalize_key(cell).rstrip("*").strip()
        if not key:
            names.append(None)
            continue
        name = known.get(key)
        if name is None:
            problems.append(Problem(0, cell[:100], "cột không xác định; các cột được chấp nhận: "
                                    + ", ".join(c.name for c in columns)))
        elif name in names:
            problems.append(Problem(0, name, "cột bị lặp lại"))
        names.append(name)
    for column in columns:
        if column.required and column.name not in names:
            problems.append(Problem(0, column.name, f"thiếu cột bắt buộc ({column.header})"))
    if problems:
        raise FileProblem(problems)
    return names


# --- CSV ---------------------------------------------------------------------------------

def _csv_lines(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse("tệp không phải XLSX, cũng không phải CSV mã hóa UTF-8") from exc
    if "\x00" in text:
        raise refuse("tệp CSV chứa ký tự NUL")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    return _guarded(reader)


def _guarded(reader: Iterable[list[str]]) -> Iterator[list[str]]:
    try:
        for values in reader:
            if len(values) > MAX_COLUMNS:
                raise refuse(f"quá nhiều cột: tối đa {MAX_COLUMNS}")
            yield values
    except csv.Error as exc:
        raise refuse(f"tệp CSV không đọc được ({exc})") from exc


# --- XLSX --------------------------------------------------------------------------------

def _xlsx_lines(content: bytes) -> Iterator[list[str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise refuse("tệp không phải XLSX hợp lệ (không đọc được nén ZIP)") from exc
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_INFLATED_BYTES:
        raise refuse("tệp XLSX giải nén quá lớn")
    try:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        sheet = book.worksheets[0]
    except Exception as exc:  # openpyxl raises many kinds for a file that is no workbook
        raise refuse("tệp không phải XLSX hợp lệ") from exc
    return _sheet_lines(book, sheet)


def _sheet_lines(book: Any, sheet: Any) -> Iterator[list[str]]:
    try:
        for cells in sheet.iter_rows(max_col=MAX_COLUMNS + 1):
            values: list[str] = []
            for index, cell in enumerate(cells):
                value = _cell_text(cell)
                if index >= MAX_COLUMNS and value:
                    raise refuse(f"quá nhiều cột: tối đa {MAX_COLUMNS}")
                values.append(value)
            yield values
    except FileProblem:
        raise
    except Exception as exc:
        raise refuse(f"tệp XLSX không đọc được ({type(exc).__name__})") from exc
    finally:
        book.close()


def _cell_text(cell: Any) -> str:
    value = getattr(cell, "value", None)
    kind = getattr(cell, "data_type", None)
    if kind == "f":
        return Fault("ô chứa công thức: chỉ nhập giá trị, không nhập công thức")
    if kind == "e":
        return Fault(f"ô chứa giá trị lỗi ({str(value)[:20]})")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


# --- templates ---------------------------------------------------------------------------

def template(columns: Sequence[Column], title: str) -> bytes:
    """An XLSX whose first sheet has the Vietnamese headers (``*``: required) and whose
    second explains each column and its machine name."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append([c.header + (" *" if c.required else "") for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[cell_letter(index)].width = max(18, len(column.header) + 4)
    guide = book.create_sheet("Hướng dẫn")
    guide.append(["Cột", "Tên máy", "Bắt buộc", "Nội dung"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for column in columns:
        guide.append([column.header, column.name, "có" if column.required else "không",
                      column.hint])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cell_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))
