"""The pages in a real browser (Debian's chromium, headless, driven by Playwright) against a
real ``danvan serve`` and ``danvan projector``: each of the three users signs in and does
their main task (the tenant admin also deactivates an account from the list), the public
registry shows a recognised model and no personal datum, and a tenant admin cannot open
another tenant's page. Screenshots: ``.data/pages-screens/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from danvan.infra.database import ConnParams
from tests.e2e.browser_site import CHROMIUM, Site, running_site, screenshot
from tests.e2e.conftest import PASSWORD
from tests.e2e.pages_story import EXEMPLAR, PERSONAL, recognized
from tests.e2e.world import GIA_PHU, YEN_BAI, ok


@pytest.fixture(scope="module")
def site(admin_params: ConnParams, template_database: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(admin_params, template_database,
                      tmp_path_factory.mktemp("browser")) as running:
        world = running.world
        recognized(world, "Dân vận khéo hiến đất làm đường", decision="12-QĐ/ĐU")
        recognized(world, "Điển hình bà Mai nuôi ong", kind="individual", person=EXEMPLAR,
                   decision="13-QĐ/ĐU")
        waiting = world.register(name="Giếng nước sạch cho tổ 5")["id"]
        ok(world.act(waiting, "submit", "unit_user"))
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: make system-packages installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(base_url=site.url, locale="vi-VN",
                                  viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && !e.labels.length && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)"""


def assert_usable(page: Page) -> None:
    """Every field has a label, and nothing is wider than the screen."""
    assert page.evaluate(UNLABELLED) == []
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def sign_in(page: Page, username: str) -> None:
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


def test_the_province_admin_reads_the_dashboard_and_a_communes_row(page: Page,
                                                                   site: Site) -> None:
    sign_in(page, "admin.laocai")
    expect(page).to_have_url(re.compile(r"/tinh/15$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lào Cai")
    row = page.locator("#chi-tieu tbody tr", has_text=YEN_BAI)
    expect(row.locator('[data-cot="newModels"]')).to_have_text(re.compile(r"^2/"))
    expect(row.locator('[data-cot="recognizedTenantLevel"]')).to_have_text(re.compile(r"^2/"))
    page.wait_for_function("Object.keys(window.danvanDashboard.charts).length > 0")
    charts: Any = page.evaluate("Object.keys(window.danvanDashboard.charts)")
    assert "ECONOMY" in charts
    page.get_by_role("link", name="Mã").click()  # sorted by code, then the other way
    page.wait_for_load_state()
    codes = page.locator("#chi-tieu tbody tr td:first-child").all_inner_texts()
    assert codes == sorted(codes, reverse=True)
    screenshot(page, "tinh")
    assert_usable(page)
    page.locator("#chi-tieu tbody tr", has_text=YEN_BAI).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Yên Bái")  # its row, whole
    expect(page.locator("#chi-tieu")).to_contain_text("Công nhận cấp xã")


def test_a_rest_command_appears_on_an_open_dashboard_within_two_seconds(
        page: Page, site: Site) -> None:
    world = site.world
    model = world.register(GIA_PHU, name="Gia Phú chung tay làm đường")["id"]
    ok(world.act(model, "submit", "unit_user", code=GIA_PHU))
    sign_in(page, "admin.laocai")
    cell = page.locator("#chi-tieu tbody tr", has_text=GIA_PHU).locator(
        '[data-cot="newModels"]')
    expect(cell).to_have_text(re.compile(r"^0/"))
    page.wait_for_function("window.danvanDashboard.connected === true")
    page.wait_for_timeout(500)  # the subscription has read its baseline
    ok(world.act(model, "accept", "reviewer", code=GIA_PHU))  # through REST
    expect(cell).to_have_text(re.compile(r"^1/"), timeout=2000)  # no reload
    expect(page.locator('[data-tong="newModels"]')).to_have_text("3", timeout=2000)
    screenshot(page, "tinh-truc-tiep")


def test_the_tenant_admin_adds_a_unit_manages_accounts_and_cannot_open_another_tenant(
        page: Page, site: Site) -> None:
    world = site.world
    sign_in(page, f"admin.{YEN_BAI}")
    expect(page).to_have_url(re.compile(rf"/don-vi/{world.tenants[YEN_BAI].id}$"))
    page.get_by_label("Tên đơn vị").fill("Chi bộ Tổ dân phố 12")
    page.get_by_label("Loại", exact=True).select_option("party_cell")
    page.get_by_role("button", name="Thêm đơn vị").click()
    expect(page.get_by_role("status")).to_have_text("Đã thêm đơn vị “Chi bộ Tổ dân phố 12”.")
    expect(page.locator("#don-vi tbody")).to_contain_text("Chi bộ Tổ dân phố 12")
    screenshot(page, "don-vi")
    assert_usable(page)
    # the tenant's accounts: one created here, then deactivated from its row
    accounts = page.locator("#danh-sach-tai-khoan tbody")
    expect(accounts.locator('[id="tk-unit.user.04252"]')).to_contain_text(
        "Người dùng chi bộ/đơn vị")
    created = page.get_by_role("form", name="Tạo tài khoản")
    created.get_by_label("Tên đăng nhập").fill("tam.yenbai")
    created.get_by_label("Họ và tên").fill("Phạm Văn Tạm")
    created.get_by_label("Mật khẩu (ít nhất 10 ký tự)").fill(PASSWORD)
    created.get_by_label("Vai trò").select_option("approver")
    created.get_by_role("button", name="Tạo tài khoản").click()
    expect(page.get_by_role("status")).to_have_text("Đã tạo tài khoản “tam.yenbai”.")
    row = accounts.locator('[id="tk-tam.yenbai"]')
    expect(row).to_contain_text("Phạm Văn Tạm")
    expect(row).to_contain_text("Thường trực (phê duyệt)")
    expect(row).to_contain_text("Đang hoạt động")
    screenshot(page, "tai-khoan")
    assert_usable(page)
    row.get_by_text("Đặt lại mật khẩu, khóa").click()  # the row's forms, folded
    row.get_by_label("Lý do khóa").fill("Chuyển công tác")
    row.get_by_role("button", name="Khóa tài khoản").click()
    expect(page.get_by_role("status")).to_have_text("Đã khóa tài khoản “tam.yenbai”.")
    expect(row).to_contain_text("Đã khóa")
    expect(row.get_by_role("button")).to_have_count(0)
    expect(accounts.locator(f'[id="tk-admin.{YEN_BAI}"]')).to_contain_text("Tài khoản của bạn")
    answer = page.goto(f"/don-vi/{world.tenants[GIA_PHU].id}")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Không có quyền truy cập")


def test_the_tenant_admin_imports_units_from_the_page_and_sees_the_progress_reach_done(
        page: Page, site: Site) -> None:
    sign_in(page, f"admin.{YEN_BAI}")
    form = page.get_by_role("form", name="Nhập dữ liệu từ tệp")
    form.get_by_label("Loại dữ liệu").select_option("units")
    form.get_by_label("Tệp (XLSX hoặc CSV)").set_input_files(files=[{
        "name": "don-vi-moi.csv", "mimeType": "text/csv",
        "buffer": "Tên đơn vị,Loại đơn vị\nChi bộ Tổ dân phố 20,party_cell\n"
                  "Hội Nông dân,mass_org\n".encode()}])
    form.get_by_role("button", name="Nhập").click()
    expect(page.get_by_role("status")).to_contain_text("Đã nhận tệp đơn vị “don-vi-moi.csv”")
    job = page.locator("#cong-viec")
    expect(job).to_have_attribute("data-state", "succeeded", timeout=60_000)  # htmx polled
    expect(job.locator("progress")).to_have_attribute("value", "100")
    expect(job).to_contain_text("Đã nhập 2 dòng.")
    screenshot(page, "don-vi-nhap")
    assert_usable(page)
    job.get_by_role("link", name="Tải lại trang").click()
    expect(page.locator("#don-vi tbody")).to_contain_text("Chi bộ Tổ dân phố 20")
    expect(page.locator("#don-vi tbody")).to_contain_text("Hội Nông dân")


def test_the_reviewer_accepts_a_model_from_the_queue(page: Page, site: Site) -> None:
    sign_in(page, f"reviewer.{YEN_BAI}")
    article = page.locator("#hang-cho article", has_text="Giếng nước sạch cho tổ 5")
    article.get_by_role("button", name="Tiếp nhận").click()
    expect(page.get_by_role("status")).to_have_text("Đã tiếp nhận mô hình.")
    expect(page.locator("#hang-cho")).not_to_contain_text("Giếng nước sạch cho tổ 5")


def test_the_inspector_verifies_the_chain(page: Page, site: Site) -> None:
    sign_in(page, f"inspector.{YEN_BAI}")
    expect(page).to_have_url(re.compile(rf"/thanh-tra/{site.world.tenants[YEN_BAI].id}$"))
    expect(page.locator("#nhat-ky")).to_contain_text("Model.Recognized")
    desk = page.url
    page.get_by_role("button", name="Kiểm tra toàn vẹn nhật ký").click()
    expect(page.locator("#ket-qua")).to_contain_text("Chuỗi nhật ký toàn vẹn.")
    assert page.url == desk  # htmx swapped the verdict in; the trail stayed as it was
    screenshot(page, "thanh-tra")
    assert_usable(page)


def test_the_public_registry_shows_a_recognised_model_and_no_personal_datum(
        page: Page, site: Site) -> None:
    page.goto("/cong-khai?province=15&year=2026")
    expect(page.get_by_role("heading", name="Dân vận khéo hiến đất làm đường")).to_be_visible()
    expect(page.get_by_role("heading", name="Điển hình bà Mai nuôi ong")).to_be_visible()
    text = page.locator("body").inner_text()
    for personal in PERSONAL:
        assert personal not in text
    screenshot(page, "cong-khai")
    assert_usable(page)


def test_the_pages_fit_a_phone(browser: Browser, site: Site) -> None:
    context = browser.new_context(base_url=site.url, locale="vi-VN", is_mobile=True,
                                  viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        phone.goto("/cong-khai?province=15")
        assert_usable(phone)
        sign_in(phone, "admin.laocai")
        expect(phone.locator("#chi-tieu")).to_be_visible()
        assert_usable(phone)  # the wide table scrolls inside its card
        screenshot(phone, "tinh-dien-thoai")
    finally:
        context.close()
