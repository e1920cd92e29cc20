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

from danvan.domain.commands import Words

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
        params = {k: _in(lang, v) for k, v in params.items()}
        return template.format(**params) if params else template


def _in(lang: Lang, value: object) -> object:
    """A quoted value in ``lang``: an action's own words (``domain.commands.Words``), a
    state's Vietnamese label."""
    if isinstance(value, Words):
        return value.en if lang == "en" else value.vi
    if lang != "en" and isinstance(value, str):
        return VI_LABELS.get(value, value)
    return value


VI_LABELS: dict[str, str] = {
    # model states
    "draft": "bản nháp", "submitted": "đã nộp", "returned": "bị trả lại để chỉnh sửa",
    "rejected": "không được chấp nhận", "accepted": "đã được chấp nhận vào danh sách",
    "self_assessed": "đã tự đánh giá", "evaluated": "đã được đánh giá",
    "proposed": "đã được đề nghị công nhận", "recognized_tenant": "đã được công nhận cấp xã",
    "nominated": "đã được đề xuất lên tỉnh", "recognized_province": "đã được công nhận cấp tỉnh",
    "copy_received": "đã nhận bản sao", "discontinued": "đã dừng", "revoked": "đã bị thu hồi",
}
"""Vietnamese for the states a message quotes (actions carry their own words)."""


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
    "token_revoked": (
        Text("Mã truy cập đã bị thu hồi", "Access token revoked"),
        Text("Vai trò, mật khẩu hoặc trạng thái của tài khoản đã thay đổi sau khi cấp mã "
             "truy cập này; hãy đăng nhập lại.",
             "The account's roles, password or status changed after this token was issued; "
             "sign in again."),
    ),
    "password_change_required": (
        Text("Cần đổi mật khẩu", "Password change required"),
        Text("Tài khoản đang dùng mật khẩu tạm thời: hãy đổi mật khẩu "
             "(POST /api/v1/auth/password) trước khi làm việc khác.",
             "The account holds a one-time password: change it (POST /api/v1/auth/password) "
             "before anything else."),
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
        Text("Chỉ Ban Tuyên giáo và Dân vận Tỉnh ủy được tạo tài khoản kiểm tra, đặt lại mật "
             "khẩu hoặc khóa tài khoản đó.",
             "Only a province admin creates inspectors, resets their passwords or deactivates "
             "them."),
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
    "unsupported_media_type": (
        Text("Kiểu nội dung không được hỗ trợ", "Unsupported media type"),
        Text("Nội dung yêu cầu phải được gửi dưới dạng JSON (Content-Type: application/json).",
             "The request body must be sent as JSON (Content-Type: application/json)."),
    ),
    "idempotency_key_reused": (
        Text("Khóa Idempotency-Key đã dùng", "Idempotency-Key reused"),
        Text("Khóa Idempotency-Key này đã được dùng cho một yêu cầu có nội dung khác.",
             "This Idempotency-Key was already used with a different request body."),
    ),
    "invalid_position": (
        Text("Vị trí không hợp lệ", "Invalid position"),
        Text("Tiêu đề {header} phải là một số nguyên không âm (vị trí trong nhật ký sự kiện).",
             "The {header} header must be a non-negative integer (a position in the event "
             "log)."),
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
    "decision_refused": (
        Text("Quyết định không thực hiện được", "Decision refused"),
        Text("Quyết định không áp dụng được cho {refused} mô hình trong danh sách (xem danh "
             "sách lỗi); chưa mô hình nào được ghi nhận.",
             "{refused} of the decision's models may not take it (see the errors); none was "
             "recorded."),
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
    "outcome_unknown": (
        Text("Chưa rõ kết quả", "Outcome unknown"),
        Text("Mất kết nối tới kho dữ liệu khi đang ghi nên chưa rõ lệnh đã được thực hiện hay "
             "chưa; hãy gửi lại đúng yêu cầu này với cùng Idempotency-Key.",
             "The connection to the data store was lost while saving, so whether the command "
             "was carried out is unknown; send the same request again with the same "
             "Idempotency-Key."),
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
        Text("Danh sách mô hình của năm này đã được phê duyệt; không có mô hình nào được "
             "chấp nhận thêm kể từ lần phê duyệt gần nhất.",
             "This year's list of models is already approved; no model was accepted since "
             "its last approval."),
    ),
    "list_decision_repeated": (
        Text("Số quyết định đã dùng", "Decision number already used"),
        Text("Số quyết định này đã được dùng để phê duyệt danh sách của năm.",
             "That decision number already approved this year's list."),
    ),
    "task_assigned_to_units": (
        Text("Nhiệm vụ giao cho từng đơn vị", "Task assigned to units"),
        Text("Nhiệm vụ này được giao cho từng đơn vị; mỗi đơn vị báo hoàn thành phần của mình.",
             "This task is assigned to units: each completes its own part."),
    ),
    "unit_task_completed": (
        Text("Đơn vị đã hoàn thành nhiệm vụ", "Unit's task completed"),
        Text("Đơn vị này đã được ghi nhận hoàn thành nhiệm vụ.",
             "This unit's part of the task is already completed."),
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
        (r"^must be a non-negative integer$", "phải là số nguyên không âm",
         "must be a non-negative integer"),
        (r"^must be between (?P<a>\S+) and (?P<b>\S+)$", "phải trong khoảng từ {a} đến {b}",
         "must be between {a} and {b}"),
        (r"^must have at most (?P<n>\d+) decimal places$", "tối đa {n} chữ số thập phân",
         "must have at most {n} decimal places"),
        (r"^must be a finite number$", "phải là một số hữu hạn", "must be a finite number"),
        (r"^must not be blank; must not contain control characters or lone surrogates$",
         "không được để trống và không được chứa ký tự điều khiển hoặc ký tự Unicode không "
         "hợp lệ", "must not be blank; must not contain control characters or lone surrogates"),
        (r"^must not contain control characters or lone surrogates$",
         "không được chứa ký tự điều khiển hoặc ký tự Unicode không hợp lệ",
         "must not contain control characters or lone surrogates"),
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
        (r"^Invalid RFC3339 encoded date$", "phải là ngày theo dạng YYYY-MM-DD",
         "must be a date YYYY-MM-DD"),
        (r"^Invalid (?P<what>RFC3339 encoded datetime|ISO8601 date|UUID)",
         "không đúng định dạng", "is not a valid {what}"),
        (r"^Invalid uuid|^Invalid UUID", "không phải UUID hợp lệ", "not a valid UUID"),
        (r"^unknown id$|^not found$", "không tìm thấy mã này", "unknown id"),
        # the domain's own messages (domain/*.py, backend/services/*.py)
        (r"^required before submission$", "bắt buộc phải có trước khi gửi duyệt",
         "required before submission"),
        (r"^no such unit in this tenant$", "không có đơn vị trực thuộc này",
         "no such unit in this tenant"),
        (r"^no such user in this tenant$", "không có tài khoản này trong đơn vị",
         "no such user in this tenant"),
        (r"^no such unit in this tenant: (?P<id>\S+)$",
         "không có đơn vị trực thuộc này: {id}", "no such unit in this tenant: {id}"),
        (r"^the unit is closed: (?P<id>\S+)$", "đơn vị đã ngừng hoạt động: {id}",
         "the unit is closed: {id}"),
        (r"^the task is not assigned to that unit$", "nhiệm vụ không giao cho đơn vị này",
         "the task is not assigned to that unit"),
        (r"^at most (?P<n>\d+) units$", "tối đa {n} đơn vị", "at most {n} units"),
        (r"^no such unit in the official catalogue$",
         "không có đơn vị hành chính này trong danh mục chính thức",
         "no such unit in the official catalogue"),
        (r"^no such province in the official catalogue$",
         "không có tỉnh này trong danh mục chính thức",
         "no such province in the official catalogue"),
        (r"^does not match the official catalogue$", "không khớp với danh mục chính thức",
         "does not match the official catalogue"),
        (r"^must be the 5-digit official unit code$",
         "phải là mã đơn vị hành chính chính thức gồm 5 chữ số",
         "must be the 5-digit official unit code"),
        (r"^must be the official province code$", "phải là mã tỉnh chính thức",
         "must be the official province code"),
        (r"^cannot be changed after registration$", "không được thay đổi sau khi đăng ký",
         "cannot be changed after registration"),
        (r"^must not be in the future$", "không được là ngày trong tương lai",
         "must not be in the future"),
        (r"^must not be before the registration's year$", "không được trước năm đăng ký",
         "must not be before the registration's year"),
        (r"^must not be before (?P<other>\w+)$", "không được trước {other}",
         "must not be before {other}"),
        (r"^must fall in or after the model's year$",
         "phải thuộc năm đăng ký của mô hình hoặc sau đó",
         "must fall in or after the model's year"),
        (r"^must be YYYY, YYYY-H1\|H2 or YYYY-Q1\.\.Q4$",
         "phải có dạng YYYY, YYYY-H1|H2 hoặc YYYY-Q1..Q4",
         "must be YYYY, YYYY-H1|H2 or YYYY-Q1..Q4"),
        (r"^an individual exemplar needs the person's details$",
         "điển hình cá nhân cần có thông tin của người đó",
         "an individual exemplar needs the person's details"),
        (r"^only an individual exemplar carries personal details$",
         "chỉ điển hình cá nhân mới có thông tin cá nhân",
         "only an individual exemplar carries personal details"),
        (r"^must be a phone number$", "phải là số điện thoại", "must be a phone number"),
        (r"^the unit is closed and cannot register models$",
         "đơn vị đã ngừng hoạt động, không thể đăng ký mô hình",
         "the unit is closed and cannot register models"),
        (r"^a model is maintained into the next year's list \((?P<year>\d+)\)$",
         "mô hình chỉ được duy trì sang danh sách năm kế tiếp ({year})",
         "a model is maintained into the next year's list ({year})"),
        (r"^must be an object of scores 0-100$",
         "phải là một đối tượng gồm các điểm từ 0 đến 100",
         "must be an object of scores 0-100"),
        (r"^must be non-negative and not all zero$", "phải không âm và không đồng thời bằng 0",
         "must be non-negative and not all zero"),
        (r"^must weigh exactly: (?P<names>.+)$", "phải có trọng số cho đúng các tiêu chí: {names}",
         "must weigh exactly: {names}"),
        (r"^give defaults for at least one tenant kind$",
         "cần chỉ tiêu mặc định cho ít nhất một loại đơn vị",
         "give defaults for at least one tenant kind"),
        (r"^must be after start_year, at most 10 years later$",
         "phải sau start_year và không quá 10 năm",
         "must be after start_year, at most 10 years later"),
        (r"^must be an object$", "phải là một đối tượng JSON", "must be an object"),
        (r"^a non-empty list of roles$", "phải là danh sách vai trò, không rỗng",
         "a non-empty list of roles"),
        (r"^at least one role is required$", "cần ít nhất một vai trò",
         "at least one role is required"),
        (r"^is not the current password$", "không đúng mật khẩu hiện tại",
         "is not the current password"),
        (r"^must differ from the current password$", "phải khác mật khẩu hiện tại",
         "must differ from the current password"),
        (r"^at least (?P<n>\d+) characters$", "tối thiểu {n} ký tự", "at least {n} characters"),
        (r"^at most (?P<n>\d+) characters$", "tối đa {n} ký tự", "at most {n} characters"),
        (r"^province roles are not held in a tenant$",
         "vai trò cấp tỉnh không được cấp trong đơn vị cơ sở",
         "province roles are not held in a tenant"),
        (r"^province users hold no unit$", "tài khoản cấp tỉnh không thuộc đơn vị trực thuộc nào",
         "province users hold no unit"),
        (r"^province_admin or province_analyst$", "phải là province_admin hoặc province_analyst",
         "province_admin or province_analyst"),
        (r"^3-64 lowercase letters, digits, '\.', '_' or '-'$",
         "3-64 ký tự: chữ thường, chữ số, '.', '_' hoặc '-'",
         "3-64 lowercase letters, digits, '.', '_' or '-'"),
        (r"^a unit user needs its unit$", "người dùng đơn vị phải gắn với đơn vị của mình",
         "a unit user needs its unit"),
        (r"^unknown role (?P<role>.+)$", "vai trò không xác định: {role}", "unknown role {role}"),
        (r"^(?P<role>\w+) is held for a province, not a tenant$",
         "{role} là vai trò cấp tỉnh, không cấp trong đơn vị cơ sở",
         "{role} is held for a province, not a tenant"),
        (r"^must be an XLSX workbook or a CSV file in UTF-8$",
         "phải là tệp XLSX hoặc tệp CSV mã hóa UTF-8",
         "must be an XLSX workbook or a CSV file in UTF-8"),
        (r"^give either all: true or a non-empty list of codes$",
         "cần all: true hoặc một danh sách mã không rỗng (không cả hai)",
         "give either all: true or a non-empty list of codes"),
        (r"^(?P<role>\w+) is held for the whole country$",
         "{role} là vai trò toàn quốc, không cấp trong một tỉnh hay đơn vị",
         "{role} is held for the whole country"),
        (r"^(?P<role>\w+) must be held in a tenant$", "{role} phải được cấp trong một đơn vị cơ sở",
         "{role} must be held in a tenant"),
    ]
]


def field_message(message: str, lang: Lang) -> str:
    for pattern, vi, en in FIELD_MESSAGES:
        match = pattern.search(message)
        if match:
            return (en if lang == "en" else vi).format(**match.groupdict())
    return message if lang == "en" else f"giá trị không hợp lệ ({message})"
