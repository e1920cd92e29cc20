"""``/don-vi/{tenant_id}``'s list of accounts, without JavaScript: the tenant admin sees every
account of the tenant (roles in Vietnamese, unit, active and one-time password badges),
searches it without diacritics, pages through it, and resets or deactivates an account from
its row (a refusal shown in that row), never one the province made; a reviewer sees no
list."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from danvan.backend.pages import tenant as tenant_page
from danvan.infra.event_store import EventStore
from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser
from tests.e2e.graphql_support import catch_up
from tests.e2e.pages_browsing import Visitor
from tests.e2e.world import API, YEN_BAI, World

NEW_PASSWORD = "Mật khẩu mới 2026"


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings
          ) -> World:
    built = World.build(client, make_user)
    built.add_one_time_approver()
    catch_up(settings)
    return built


def row(html: str, username: str) -> str:
    found = re.search(rf'<tr id="tk-{re.escape(username)}">(.*?)</tr>', html, re.S)
    assert found, f"no row of {username}"
    return found.group(1)


def listed(html: str) -> list[str]:
    return re.findall(r'<tr id="tk-([^"]+)">', html)


def signs_in(client: httpx.Client, username: str, password: str) -> bool:
    answer = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def test_the_tenant_admin_sees_every_account_with_roles_unit_and_badges(
        visitor: Visitor, world: World) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    page = visitor.get(home).text
    assert listed(page) == [f"admin.{YEN_BAI}", f"approver.{YEN_BAI}",
                            f"inspector.{YEN_BAI}", "nhung.yenbai", f"reviewer.{YEN_BAI}",
                            f"unit.user.{YEN_BAI}"]
    assert "Tài khoản (6)" in page
    unit_user = row(page, f"unit.user.{YEN_BAI}")
    assert "Người dùng chi bộ/đơn vị" in unit_user and "Chi bộ Tổ dân phố 5" in unit_user
    assert "Đang hoạt động" in unit_user and "Mật khẩu dùng một lần" not in unit_user
    nhung = row(page, "nhung.yenbai")
    assert "Nguyễn Thị Hồng Nhung" in nhung and "Thường trực (phê duyệt)" in nhung
    assert "Mật khẩu dùng một lần" in nhung
    # each row's forms: CSRF-protected posts naming the user, no JavaScript needed
    assert nhung.count('name="_csrf_token"') == 2
    assert 'name="username" value="nhung.yenbai"' in nhung
    assert "Đặt lại mật khẩu</button>" in nhung and "Khóa tài khoản</button>" in nhung
    # an inspector's account is the province's to manage: no forms in its row
    assert "</button>" not in row(page, f"inspector.{YEN_BAI}")
    assert "Thanh tra" in row(page, f"inspector.{YEN_BAI}")
    own = row(page, f"admin.{YEN_BAI}")  # nobody locks themselves out from here
    assert "Tài khoản của bạn" in own and "</button>" not in own
    assert "02923" not in "".join(listed(page))  # never another tenant's accounts


def test_search_ignores_diacritics_and_pages_follow_each_other(
        visitor: Visitor, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    found = visitor.get(home, params={"tim": "hong nhung"}).text
    assert listed(found) == ["nhung.yenbai"] and "Tài khoản (1)" in found
    assert 'value="hong nhung"' in found
    assert "Không có tài khoản nào khớp" in visitor.get(home, params={"tim": "không ai"}).text

    monkeypatch.setattr(tenant_page, "USERS_PER_PAGE", 4)
    first = visitor.get(home).text
    assert len(listed(first)) == 4 and "Tài khoản (6)" in first
    next_link = re.search(r'<a rel="next" href="\?([^"#]+)#tai-khoan">Trang sau</a>', first)
    assert next_link
    second = visitor.get(f"{home}?{next_link.group(1).replace('&amp;', '&')}").text
    assert listed(first) + listed(second) == sorted(listed(first) + listed(second))
    assert len(listed(second)) == 2 and "Trang sau" not in second and "Trang đầu" in second
    assert visitor.get(home, params={"sau": "not-a-cursor"}).status_code == 422


def test_the_admin_deactivates_and_resets_from_a_row(visitor: Visitor, world: World,
                                                     settings: Settings) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    visitor.get(home)
    refused = visitor.post(f"{home}/nguoi-dung/dat-lai-mat-khau", {
        "username": f"reviewer.{YEN_BAI}", "hang": "1", "new_password": "ngan"})
    assert refused.status_code == 303 and refused.headers["location"] == f"{home}#tai-khoan"
    page = visitor.get(home).text
    assert 'role="alert"' in row(page, f"reviewer.{YEN_BAI}")  # shown in the row
    assert "độ dài phải &gt;= 10" in row(page, f"reviewer.{YEN_BAI}")
    assert "dat-lai-mat-khau-new_password-loi" not in page  # not at the by-username form

    reset = visitor.post(f"{home}/nguoi-dung/dat-lai-mat-khau", {
        "username": f"reviewer.{YEN_BAI}", "hang": "1", "new_password": NEW_PASSWORD})
    assert reset.status_code == 303
    assert signs_in(world.client, f"reviewer.{YEN_BAI}", NEW_PASSWORD)

    done = visitor.post(f"{home}/nguoi-dung/vo-hieu-hoa", {
        "username": f"approver.{YEN_BAI}", "hang": "1", "reason": "Chuyển công tác"})
    assert done.status_code == 303 and done.headers["location"] == f"{home}#tai-khoan"
    catch_up(settings)
    page = visitor.get(home).text
    assert f"Đã khóa tài khoản “approver.{YEN_BAI}”." in page
    approver = row(page, f"approver.{YEN_BAI}")
    assert "Đã khóa" in approver and "Đang hoạt động" not in approver
    assert "</button>" not in approver  # nothing left to do to it
    assert not signs_in(world.client, f"approver.{YEN_BAI}", PASSWORD)
    assert "Khóa tài khoản</button>" in row(page, "nhung.yenbai")


def test_a_reviewer_reads_the_page_but_not_its_accounts(visitor: Visitor,
                                                       world: World) -> None:
    visitor.sign_in(f"reviewer.{YEN_BAI}", PASSWORD)
    page = visitor.get(f"/don-vi/{world.tenants[YEN_BAI].id}")
    assert page.status_code == 200
    assert 'id="danh-sach-tai-khoan"' not in page.text and not listed(page.text)


def test_an_inspector_the_province_made_is_listed_without_forms_for_either_admin(
        visitor: Visitor, world: World, event_store: EventStore, settings: Settings) -> None:
    """Made in the province's own scope (``World.add_province_inspector``), it is
    one of the ward's accounts; its row says the province manages it and offers no form (the
    ward's commands would not find it among the ward's own accounts)."""
    world.add_province_inspector(event_store)
    catch_up(settings)
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    for username in (f"admin.{YEN_BAI}", "admin.laocai"):
        visitor.sign_in(username, PASSWORD)
        page = visitor.get(home).text
        assert "thanhtra.yenbai" in listed(page) and "Tài khoản (7)" in page
        inspector = row(page, "thanhtra.yenbai")
        assert "Thanh tra" in inspector and "Do tỉnh quản lý" in inspector
        assert "</button>" not in inspector
        assert "Đặt lại mật khẩu</button>" in row(page, f"reviewer.{YEN_BAI}")
