"""Vietnamese names of the read API's enum values, and the template filters that use them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

FIELDS = {
    "PARTY_BUILDING": "Xây dựng Đảng, hệ thống chính trị",
    "ECONOMY": "Kinh tế",
    "CULTURE_SOCIETY": "Văn hóa – xã hội",
    "DEFENSE_SECURITY": "Quốc phòng – an ninh",
    "DIGITAL_TRANSFORMATION": "Chuyển đổi số",
}
STATES = {
    "DRAFT": "Nháp", "SUBMITTED": "Đã gửi", "RETURNED": "Trả lại", "REJECTED": "Từ chối",
    "ACCEPTED": "Đã tiếp nhận", "SELF_ASSESSED": "Đã tự đánh giá", "EVALUATED": "Đã đánh giá",
    "PROPOSED": "Đề nghị công nhận", "RECOGNIZED_TENANT": "Công nhận cấp xã",
    "NOMINATED": "Đề nghị cấp tỉnh", "RECOGNIZED_PROVINCE": "Công nhận cấp tỉnh",
    "COPY_RECEIVED": "Đã nhận bản sao", "DISCONTINUED": "Dừng", "REVOKED": "Thu hồi",
}
QUOTA_STATUS = {"MET": "Đạt", "MISSED": "Không đạt", "IN_PROGRESS": "Đang thực hiện"}
TENANT_KINDS = {"COMMUNE": "Xã", "WARD": "Phường", "SPECIAL_ZONE": "Đặc khu",
                "AGENCY": "Cơ quan"}
LEVELS = {"TENANT": "Cấp xã", "PROVINCE": "Cấp tỉnh"}
UNIT_KINDS = {
    "PARTY_CELL": "Chi bộ", "PARTY_COMMITTEE": "Đảng ủy", "FRONT": "Mặt trận Tổ quốc",
    "MASS_ORG": "Đoàn thể", "GOV_OFFICE": "Cơ quan chính quyền", "SCHOOL": "Trường học",
    "POLICE": "Công an", "MILITARY": "Quân sự", "OTHER": "Khác",
}
ROLES = {
    "province_admin": "Quản trị tỉnh", "province_analyst": "Phân tích tỉnh",
    "tenant_admin": "Quản trị đơn vị", "reviewer": "Ban Xây dựng Đảng (thẩm định)",
    "approver": "Thường trực (phê duyệt)", "unit_user": "Người dùng chi bộ/đơn vị",
    "inspector": "Thanh tra", "national_analyst": "Phân tích toàn quốc",
}


def _label(table: dict[str, str]) -> Any:
    def label(value: Any) -> str:
        if value is None:
            return "—"
        key = str(value)
        return table.get(key) or table.get(key.upper()) or table.get(key.lower()) or key
    return label


def number(value: Any) -> str:
    """Vietnamese grouping: 1.234.567 and 12,5."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except ArithmeticError:
            return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def when(value: Any) -> str:
    """A moment in Vietnam time, dd/mm/yyyy hh:mm."""
    if not value:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            try:
                value = date.fromisoformat(value)
            except ValueError:
                return value
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def register_filters(env: Any) -> None:
    env.filters.update({
        "field_vi": _label(FIELDS), "state_vi": _label(STATES),
        "status_vi": _label(QUOTA_STATUS), "tenant_kind_vi": _label(TENANT_KINDS),
        "level_vi": _label(LEVELS), "unit_kind_vi": _label(UNIT_KINDS),
        "role_vi": _label(ROLES), "number": number, "when": when,
    })
