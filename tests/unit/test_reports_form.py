"""The pure parts of the official reports: what may be asked, the moment a report counts at,
the date line's leading zeros, Vietnamese numbers, and the RFC 6266 file name."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
from docx import Document

from danvan.backend.reports.content import Letterhead, Report, Section
from danvan.backend.reports.docx_form import render_docx
from danvan.backend.reports.naming import content_disposition, file_name
from danvan.backend.reports.scope import Scope, letterhead
from danvan.backend.reports.wording import number
from danvan.domain.base import InvalidInput
from danvan.domain.clock import VIETNAM
from danvan.domain.reports import (
    ReportFormat,
    ReportKind,
    ReportPeriod,
    ReportRequest,
    period_end,
)
from danvan.projections.directory.rows import TenantRef


def ask(**overrides: object) -> ReportRequest:
    values: dict[str, object] = {"kind": ReportKind.REVIEW, "year": 2026,
                                 "format": ReportFormat.DOCX, **overrides}
    return ReportRequest(**values)  # type: ignore[arg-type]


def test_a_period_counts_up_to_its_last_moment_once_it_is_over() -> None:
    end = period_end(2026, ReportPeriod.FIRST_HALF)
    assert end == datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=VIETNAM)
    assert period_end(2026, ReportPeriod.YEAR).date() == date(2026, 12, 31)
    december = datetime(2026, 12, 4, tzinfo=UTC)
    assert ask(period=ReportPeriod.FIRST_HALF).moment(december) == end
    assert ask(period=ReportPeriod.YEAR).moment(december) is None  # not over: as it stands
    asked = datetime(2026, 3, 1, tzinfo=VIETNAM)
    assert ask(period=ReportPeriod.FIRST_HALF, as_of=asked).moment(december) == asked


def test_a_request_is_checked_member_by_member_and_survives_its_json() -> None:
    with pytest.raises(InvalidInput) as refused:
        ask(year=1999, as_of=datetime(2026, 1, 1), issuer="x" * 501,
            addressees=("- A",) * 21).checked()
    assert set(refused.value.errors) == {"year", "as_of", "issuer", "addressees"}
    request = ask(period=ReportPeriod.NINE_MONTHS, issuer=" Đảng ủy phường ",
                  addressees=("- Lưu VP",)).checked()
    assert request.issuer == "Đảng ủy phường"
    assert ReportRequest.from_params(request.params()) == request


def test_the_date_line_puts_a_zero_before_days_below_ten_and_months_one_and_two() -> None:
    def line(day: date) -> str:
        return Letterhead(True, "", "", "", "Yên Bái", day, "", "", "", ()).date_line()

    assert line(date(2026, 12, 4)) == "Yên Bái, ngày 04 tháng 12 năm 2026"
    assert line(date(2026, 2, 15)) == "Yên Bái, ngày 15 tháng 02 năm 2026"
    assert line(date(2026, 3, 9)) == "Yên Bái, ngày 09 tháng 3 năm 2026"


def test_numbers_are_grouped_with_dots_and_decimals_take_a_comma() -> None:
    assert number(8597000000) == "8.597.000.000"
    assert number(Decimal("24675.50")) == "24.675,5"
    assert number(Decimal("12.000")) == "12"


def test_the_file_name_is_vietnamese_in_filename_star_with_an_ascii_fallback() -> None:
    name = file_name(ReportKind.QUOTA, 2026, None, "Phường Yên Bái", ReportFormat.PDF)
    assert name == "Báo cáo kết quả thực hiện chỉ tiêu năm 2026 - Phường Yên Bái.pdf"
    header = content_disposition(name)
    fallback, star = header.split("; filename*=UTF-8''")
    assert fallback == ('attachment; filename="Bao cao ket qua thuc hien chi tieu nam 2026 '
                        '- Phuong Yen Bai.pdf"')
    assert unquote(star) == name
    assert file_name(ReportKind.REVIEW, 2026, ReportPeriod.FIRST_HALF, 'A/B"C',
                     ReportFormat.DOCX) == "Báo cáo sơ kết 6 tháng năm 2026 - A B C.docx"


def test_a_state_issuer_gets_the_state_form_and_an_agency_too() -> None:
    ward = Scope("15", "Tỉnh Lào Cai", TenantRef("t1", "04252", "Phường Yên Bái", "ward", "15"))
    state = letterhead(ward, ask(issuer="Ủy ban nhân dân phường Yên Bái", number="12/BC-UBND",
                                 signer="Vũ Văn Trực"), "BC", date(2026, 1, 5))
    assert (state.party, state.superior, state.issuer, state.number) == (
        False, "UBND TỈNH LÀO CAI", "ỦY BAN NHÂN DÂN PHƯỜNG YÊN BÁI", "Số: 12/BC-UBND")
    assert state.date_line() == "Yên Bái, ngày 05 tháng 01 năm 2026"
    agency = Scope("15", "Tỉnh Lào Cai", TenantRef("t2", "S01", "Sở Nội vụ", "agency", "15"))
    assert not letterhead(agency, ask(), "BC", date(2026, 1, 5)).party
    party = letterhead(ward, ask(), "BC", date(2026, 1, 5))
    assert (party.party, party.issuer, party.mandate) == (
        True, "ĐẢNG ỦY PHƯỜNG YÊN BÁI", "T/M BAN THƯỜNG VỤ")

    document = Document(io.BytesIO(render_docx(Report(
        state, "BÁO CÁO", "Tổng kết", "Phường Yên Bái", "tính đến ngày 05/01/2026",
        (Section(paragraphs=("Nội dung.",)),)))))
    left, right = document.tables[0].rows[0].cells
    assert [p.text for p in left.paragraphs] == [
        "UBND TỈNH LÀO CAI", "ỦY BAN NHÂN DÂN PHƯỜNG YÊN BÁI", "Số: 12/BC-UBND"]
    assert [p.text for p in right.paragraphs if p.text] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        "Yên Bái, ngày 05 tháng 01 năm 2026"]
    addressees, signature = document.tables[-1].rows[0].cells
    title = addressees.paragraphs[0]
    assert title.text == "Nơi nhận:" and title.runs[0].bold and title.runs[0].italic
    assert [p.text for p in signature.paragraphs if p.text] == [
        "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Vũ Văn Trực"]
