"""``/tinh/{code}``: the province dashboard for the province's roles, signed in with a
session; without one, a 303 to the sign-in page that comes back; other roles and provinces
get a 403 page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from danvan.backend.pages.labels import VIETNAM
from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser
from tests.e2e.graphql_support import catch_up
from tests.e2e.pages_browsing import Visitor
from tests.e2e.pages_story import recognized
from tests.e2e.world import GIA_PHU, YEN_BAI, World


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings
          ) -> World:
    world = World.build(client, make_user)
    recognized(world, "Dân vận khéo hiến đất làm đường")
    catch_up(settings)
    return world


def row_of(html: str, code: str) -> str:
    found = re.search(rf"<tr id=\"xa-[^\"]+\"[^>]*>\s*<td>{code}</td>(.*?)</tr>", html, re.S)
    assert found, code
    return found.group(1)


def test_without_a_session_every_private_page_sends_to_sign_in(visitor: Visitor,
                                                              world: World) -> None:
    tenant = world.tenants[YEN_BAI].id
    for path in ("/tinh/15?nam=2026", f"/don-vi/{tenant}", f"/thanh-tra/{tenant}"):
        answer = visitor.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/?next=" + path.replace("?", "%3F").replace(
            "=", "%3D")
    assert visitor.get("/cong-khai").status_code == 200
    back = visitor.sign_in("admin.laocai", PASSWORD, next_="/tinh/15?nam=2026")
    assert back.headers["location"] == "/tinh/15?nam=2026"


def test_the_province_admin_reads_every_tenant_row_and_the_fields(visitor: Visitor,
                                                                  world: World) -> None:
    visitor.sign_in("admin.laocai", PASSWORD)
    answer = visitor.get("/tinh/15?nam=2026")
    assert answer.status_code == 200, answer.text
    html = answer.text
    assert "Lào Cai" in html
    yen_bai = row_of(html, YEN_BAI)
    assert 'data-cot="newModels">1/' in yen_bai
    assert 'data-cot="recognizedTenantLevel">1/' in yen_bai
    assert 'data-cot="newModels">0/' in row_of(html, GIA_PHU)
    assert "Kinh tế" in html and 'id="bd-ECONOMY"' in html  # a chart per field
    assert '"values": [1, 1, 0]' in html
    at_risk = html.split('id="nguy-co"', 1)[1].split("</section>", 1)[0]
    assert "Phường Yên Bái</a>: 1/" in at_risk or "Không có xã, phường nào" in at_risk
    assert at_risk.count("<li>") == html.count('<span class="nhan rui-ro">')


def test_the_table_sorts_and_the_figures_travel_in_time(visitor: Visitor,
                                                        world: World) -> None:
    visitor.sign_in("admin.laocai", PASSWORD)
    by_code = visitor.get("/tinh/15?nam=2026&sap-xep=CODE&chieu=DESC").text
    assert by_code.index(f"<td>{YEN_BAI}</td>") < by_code.index(f"<td>{GIA_PHU}</td>")
    ascending = visitor.get("/tinh/15?nam=2026&sap-xep=CODE&chieu=ASC").text
    assert ascending.index(f"<td>{GIA_PHU}</td>") < ascending.index(f"<td>{YEN_BAI}</td>")
    earlier = (datetime.now(UTC) - timedelta(hours=2)).astimezone(VIETNAM)
    before = visitor.get(f"/tinh/15?nam=2026&thoi-diem={earlier:%Y-%m-%dT%H:%M}")
    assert before.status_code == 200
    assert "Số liệu tại thời điểm" in before.text
    assert "<td>" + YEN_BAI not in before.text  # not onboarded yet, two hours ago
    assert visitor.get("/tinh/15?thoi-diem=hôm-qua").status_code == 422


def test_other_roles_and_provinces_get_a_403_page(visitor: Visitor, world: World,
                                                  make_user: Callable[..., MadeUser]) -> None:
    make_user("admin.hagiang", province="02")
    visitor.sign_in("admin.hagiang", PASSWORD)
    refused = visitor.get("/tinh/15")
    assert refused.status_code == 403 and "Không có quyền truy cập" in refused.text
    visitor.post("/dang-xuat", {})
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    assert visitor.get("/tinh/15").status_code == 403


def test_the_recognition_queue_lists_the_nominated_models_with_links(
        visitor: Visitor, world: World, settings: Settings,
        make_user: Callable[..., MadeUser]) -> None:
    visitor.sign_in("admin.laocai", PASSWORD)
    empty = visitor.get("/tinh/15?nam=2026").text
    assert "Mô hình đề nghị công nhận cấp tỉnh (0)" in empty
    assert "Không có mô hình nào chờ công nhận cấp tỉnh." in empty
    road = recognized(world, "Dân vận khéo làm đường liên thôn", decision="14-QĐ/ĐU")
    assert world.act(road, "nomination", "approver").status_code == 200
    recognized(world, "Tổ hòa giải ở cơ sở", code=GIA_PHU, decision="7-QĐ/ĐU")  # not nominated
    catch_up(settings)
    html = visitor.get("/tinh/15?nam=2026").text
    assert "Mô hình đề nghị công nhận cấp tỉnh (1)" in html
    queue = html.split('id="hang-cho-cong-nhan"', 1)[1].split("</section>", 1)[0]
    tenant = world.tenants[YEN_BAI].id
    assert f'<a href="/thanh-tra/{tenant}?mo-hinh={road}">Dân vận khéo làm đường liên thôn</a>' \
        in queue  # its history, for the province admin who reads the trail
    assert f'<a href="/don-vi/{tenant}?nam=2026">Phường Yên Bái</a>' in queue
    assert "Chi bộ Tổ dân phố 5" in queue and "Tổ hòa giải" not in queue
    assert visitor.get(f"/thanh-tra/{tenant}?mo-hinh={road}").status_code == 200
    make_user("analyst2.laocai", role="province_analyst")
    visitor.post("/dang-xuat", {})
    visitor.sign_in("analyst2.laocai", PASSWORD)
    queue = visitor.get("/tinh/15?nam=2026").text.split('id="hang-cho-cong-nhan"', 1)[1]
    queue = queue.split("</section>", 1)[0]
    assert "Dân vận khéo làm đường liên thôn" in queue and "/thanh-tra/" not in queue
