"""User-facing text: Vietnamese by default, English when the client asks (``Accept-Language: en``).

Problems are keyed by their stable ``code``; field messages (from the domain's ``Errors`` and
from msgspec's decoder) are matched by pattern and rendered in the chosen language. Add a code
to ``PROBLEMS`` or a pattern to ``FIELD_MESSAGES`` when the domain grows new refusals; an
unknown code falls back to a generic title and the domain's own (English) message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Lang = Literal["vi", "en"]
DEFAULT_LANG: Lang = "vi"


def negotiate(accept_language: str | None) -> Lang:
    """The client's preferred language among ours: English only when it ranks English first."""
    if not accept_language:
        return DEFAULT_LANG
    best: tuple[float, str] | None = None
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in ("vi", "en") and (best is None or quality > best[0]):
            best = (quality, primary)
    if best is None or best[0] <= 0:
        return DEFAULT_LANG
    return "en" if best[1] == "en" else "vi"


@dataclass(frozen=True)
class Text:
    vi: str
    en: str

    def render(self, lang: Lang, **params: object) -> str:
        template = self.en if lang == "en" else self.vi
        if lang != "en":
            params = {k: VI_LABELS.get(v, v) if isinstance(v, str) else v
                      for k, v in params.items()}
        return template.format(**params) if params else template


VI_LABELS: dict[str, str] = {
    # model states
    "draft": "bản nháp", "submitted": "đã nộp", "returned": "bị trả lại để chỉnh sửa",
    "rejected": "không được chấp nhận", "accepted": "đã được chấp nhận vào danh sách",
    "self_assessed": "đã tự đánh giá", "evaluated": "đã được đánh giá",
    "proposed": "đã được đề nghị công nhận", "recognized_tenant": "đã được công nhận cấp xã",
    "nominated": "đã được đề xuất lên tỉnh", "recognized_province": "đã được công nhận cấp tỉnh",
    "copy_received": "đã nhận bản sao", "discontinued": "đã dừng", "revoked": "đã bị thu hồi",
    # model actions
    "amend": "chỉnh sửa", "submit": "nộp", "return": "trả lại", "reject": "không chấp nhận",
    "accept": "chấp nhận", "receive_copy": "ghi nhận bản sao", "progress": "báo cáo tiến độ",
    "inspection": "kiểm tra, giám sát", "self_assessment": "tự đánh giá",
    "evaluation": "đánh giá", "proposal": "đề nghị công nhận",
    "recognition_tenant": "công nhận cấp xã", "recognition_province": "công nhận cấp tỉnh",
    "nomination": "đề xuất lên tỉnh", "revocation_tenant": "thu hồi công nhận cấp xã",
    "revocation_province": "thu hồi công nhận cấp tỉnh", "discontinuation": "dừng mô hình",
    "maintenance": "duy trì sang năm sau",
}
"""Vietnamese for the values a message quotes (states, actions)."""


# code -> (title, detail). Detail templates may use the params a Problem carries.
PROBLEMS: dict[str, tuple[Text, Text]] = {
    "unauthenticated": (
        Text("Chưa xác thực", "Not authenticated"),
        Text("Cần đăng nhập: gửi kèm mã truy cập hợp lệ (Authorization: Bearer).",
             "Sign in first: send a valid access token (Authorization: Bearer)."),
    ),
    "token_expired": (
        Text("Mã truy cập hết hạn", "Access token expired"),
        Text("Mã truy cập đã hết hạn, hãy đăng nhập lại.",
             "The access token has expired; sign in again."),
    ),
    "invalid_credentials": (
        Text("Sai thông tin đăng nhập", "Invalid credentials"),
        Text("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
    ),
    "forbidden": (
        Text("Không có quyền", "Forbidden"),
        Text("Bạn không có quyền thực hiện thao tác này trong phạm vi này.",
             "You may not do this in this scope."),
    ),
    "not_permitted": (
        Text("Không có quyền", "Not permitted"),
        Text("Bạn không có quyền thực hiện thao tác này.", "You may not do this."),
    ),
    "inspector_needs_province_admin": (
        Text("Không có quyền", "Not permitted"),
        Text("Chỉ Ban Tuyên giáo và Dân vận Tỉnh ủy được tạo tài khoản kiểm tra.",
             "Only a province admin creates inspectors."),
    ),
    "not_found": (
        Text("Không tìm thấy", "Not found"),
        Text("Không tìm thấy tài nguyên được yêu cầu.", "The requested resource does not exist."),
    ),
    "method_not_allowed": (
        Text("Phương thức không được hỗ trợ", "Method not allowed"),
        Text("Phương thức HTTP này không áp dụng cho đường dẫn này.",
             "This HTTP method does not apply to this path."),
    ),
    "invalid_input": (
        Text("Dữ liệu không hợp lệ", "Invalid input"),
        Text("Dữ liệu gửi lên không hợp lệ, xem danh sách lỗi theo từng trường.",
             "The request is invalid; see the errors for each field."),
    ),
    "malformed_body": (
        Text("Nội dung không đọc được", "Malformed body"),
        Text("Nội dung yêu cầu không phải JSON hợp lệ.", "The request body is not valid JSON."),
    ),
    "idempotency_key_reused": (
        Text("Khóa Idempotency-Key đã dùng", "Idempotency-Key reused"),
        Text("Khóa Idempotency-Key này đã được dùng cho một yêu cầu có nội dung khác.",
             "This Idempotency-Key was already used with a different request body."),
    ),
    "invalid_header": (
        Text("Tiêu đề không hợp lệ", "Invalid header"),
        Text("Tiêu đề {header} không hợp lệ.", "The {header} header is invalid."),
    ),
    "precondition_failed": (
        Text("Phiên bản đã thay đổi", "Precondition failed"),
        Text("Đối tượng đã ở phiên bản {current}, không phải {expected} như If-Match.",
             "The resource is at version {current}, not {expected} as If-Match says."),
    ),
    "version_conflict": (
        Text("Xung đột phiên bản", "Version conflict"),
        Text("Đối tượng vừa được thay đổi hoặc đã tồn tại; tải lại rồi thử lại.",
             "The resource changed meanwhile or already exists; reload and retry."),
    ),
    "illegal_transition": (
        Text("Không thể chuyển trạng thái", "Illegal transition"),
        Text("Không thể «{action}» khi mô hình {state}.",
             "'{action}' is not allowed when the model is {state}."),
    ),
    "idempotency_in_progress": (
        Text("Yêu cầu đang được xử lý", "Request in progress"),
        Text("Một yêu cầu cùng Idempotency-Key đang được xử lý; hãy thử lại sau.",
             "A request with this Idempotency-Key is being processed; retry later."),
    ),
    "payload_too_large": (
        Text("Nội dung quá lớn", "Payload too large"),
        Text("Nội dung yêu cầu vượt quá {limit} byte.",
             "The request body exceeds {limit} bytes."),
    ),
    "rate_limited": (
        Text("Quá nhiều yêu cầu", "Too many requests"),
        Text("Bạn đã thử quá nhiều lần; hãy thử lại sau {retry_after} giây.",
             "Too many attempts; retry in {retry_after} seconds."),
    ),
    "store_unavailable": (
        Text("Dịch vụ tạm thời không khả dụng", "Service unavailable"),
        Text("Kho dữ liệu tạm thời không phản hồi; hãy thử lại sau.",
             "The data store is not answering right now; retry later."),
    ),
    "bad_request": (
        Text("Yêu cầu không hợp lệ", "Bad request"),
        Text("Yêu cầu không hợp lệ.", "The request is invalid."),
    ),
    "internal_error": (
        Text("Lỗi hệ thống", "Internal error"),
        Text("Đã xảy ra lỗi không mong muốn; mã yêu cầu: {request_id}.",
             "An unexpected error occurred; request id: {request_id}."),
    ),
    "user_inactive": (
        Text("Tài khoản đã bị khóa", "Account deactivated"),
        Text("Tài khoản này đã ngừng hoạt động.", "This account is deactivated."),
    ),
    "unit_closed": (
        Text("Đơn vị đã đóng", "Unit closed"),
        Text("Đơn vị này đã ngừng hoạt động.", "This unit is closed."),
    ),
    "list_already_approved": (
        Text("Danh sách đã được phê duyệt", "List already approved"),
        Text("Danh sách mô hình của năm này đã được phê duyệt.",
             "This year's list of models is already approved."),
    ),
    "task_completed": (
        Text("Nhiệm vụ đã hoàn thành", "Task completed"),
        Text("Nhiệm vụ này đã được đánh dấu hoàn thành.", "This task is already completed."),
    ),
    "already_exists": (
        Text("Đã tồn tại", "Already exists"),
        Text("Đối tượng này đã tồn tại.", "It already exists."),
    ),
    "other_unit": (
        Text("Không có quyền", "Forbidden"),
        Text("Nội dung này thuộc đơn vị khác.", "This belongs to another unit."),
    ),
    "vertical_line_unit": (
        Text("Đơn vị thuộc ngành dọc", "Vertical-line unit"),
        Text("Mô hình của đơn vị ngành dọc được xét trong ngành dọc; phường chỉ ghi nhận bản sao.",
             "A vertical-line unit's model is reviewed in its own chain of command; "
             "the ward only records the copy."),
    ),
    "not_vertical_line_unit": (
        Text("Không phải đơn vị ngành dọc", "Not a vertical-line unit"),
        Text("Chỉ đăng ký của đơn vị ngành dọc mới được ghi nhận dưới dạng bản sao.",
             "Only a vertical-line unit's registration is received as a copy."),
    ),
    "evaluation_not_passed": (
        Text("Chưa đạt yêu cầu", "Evaluation not passed"),
        Text("Kết quả đánh giá chưa đạt điểm chuẩn.",
             "The evaluation did not reach the pass mark."),
    ),
    "maintenance_year": (
        Text("Năm duy trì không hợp lệ", "Wrong maintenance year"),
        Text("Mô hình chỉ được duy trì sang danh sách của năm kế tiếp.",
             "A model is maintained into the next year's list."),
    ),
    "no_personal_data": (
        Text("Không có dữ liệu cá nhân", "No personal data"),
        Text("Chỉ điển hình cá nhân mới có dữ liệu cá nhân.",
             "Only an individual exemplar carries personal data."),
    ),
    "personal_data_erased": (
        Text("Dữ liệu cá nhân đã bị xóa", "Personal data erased"),
        Text("Dữ liệu cá nhân này đã bị xóa.", "The personal data is already erased."),
    ),
}

GENERIC_TITLE = Text("Yêu cầu bị từ chối", "Request refused")


def problem_title(code: str, lang: Lang) -> str:
    entry = PROBLEMS.get(code)
    return (entry[0] if entry else GENERIC_TITLE).render(lang)


def problem_detail(code: str, lang: Lang, fallback: str | None = None, **params: object) -> str:
    """The catalogue's detail for ``code``; in English the raiser's own (English) message,
    ``fallback``, wins when there is one, being the more specific."""
    if lang == "en" and fallback:
        return fallback
    entry = PROBLEMS.get(code)
    if entry is not None:
        try:
            return entry[1].render(lang, **params)
        except (KeyError, IndexError):
            pass
    if fallback:
        return fallback if lang == "en" else f"Yêu cầu bị từ chối ({fallback})."
    return GENERIC_TITLE.render(lang)


# Field messages: (pattern over the English message, Vietnamese template, English template).
# Templates may use the pattern's named groups.
FIELD_MESSAGES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(p), vi, en)
    for p, vi, en in [
        (r"^required$|^Object missing required field", "bắt buộc phải có", "required"),
        (r"^must not be empty$", "không được để trống", "must not be empty"),
        (r"^unknown field$|^Object contains unknown field", "trường không được chấp nhận",
         "unknown field"),
        (r"^must be a string$", "phải là chuỗi ký tự", "must be a string"),
        (r"^must be at most (?P<n>\d+) characters$", "tối đa {n} ký tự",
         "must be at most {n} characters"),
        (r"^must be an integer$", "phải là số nguyên", "must be an integer"),
        (r"^must be between (?P<a>\S+) and (?P<b>\S+)$", "phải trong khoảng từ {a} đến {b}",
         "must be between {a} and {b}"),
        (r"^must be a number or a decimal string$", "phải là số hoặc chuỗi số thập phân",
         "must be a number or a decimal string"),
        (r"^must be one of (?P<options>.+)$", "phải là một trong: {options}",
         "must be one of {options}"),
        (r"^must be a date YYYY-MM-DD$", "phải là ngày theo dạng YYYY-MM-DD",
         "must be a date YYYY-MM-DD"),
        (r"^must be true or false$", "phải là true hoặc false", "must be true or false"),
        (r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$",
         "sai kiểu dữ liệu: cần {want}, nhận được {got}", "expected {want}, got {got}"),
        (r"^Expected `(?P<want>[^`]+)` of length (?P<op>[<>]=?) ?(?P<n>\d+)$",
         "độ dài phải {op} {n}", "length must be {op} {n}"),
        (r"^Expected `(?P<want>[^`]+)` (?P<op>[<>]=?) ?(?P<n>[-\d.]+)$",
         "giá trị phải {op} {n}", "must be {op} {n}"),
        (r"^Expected `(?P<want>[^`]+)` matching regex", "không đúng định dạng",
         "does not match the expected format"),
        (r"^Invalid enum value (?P<value>.+)$",
         "giá trị {value} không nằm trong danh sách cho phép", "{value} is not an allowed value"),
        (r"^Invalid (?P<what>RFC3339 encoded datetime|ISO8601 date|UUID)",
         "không đúng định dạng", "is not a valid {what}"),
        (r"^Invalid uuid|^Invalid UUID", "không phải UUID hợp lệ", "not a valid UUID"),
        (r"^unknown id$|^not found$", "không tìm thấy mã này", "unknown id"),
    ]
]


def field_message(message: str, lang: Lang) -> str:
    for pattern, vi, en in FIELD_MESSAGES:
        match = pattern.search(message)
        if match:
            return (en if lang == "en" else vi).format(**match.groupdict())
    return message if lang == "en" else f"giá trị không hợp lệ ({message})"
