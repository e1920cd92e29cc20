"""Official reports (API.md "Reports"): what may be asked for, checked once.

A report is asked for a tenant or a province: a kind, a year, maybe a period of the year (a
six-month review counts what had happened by 30 June) or a moment (``as_of``), a format, and
what the issuing office fills in itself (issuer, number and symbol, signer, addressees),
since the system does not sign. The request is an ``Operation.Requested`` event of kind
``report``; its job writes the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from danvan.domain.base import InvalidInput
from danvan.domain.clock import VIETNAM
from danvan.domain.limits import MAX_NAME
from danvan.domain.targets import FIRST_YEAR, LAST_YEAR
from danvan.domain.validation import Errors

MAX_ADDRESSEES = 20


class ReportKind(StrEnum):
    REGISTRATION_LIST = "registration_list"
    """Danh sách đăng ký mô hình "Dân vận khéo" of the year."""
    RECOGNITION_LIST = "recognition_list"
    """Danh sách mô hình đề nghị / được công nhận, with decision numbers and dates."""
    QUOTA = "quota"
    """Kết quả thực hiện chỉ tiêu: per tenant for a province, per unit for a tenant."""
    REVIEW = "review"
    """Báo cáo sơ kết / tổng kết phong trào for a period."""


class ReportFormat(StrEnum):
    DOCX = "docx"
    XLSX = "xlsx"
    PDF = "pdf"


class ReportPeriod(StrEnum):
    """Which part of the year a report covers: it counts what had happened by its end."""

    FIRST_HALF = "h1"
    NINE_MONTHS = "9m"
    YEAR = "year"


PERIOD_END_MONTH = {ReportPeriod.FIRST_HALF: 6, ReportPeriod.NINE_MONTHS: 9,
                    ReportPeriod.YEAR: 12}


def period_end(year: int, period: ReportPeriod) -> datetime:
    """The last microsecond of the period (Vietnam time)."""
    month = PERIOD_END_MONTH[period]
    if month == 12:
        following = datetime(year + 1, 1, 1, tzinfo=VIETNAM)
    else:
        following = datetime(year, month + 1, 1, tzinfo=VIETNAM)
    return following - timedelta(microseconds=1)


@dataclass(frozen=True)
class ReportRequest:
    kind: ReportKind
    year: int
    format: ReportFormat
    period: ReportPeriod | None = None
    as_of: datetime | None = None
    issuer: str | None = None
    number: str | None = None
    signer: str | None = None
    addressees: tuple[str, ...] = ()

    def checked(self) -> ReportRequest:
        """The request with its texts stored NFC and trimmed; ``InvalidInput`` naming each
        member refused."""
        errors = Errors()
        errors.integer("year", self.year, minimum=FIRST_YEAR, maximum=LAST_YEAR)
        if self.as_of is not None:
            if self.as_of.utcoffset() is None:
                errors.add("as_of", "must carry a UTC offset, e.g. 2026-06-30T23:59:59+07:00")
            elif not FIRST_YEAR <= self.as_of.astimezone(VIETNAM).year <= LAST_YEAR:
                errors.add("as_of", f"must fall within the years {FIRST_YEAR} to {LAST_YEAR}")
        issuer = errors.text("issuer", self.issuer, required=False, max_length=MAX_NAME)
        number = errors.text("number", self.number, required=False, max_length=MAX_NAME)
        signer = errors.text("signer", self.signer, required=False, max_length=MAX_NAME)
        if len(self.addressees) > MAX_ADDRESSEES:
            errors.add("addressees", f"at most {MAX_ADDRESSEES} lines")
        addressees = tuple(errors.text("addressees", line, max_length=MAX_NAME) or ""
                           for line in self.addressees[:MAX_ADDRESSEES])
        errors.raise_if_any()
        return ReportRequest(self.kind, self.year, self.format, self.period, self.as_of,
                             issuer or None, number or None, signer or None, addressees)

    def params(self) -> dict[str, Any]:
        """As the event and the job keep it (JSON)."""
        return {"kind": self.kind.value, "year": self.year, "format": self.format.value,
                "period": self.period.value if self.period else None,
                "as_of": self.as_of.isoformat() if self.as_of else None,
                "issuer": self.issuer, "number": self.number, "signer": self.signer,
                "addressees": list(self.addressees)}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ReportRequest:
        try:
            return cls(ReportKind(params["kind"]), int(params["year"]),
                       ReportFormat(params["format"]),
                       ReportPeriod(params["period"]) if params.get("period") else None,
                       datetime.fromisoformat(params["as_of"]) if params.get("as_of") else None,
                       params.get("issuer"), params.get("number"), params.get("signer"),
                       tuple(params.get("addressees") or ()))
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidInput({"report": f"not a report request: {exc}"}) from exc

    def moment(self, now: datetime) -> datetime | None:
        """The moment the figures are counted at: ``as_of``; else the end of the period when
        it has passed; else None (the read models as they stand)."""
        if self.as_of is not None:
            return self.as_of
        if self.period is not None:
            end = period_end(self.year, self.period)
            if end <= now:
                return end
        return None
