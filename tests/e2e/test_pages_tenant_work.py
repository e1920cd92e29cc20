"""``/don-vi/{tenant_id}``'s people, imports and reports: an admin resets a password (the user
signs in with the new one) and deactivates an account (it cannot sign in); a units file
uploaded from the page runs as the same job as the API's import, whose progress fragment
polls until it shows the job done and whose per-row errors show as a table; a report asked
for from the page is listed and downloads as DOCX. Without a session every route sends to
sign-in, another tenant's routes are refused, and a form without its CSRF token changes
nothing."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from urllib.parse import unquote

import httpx
import pytest
from docx import Document

from danvan.backend.jobs.process import InProcessJobs
from danvan.infra.database import connect_app
from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser
from tests.e2e.graphql_support import catch_up
from tests.e2e.pages_browsing import Visitor
from tests.e2e.world import API, GIA_PHU, YEN_BAI, World

NEW_PASSWORD = "Mật khẩu mới 2026"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
UNITS_CSV = ("name,kind,reports_to_vertical_line\r\n"
             "Chi bộ Tổ dân phố 10,party_cell,không\r\n"
             "Chi đoàn Thanh niên,mass_org,\r\n").encode()


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings
          ) -> World:
    world = World.build(client, make_user)
    catch_up(settings)
    return world


def jobs_running(settings: Settings) -> InProcessJobs:
    return InProcessJobs(settings, threads=1, schedule=False).start()


def signs_in(client: httpx.Client, username: str, password: str) -> bool:
    answer = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def field_error(html: str, form: str, field: str) -> str:
    found = re.search(rf'<span class="loi-truong" id="{form}-{field}-loi">([^<]*)</span>', html)
    assert found, f"no message next to {form}/{field}"
    return found.group(1)


def job_of(answer: httpx.Response, home: str) -> str:
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(rf"{home}\?cong-viec=([0-9a-f-]+)#cong-viec", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def fragment_when_finished(visitor: Visitor, home: str, job_id: str,
                           timeout: float = 90) -> str:
    """Poll the job's fragment as htmx does, until the job has finished."""
    deadline = time.monotonic() + timeout
    while True:
        answer = visitor.get(f"{home}/cong-viec/{job_id}", headers={"HX-Request": "true"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        if 'data-state="succeeded"' in answer.text or 'data-state="failed"' in answer.text:
            return answer.text
        assert 'hx-trigger="load delay:1s"' in answer.text  # still polling
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.3)


def upload(visitor: Visitor, home: str, kind: str, content: bytes, name: str = "don-vi.csv",
           *, csrf: bool = True) -> httpx.Response:
    return visitor.post(f"{home}/nhap", {"kind": kind}, csrf=csrf,
                        files={"file": (name, content, "text/csv")})


def test_without_a_session_every_new_route_sends_to_sign_in(visitor: Visitor,
                                                            world: World) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    job = "00000000-0000-4000-8000-000000000000"
    for path in (f"{home}/cong-viec/{job}", f"/bao-cao/{job}", "/mau-nhap/units.xlsx"):
        answer = visitor.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/?next=" + path[:8]), path
    visitor.get("/")  # the CSRF cookie, as a browser on the sign-in page has it
    for path, body in ((f"{home}/nguoi-dung/dat-lai-mat-khau",
                        {"username": f"reviewer.{YEN_BAI}", "new_password": NEW_PASSWORD}),
                       (f"{home}/nguoi-dung/vo-hieu-hoa",
                        {"username": f"reviewer.{YEN_BAI}", "reason": "Nghỉ hưu"}),
                       (f"{home}/bao-cao", {"kind": "quota", "year": "2026", "format": "docx"})):
        answer = visitor.post(path, body)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/?next="), \
            path
    assert upload(visitor, home, "units", UNITS_CSV).status_code == 303
    assert signs_in(world.client, f"reviewer.{YEN_BAI}", PASSWORD)


def test_another_tenants_forms_and_jobs_are_refused(visitor: Visitor, world: World,
                                                   settings: Settings) -> None:
    other = f"/don-vi/{world.tenants[GIA_PHU].id}"
    ours = f"/don-vi/{world.tenants[YEN_BAI].id}"
    theirs = world.client.post(f"{API}/tenants/{world.tenants[GIA_PHU].id}/imports",
                               params={"kind": "units"}, headers=world.as_("tenant_admin",
                                                                            GIA_PHU),
                               files={"file": ("a.csv", UNITS_CSV, "text/csv")})
    assert theirs.status_code == 202, theirs.text
    their_job = theirs.json()["job_id"]
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    assert visitor.post(f"{other}/nguoi-dung/dat-lai-mat-khau", {
        "username": f"reviewer.{GIA_PHU}", "new_password": NEW_PASSWORD}).status_code == 403
    assert visitor.post(f"{other}/nguoi-dung/vo-hieu-hoa", {
        "username": f"reviewer.{GIA_PHU}", "reason": "Thử"}).status_code == 403
    assert visitor.post(f"{other}/bao-cao", {"kind": "quota", "year": "2026",
                                             "format": "docx"}).status_code == 403
    assert upload(visitor, other, "units", UNITS_CSV).status_code == 403
    assert visitor.get(f"{other}/cong-viec/{their_job}").status_code == 403
    assert visitor.get(f"{ours}/cong-viec/{their_job}").status_code == 404  # not ours
    assert 'id="cong-viec"' not in visitor.get(f"{ours}?cong-viec={their_job}").text
    # a user of another tenant, named from our page: not found here, and left alone
    refused = visitor.post(f"{ours}/nguoi-dung/vo-hieu-hoa", {
        "username": f"reviewer.{GIA_PHU}", "reason": "Thử"})
    assert refused.status_code == 303 and refused.headers["location"] == f"{ours}#tai-khoan"
    page = visitor.get(ours).text
    assert field_error(page, "vo-hieu-hoa", "username") == "không có tài khoản này trong đơn vị"
    assert signs_in(world.client, f"reviewer.{GIA_PHU}", PASSWORD)
    # a unit user reads the page but holds none of these forms
    visitor.sign_in(f"unit.user.{YEN_BAI}", PASSWORD)
    page = visitor.get(ours).text
    assert 'id="tai-khoan"' not in page and 'id="nhap-du-lieu"' not in page
    assert 'id="bao-cao"' not in page
    assert visitor.post(f"{ours}/nguoi-dung/dat-lai-mat-khau", {
        "username": f"reviewer.{YEN_BAI}", "new_password": NEW_PASSWORD}).status_code == 403
    assert visitor.post(f"{ours}/bao-cao", {"kind": "quota", "year": "2026",
                                            "format": "docx"}).status_code == 403


def test_forms_without_their_csrf_token_change_nothing(visitor: Visitor, world: World,
                                                      settings: Settings) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    visitor.get(home)
    assert visitor.post(f"{home}/nguoi-dung/dat-lai-mat-khau", {
        "username": f"reviewer.{YEN_BAI}", "new_password": NEW_PASSWORD},
        csrf=False).status_code == 403
    assert visitor.post(f"{home}/nguoi-dung/vo-hieu-hoa", {
        "username": f"approver.{YEN_BAI}", "reason": "Giả mạo"}, csrf=False).status_code == 403
    assert visitor.post(f"{home}/bao-cao", {"kind": "quota", "year": "2026", "format": "docx"},
                        csrf=False).status_code == 403
    assert upload(visitor, home, "units", UNITS_CSV, csrf=False).status_code == 403
    assert signs_in(world.client, f"reviewer.{YEN_BAI}", PASSWORD)
    assert signs_in(world.client, f"approver.{YEN_BAI}", PASSWORD)
    assert jobs_recorded(settings) == 0  # no import, no report was recorded


def jobs_recorded(settings: Settings) -> int:
    with connect_app(settings) as conn:
        row = conn.execute("SELECT count(*) FROM jobs").fetchone()
    assert row is not None
    return int(row[0])


def test_a_reset_password_lets_the_user_sign_in_with_the_new_one(visitor: Visitor,
                                                                world: World) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    page = visitor.get(home).text
    assert "Đặt lại mật khẩu</button>" in page and "Khóa tài khoản</button>" in page
    short = visitor.post(f"{home}/nguoi-dung/dat-lai-mat-khau", {
        "username": f"Reviewer.{YEN_BAI} ", "new_password": "ngan"})
    assert short.status_code == 303 and short.headers["location"] == f"{home}#tai-khoan"
    page = visitor.get(home).text
    assert field_error(page, "dat-lai-mat-khau", "new_password") == "độ dài phải &gt;= 10"
    assert 'aria-describedby="dat-lai-mat-khau-new_password-loi"' in page
    assert f'value="reviewer.{YEN_BAI} "' in page or f'value="Reviewer.{YEN_BAI} "' in page
    assert "ngan" not in page.split('id="tai-khoan"', 1)[1]  # never a password
    assert "dat-lai-mat-khau-username-loi" not in page
    assert signs_in(world.client, f"reviewer.{YEN_BAI}", PASSWORD)  # nothing changed
    unknown = visitor.post(f"{home}/nguoi-dung/dat-lai-mat-khau", {
        "username": "khong.co.ai", "new_password": NEW_PASSWORD})
    assert unknown.status_code == 303
    assert field_error(visitor.get(home).text, "dat-lai-mat-khau", "username") == \
        "không có tài khoản này trong đơn vị"
    done = visitor.post(f"{home}/nguoi-dung/dat-lai-mat-khau", {
        "username": f"Reviewer.{YEN_BAI} ", "new_password": NEW_PASSWORD})
    assert done.status_code == 303
    assert f"Đã đặt lại mật khẩu của “reviewer.{YEN_BAI}”." in visitor.get(home).text
    assert signs_in(world.client, f"reviewer.{YEN_BAI}", NEW_PASSWORD)
    assert not signs_in(world.client, f"reviewer.{YEN_BAI}", PASSWORD)
    reviewer = Visitor(str(world.client.base_url))
    try:
        assert reviewer.sign_in(f"reviewer.{YEN_BAI}", NEW_PASSWORD).headers["location"] == home
    finally:
        reviewer.close()


def test_a_deactivated_user_cannot_sign_in(visitor: Visitor, world: World) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    approver = Visitor(str(world.client.base_url))
    try:
        approver.sign_in(f"approver.{YEN_BAI}", PASSWORD)
        assert approver.get(home).status_code == 200
        visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
        no_reason = visitor.post(f"{home}/nguoi-dung/vo-hieu-hoa", {
            "username": f"approver.{YEN_BAI}", "reason": " "})
        assert no_reason.status_code == 303
        assert field_error(visitor.get(home).text, "vo-hieu-hoa", "reason")
        assert signs_in(world.client, f"approver.{YEN_BAI}", PASSWORD)
        done = visitor.post(f"{home}/nguoi-dung/vo-hieu-hoa", {
            "username": f"approver.{YEN_BAI}", "reason": "Chuyển công tác"})
        assert done.status_code == 303
        assert f"Đã khóa tài khoản “approver.{YEN_BAI}”." in visitor.get(home).text
        assert not signs_in(world.client, f"approver.{YEN_BAI}", PASSWORD)
        assert approver.get(home).status_code == 303  # the open session ended too
        assert approver.sign_in(f"approver.{YEN_BAI}", PASSWORD).status_code == 401
        again = visitor.post(f"{home}/nguoi-dung/vo-hieu-hoa", {
            "username": f"approver.{YEN_BAI}", "reason": "Lần nữa"})
        assert again.status_code == 303
        page = visitor.get(home).text
        assert '<p class="thong-bao loi" role="status">' in page  # already inactive: 409
        assert '<p class="loi-truong" role="alert">' in page  # told beside the form too
    finally:
        approver.close()


def test_an_import_from_the_page_appends_the_rows_and_its_progress_shows_done(
        visitor: Visitor, world: World, settings: Settings) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    page = visitor.get(home).text
    assert 'enctype="multipart/form-data"' in page
    assert 'href="/mau-nhap/units.xlsx"' in page
    template = visitor.get("/mau-nhap/units.xlsx")
    assert template.status_code == 200 and template.content.startswith(b"PK")
    assert "mau-nhap-units.xlsx" in template.headers["content-disposition"]
    job_id = job_of(upload(visitor, home, "units", UNITS_CSV), home)
    page = visitor.get(f"{home}?cong-viec={job_id}").text
    assert "Đã nhận tệp đơn vị “don-vi.csv”; đang nhập." in page
    assert 'data-state="queued"' in page  # no worker yet: it waits
    assert f'hx-get="{home}/cong-viec/{job_id}"' in page
    assert f'href="{home}?cong-viec={job_id}#cong-viec">Tải lại trang' in page  # without JS
    jobs = jobs_running(settings)
    try:
        done = fragment_when_finished(visitor, home, job_id)
    finally:
        jobs.stop()
    assert 'data-state="succeeded"' in done and "hx-get" not in done  # polling stops
    assert 'value="100"' in done and "Đã nhập 2 dòng." in done
    catch_up(settings)
    page = visitor.get(home).text
    assert '<th scope="row">Chi bộ Tổ dân phố 10</th>' in page
    assert '<th scope="row">Chi đoàn Thanh niên</th>' in page
    again = upload(visitor, home, "units", UNITS_CSV, name="ban-sao.csv")
    assert job_of(again, home) == job_id  # the same file: the first job, applied once
    assert "đã được gửi trước đây" in visitor.get(f"{home}?cong-viec={job_id}").text


def test_a_bad_file_from_the_page_shows_each_rows_errors_and_appends_nothing(
        visitor: Visitor, world: World, settings: Settings) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    bad = ("name,kind\r\nChi bộ Tổ dân phố 11,party_cell\r\nHội lạ,hoi_la\r\n"
           ",mass_org\r\n").encode()
    job_id = job_of(upload(visitor, home, "units", bad, name="loi.csv"), home)
    jobs = jobs_running(settings)
    try:
        failed = fragment_when_finished(visitor, home, job_id)
    finally:
        jobs.stop()
    assert 'data-state="failed"' in failed
    rows = re.findall(r'<tr><td class="so">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>',
                      failed)
    assert [(r, c) for r, c, _ in rows] == [("2", "kind"), ("3", "name")], failed
    assert rows[0][2].startswith("phải là một trong: party_cell")
    catch_up(settings)
    assert "Chi bộ Tổ dân phố 11" not in visitor.get(home).text
    not_a_file = visitor.post(f"{home}/nhap", {"kind": "units"},
                              files={"file": ("x.bin", b"\x00\x01\x02", "text/csv")})
    assert not_a_file.status_code == 303
    assert field_error(visitor.get(home).text, "nhap-du-lieu", "file")
    no_kind = visitor.post(f"{home}/nhap", {"kind": "tenants"},
                           files={"file": ("a.csv", UNITS_CSV, "text/csv")})
    assert no_kind.status_code == 303
    assert field_error(visitor.get(home).text, "nhap-du-lieu", "kind")


def test_a_report_asked_for_from_the_page_is_listed_and_downloads_as_docx(
        visitor: Visitor, world: World, settings: Settings) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    assert "Chưa có báo cáo nào." in visitor.get(home).text
    wrong = visitor.post(f"{home}/bao-cao", {"kind": "quota", "year": "1990",
                                             "format": "docx"})
    assert wrong.status_code == 303 and wrong.headers["location"] == f"{home}#bao-cao"
    page = visitor.get(home).text
    assert field_error(page, "bao-cao", "year")
    assert 'value="1990"' in page and '<option value="quota" selected>' in page
    job_id = job_of(visitor.post(f"{home}/bao-cao", {
        "kind": "registration_list", "year": "2026", "period": "", "format": "docx"}), home)
    assert "Đang lập “Danh sách đăng ký mô hình” năm 2026." in visitor.get(
        f"{home}?cong-viec={job_id}").text
    jobs = jobs_running(settings)
    try:
        done = fragment_when_finished(visitor, home, job_id)
    finally:
        jobs.stop()
    assert 'data-state="succeeded"' in done, done
    assert f'href="/bao-cao/{job_id}"' in done
    page = visitor.get(home).text
    listed = page.split('id="danh-sach-bao-cao"', 1)[1].split("</table>", 1)[0]
    assert "Danh sách đăng ký mô hình" in listed and f'href="/bao-cao/{job_id}"' in listed
    assert visitor.get(f"{API}/reports/{job_id}").status_code == 401  # the API wants a bearer
    download = visitor.get(f"/bao-cao/{job_id}")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith(DOCX)
    disposition = download.headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == \
        "Danh sách đăng ký mô hình năm 2026 - Phường Yên Bái.docx"
    text = "\n".join(p.text for p in Document(io.BytesIO(download.content)).paragraphs)
    assert "DANH SÁCH" in text.upper()
    stranger = Visitor(str(world.client.base_url))
    try:
        stranger.sign_in(f"admin.{GIA_PHU}", PASSWORD)
        assert stranger.get(f"/bao-cao/{job_id}").status_code == 404  # as the API says
    finally:
        stranger.close()


def test_a_file_up_to_the_imports_limit_is_taken_and_a_larger_one_is_refused(
        visitor: Visitor, world: World, settings: Settings) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    visitor.get(home)
    rows = "".join(f"Chi bộ {'thôn ' * 40}{i},party_cell\r\n" for i in range(5_000))
    big = ("name,kind\r\n" + rows).encode()
    assert 1024 * 1024 < len(big) < 8 * 1024 * 1024  # over the API's usual body limit
    job_of(upload(visitor, home, "units", big, name="lon.csv"), home)
    too_big = upload(visitor, home, "units", b"name,kind\r\n" + b"x" * (9 * 1024 * 1024),
                     name="qua-lon.csv")
    assert too_big.status_code == 413  # refused as the CSRF check reads the form
    assert "8454144" in too_big.text  # the imports' limit (8 MiB and the framing), not 1 MiB
