"""What a report says, apart from its format: a letterhead, a title, sections of paragraphs
and tables. ``figures.py`` fills it from the read models; ``docx_form.py``,
``xlsx_sheet.py`` lay it out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

Value = str | int | Decimal | date | None


class Kind(StrEnum):
    """What a column holds: how it is typed in XLSX and written in DOCX."""

    TEXT = "text"
    INT = "int"
    MONEY = "money"
    """Đồng, whole."""
    DECIMAL = "decimal"
    DATE = "date"
    PERCENT = "percent"
    """A share (0.5 is 50 %)."""


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = Kind.TEXT
    width: int = 14
    """In characters (XLSX); the DOCX table shares its width in the same proportions."""
    key: str = ""
    """A machine name (tests and XLSX readers find a column by it)."""


@dataclass(frozen=True)
class Table:
    name: str
    """The sheet's name in XLSX (at most 31 characters)."""
    columns: tuple[Column, ...]
    rows: Sequence[tuple[Value, ...]]
    totals: tuple[Value, ...] | None = None
    """The last row, "Tổng cộng": each summed column's sum of ``rows`` (None elsewhere)."""


@dataclass(frozen=True)
class Section:
    heading: str = ""
    paragraphs: tuple[str, ...] = ()
    table: Table | None = None


@dataclass(frozen=True)
class Letterhead:
    """The administrative form of the issuer (DOCUMENTS.md): Party or state."""

    party: bool
    superior: str
    """Top left, above the issuer: ``ĐẢNG BỘ TỈNH LÀO CAI`` / ``UBND TỈNH LÀO CAI``."""
    issuer: str
    number: str
    """The whole line: ``Số 125-BC/ĐU`` (Party), ``Số: 12/BC-UBND`` (state)."""
    place: str
    issued_on: date
    mandate: str
    """``T/M BAN THƯỜNG VỤ``, ``TM. ỦY BAN NHÂN DÂN``."""
    office: str
    """``BÍ THƯ``, ``CHỦ TỊCH``."""
    signer: str
    addressees: tuple[str, ...]

    def date_line(self) -> str:
        """``Yên Bái, ngày 04 tháng 12 năm 2026``: days 1–9 and months 1–2 take a 0."""
        d = self.issued_on
        month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
        return f"{self.place}, ngày {d.day:02d} tháng {month} năm {d.year}"


@dataclass(frozen=True)
class Report:
    letterhead: Letterhead
    title: str
    """``BÁO CÁO``, ``DANH SÁCH``."""
    subject: str
    scope_name: str
    moment_line: str
    """Which moment the figures are counted at, in words."""
    sections: tuple[Section, ...] = ()
    closing: tuple[str, ...] = ()

    def all_tables(self) -> list[Table]:
        return [s.table for s in self.sections if s.table is not None]
