"""A report's file name, in Vietnamese (``Bao-cao-chi-tieu-2026-Phuong-Yen-Bai.docx`` would
lose the language): ``Báo cáo chỉ tiêu năm 2026 - Phường Yên Bái.docx``, and the RFC 6266
``Content-Disposition`` that carries it (``filename*=UTF-8''…``, with an ASCII fallback)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from danvan.domain.reports import ReportFormat, ReportKind, ReportPeriod

TITLES = {ReportKind.REGISTRATION_LIST: "Danh sách đăng ký mô hình",
          ReportKind.RECOGNITION_LIST: "Danh sách mô hình được công nhận",
          ReportKind.QUOTA: "Báo cáo kết quả thực hiện chỉ tiêu",
          ReportKind.REVIEW: "Báo cáo tổng kết"}
REVIEWS = {ReportPeriod.FIRST_HALF: "Báo cáo sơ kết 6 tháng",
           ReportPeriod.NINE_MONTHS: "Báo cáo sơ kết 9 tháng",
           ReportPeriod.YEAR: "Báo cáo tổng kết"}
MEDIA_TYPES = {
    ReportFormat.DOCX:
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.PDF: "application/pdf",
}


def file_name(kind: ReportKind, year: int, period: ReportPeriod | None, scope_name: str,
              fmt: ReportFormat) -> str:
    title = REVIEWS[period or ReportPeriod.YEAR] if kind == ReportKind.REVIEW else TITLES[kind]
    safe_scope = re.sub(r'[\\/:*?"<>|\x00-\x1f]', " ", scope_name).strip()
    return unicodedata.normalize("NFC", f"{title} năm {year} - {safe_scope}.{fmt.value}")


def ascii_fallback(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9 ._-]", "_", plain)


def content_disposition(name: str) -> str:
    return (f'attachment; filename="{ascii_fallback(name)}"; '
            f"filename*=UTF-8''{quote(name, safe='')}")
