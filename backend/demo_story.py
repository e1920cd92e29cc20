"""What the demo year is made of: units, model names and the people who run them.

Names and fields follow the province's plans (Kế hoạch 41-KH/TU, Chỉ thị 10-CT/TU); the
figures are invented but of realistic size (15–20 models per commune or ward a year).
"""

from __future__ import annotations

UNITS: tuple[tuple[str, str, bool], ...] = (
    ("Đảng ủy", "party_committee", False),
    ("Ủy ban Mặt trận Tổ quốc", "front", False),
    ("Đoàn Thanh niên Cộng sản Hồ Chí Minh", "mass_org", False),
    ("Hội Liên hiệp Phụ nữ", "mass_org", False),
    ("Hội Nông dân", "mass_org", False),
    ("Hội Cựu chiến binh", "mass_org", False),
    ("Chi bộ thôn/tổ dân phố số 1", "party_cell", False),
    ("Chi bộ thôn/tổ dân phố số 2", "party_cell", False),
    ("Chi bộ thôn/tổ dân phố số 3", "party_cell", False),
    ("Trường Trung học cơ sở", "school", False),
    ("Chi bộ Công an", "police", True),
    ("Chi bộ Quân sự", "military", True),
)
AGENCY_UNITS: tuple[tuple[str, str, bool], ...] = (
    ("Chi bộ cơ quan", "party_cell", False),
    ("Công đoàn cơ sở", "mass_org", False),
)
AGENCIES: tuple[tuple[str, str], ...] = (
    ("SNV", "Sở Nội vụ tỉnh Lào Cai"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường tỉnh Lào Cai"),
    ("SYT", "Sở Y tế tỉnh Lào Cai"),
)

MODEL_NAMES: dict[str, tuple[str, ...]] = {
    "party_building": (
        "Chi bộ bốn tốt, đảng viên gương mẫu",
        "Mỗi đảng viên gắn với một hộ gia đình",
        "Sinh hoạt chi bộ chuyên đề gắn với dân vận",
    ),
    "economy": (
        "Vận động Nhân dân hiến đất làm đường giao thông nông thôn",
        "Liên kết trồng chè sạch theo chuỗi giá trị",
        "Hỗ trợ hộ nghèo phát triển sinh kế bền vững",
        "Tổ hợp tác quế hữu cơ",
    ),
    "culture_society": (
        "Xóa bỏ hủ tục trong việc cưới, việc tang",
        "Tuyến đường hoa, tự quản vệ sinh môi trường",
        "Nhà văn hóa thôn là mái nhà chung",
        "Gia đình không có người vi phạm pháp luật",
    ),
    "defense_security": (
        "Tổ an ninh trật tự cơ sở gắn với dân",
        "Camera an ninh vì cộng đồng",
        "Khu dân cư an toàn về phòng cháy, chữa cháy",
    ),
    "digital_transformation": (
        "Tổ công nghệ số cộng đồng",
        "Hướng dẫn người dân dịch vụ công trực tuyến",
        "Thanh toán không dùng tiền mặt ở chợ phiên",
    ),
}

PLACES = ("thôn Khe Lếch", "tổ dân phố 5", "thôn Nậm Rịa", "bản Tà Phìn", "tổ dân phố 2",
          "thôn Làng Mới", "bản Sín Chải", "thôn Đồng Tâm")

EXEMPLARS = (("Lò Thị Mai", 1974), ("Hoàng Văn Páo", 1968), ("Nguyễn Thị Hoa", 1980),
             ("Vàng A Sử", 1971), ("Trần Văn Bình", 1965))

PLAN_TASKS = (
    ("Tuyên truyền, quán triệt Chỉ thị số 10-CT/TU", 3, 31, False),
    ("Ban hành kế hoạch thực hiện Chỉ thị số 10-CT/TU của đơn vị", 4, 30, True),
    ("Sơ kết 6 tháng phong trào thi đua Dân vận khéo", 7, 15, False),
    ("Tổng kết, biểu dương mô hình, điển hình Dân vận khéo năm", 12, 15, False),
)
"""(title, month, day due, given to every unit: each does its own part)."""
