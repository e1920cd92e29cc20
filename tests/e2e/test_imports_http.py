"""Imports over HTTP, on PostgreSQL, with the jobs run by the in-process worker (dramatiq's
broker, the relay from the outbox): all rows or none, the same file applied once, CSV with a
BOM and Vietnamese headers in any order, one-time passwords for the importer alone, a
province's 99 communes and wards in one job, the 70 recognised models of 2025 maintained into
2026, hostile files refused, a worker that dies after the commit, the templates."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from danvan.backend.auth.passwords import hash_password
from danvan.backend.jobs.process import InProcessJobs
from danvan.backend.services.imports import ImportRefused, ImportRun, apply_import
from danvan.backend.wiring import build, load_catalogue
from danvan.domain.model import Model
from danvan.domain.units import Unit
from danvan.infra.database import connect_app
from danvan.infra.settings import Settings
from tests.e2e.conftest import MadeUser, login
from tests.e2e.graphql_support import catch_up, data, gql
from tests.e2e.world import API, GIA_PHU, YEN_BAI, World, ok
from tests.integration.jobs_support import finished, job_store

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
QUOTA = """query ($id: ID!, $year: Int!) { tenant(id: $id) { quota(year: $year) {
  newModels recognizedTenantLevel maintainedModels } } }"""


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser]) -> World:
    return World.build(client, make_user)


@pytest.fixture
def jobs(settings: Settings) -> Iterator[InProcessJobs]:
    running = InProcessJobs(settings, threads=1, schedule=False).start()
    yield running
    running.stop()


def events(settings: Settings) -> int:
    with connect_app(settings) as conn:
        row = conn.execute("SELECT count(*) FROM danvan_events").fetchone()
    assert row is not None
    return int(row[0])


def kept_bytes(settings: Settings, job_id: str) -> int:
    with connect_app(settings) as conn:
        row = conn.execute("SELECT length(content) FROM import_files WHERE job_id = %s",
                           (job_id,)).fetchone()
    assert row is not None
    return int(row[0])


def xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv(header: list[str], rows: list[list[str]], *, bom: bool = False) -> bytes:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    return ("\ufeff" if bom else "").encode() + ("\r\n".join(lines) + "\r\n").encode()


def send(client: httpx.Client, headers: dict[str, str], tenant: str, kind: str,
         content: bytes, name: str = "tep.xlsx", media: str = XLSX) -> httpx.Response:
    return client.post(f"{API}/tenants/{tenant}/imports", params={"kind": kind},
                       headers=headers, files={"file": (name, content, media)})


def start(client: httpx.Client, headers: dict[str, str], tenant: str, kind: str,
          content: bytes, **kwargs: Any) -> str:
    response = send(client, headers, tenant, kind, content, **kwargs)
    body = ok(response, 202)
    assert response.headers["location"] == f"{API}/jobs/{body['job_id']}"
    return str(body["job_id"])


def job(client: httpx.Client, headers: dict[str, str], job_id: str,
        settings: Settings) -> dict[str, Any]:
    finished(settings, job_id, timeout=90)
    return ok(client.get(f"{API}/jobs/{job_id}", headers=headers))


def units_file(count: int, bad: int | None = None) -> bytes:
    rows: list[list[Any]] = [[f"Chi bộ Tổ dân phố số {i}", "party_cell", i % 7 == 0]
                             for i in range(1, count + 1)]
    if bad is not None:
        rows[bad - 1][1] = "chi_bo_khong_co"
    return xlsx(["name", "kind", "reports_to_vertical_line"], rows)


def test_an_xlsx_with_one_bad_row_among_500_appends_nothing_and_names_the_row_and_column(
        client: httpx.Client, world: World, settings: Settings, jobs: InProcessJobs) -> None:
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    before = events(settings)
    failed = job(client, admin, start(client, admin, tenant, "units", units_file(500, bad=317)),
                 settings)
    assert failed["state"] == "failed"
    assert failed["result"] is None
    assert [(e["row"], e["field"]) for e in failed["errors"]] == [(317, "kind")]
    assert failed["errors"][0]["message"].startswith("phải là một trong: party_cell")
    assert events(settings) == before
    assert kept_bytes(settings, failed["id"]) == 0  # the refused file is not kept

    done = job(client, admin, start(client, admin, tenant, "units", units_file(500)), settings)
    assert done["state"] == "succeeded", done
    assert done["result"]["created"] == 500
    assert done["progress"] == {"done": 500, "total": 500}
    assert events(settings) == before + 500
    assert kept_bytes(settings, done["id"]) == 0
    unit = ok(client.get(f"{API}/tenants/{tenant}", headers=admin))
    assert unit["code"] == YEN_BAI


def test_the_same_file_twice_applies_once_and_names_the_first_job(
        client: httpx.Client, world: World, settings: Settings, jobs: InProcessJobs) -> None:
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    content = csv(["name", "kind"], [["Chi đoàn Thanh niên", "mass_org"],
                                     ["Trường Tiểu học Yên Bái", "school"]])
    first = start(client, admin, tenant, "units", content, media=CSV,
                  name="đơn\x00vị\x1b[31m" + "x" * 300 + ".csv")  # kept printable, short
    assert job(client, admin, first, settings)["state"] == "succeeded"
    with connect_app(settings) as conn:
        kept = conn.execute("SELECT name FROM import_files WHERE job_id = %s",
                            (first,)).fetchone()
    assert kept is not None and kept[0].startswith("đơn") and len(kept[0]) == 200
    assert kept[0].isprintable()
    raw = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x00\xed\xa0\x80'
           b'.csv"\r\nContent-Type: text/csv\r\n\r\nname,kind\r\nHoi Nong dan,mass_org\r\n'
           b'--b--\r\n')
    odd = client.post(f"{API}/tenants/{tenant}/imports", params={"kind": "units"}, content=raw,
                      headers={**admin, "Content-Type": "multipart/form-data; boundary=b"})
    # a NUL and a lone surrogate in a part's header: the multipart parser's 400, not a 5xx
    assert odd.status_code == 400 and odd.json()["code"] == "bad_request", odd.text
    before = events(settings)
    again = send(client, admin, tenant, "units", content, name="ban-sao.csv", media=CSV)
    assert again.status_code == 200, again.text
    assert again.json() == {"job_id": first}
    assert again.headers["location"] == f"{API}/jobs/{first}"
    time.sleep(0.5)
    assert events(settings) == before
    # with an Idempotency-Key: run once, then its answer replayed
    keyed = (b'--k\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
             b'Content-Type: text/csv\r\n\r\nname,kind\r\nHoi Cuu chien binh,mass_org\r\n'
             b'--k--\r\n')
    answers = [client.post(f"{API}/tenants/{tenant}/imports", params={"kind": "units"},
                           content=keyed, headers={
                               **admin, "Content-Type": "multipart/form-data; boundary=k",
                               "Idempotency-Key": "nhap-don-vi-1"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202], answers[0].text
    assert answers[0].json() == answers[1].json()
    assert answers[1].headers.get("idempotent-replayed") == "true"
    assert job(client, admin, answers[0].json()["job_id"], settings)["state"] == "succeeded"
    before = events(settings)
    # the same file in another tenant is that tenant's own import
    other = world.tenants[GIA_PHU].id
    second = start(client, world.as_("tenant_admin", GIA_PHU), other, "units", content,
                   name="don-vi.csv", media=CSV)
    assert second != first
    assert job(client, world.as_("tenant_admin", GIA_PHU), second, settings)["state"] == \
        "succeeded"
    assert events(settings) == before + 2


def test_users_from_a_csv_with_bom_and_vietnamese_headers_in_any_order(
        client: httpx.Client, world: World, settings: Settings, jobs: InProcessJobs) -> None:
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    content = csv(["Vai trò", "Mật khẩu", "Họ và tên", "Đơn vị", "Tên đăng nhập *"], [
        ["unit_user", "", "Lò Văn Bí", "Chi bộ Tổ dân phố 5", "bithu.to5.moi"],
        ["reviewer; approver", "mat-khau-rieng-2026", "Hà Thị Xây", "", "bxdd.moi"],
    ], bom=True)
    job_id = start(client, admin, tenant, "users", content, name="nguoi-dung.csv", media=CSV)
    body = job(client, admin, job_id, settings)
    assert body["state"] == "succeeded", body
    assert body["result"]["created"] == 2
    [generated] = body["result"]["one_time_passwords"]
    assert generated["row"] == 1 and generated["username"] == "bithu.to5.moi"
    assert len(generated["password"]) >= 10
    assert login(client, MadeUser(None, "bithu.to5.moi", generated["password"]))  # type: ignore
    assert login(client, MadeUser(None, "bxdd.moi", "mat-khau-rieng-2026"))  # type: ignore
    # a generated password is a one-time password: it must be changed at first sign-in
    signed_in = {username: ok(client.post(f"{API}/auth/token", json={
        "username": username, "password": password}))["must_change_password"]
        for username, password in (("bithu.to5.moi", generated["password"]),
                                   ("bxdd.moi", "mat-khau-rieng-2026"))}
    assert signed_in == {"bithu.to5.moi": True, "bxdd.moi": False}
    # another reader of the job (a province admin) never sees the generated passwords
    seen = ok(client.get(f"{API}/jobs/{job_id}", headers=world.province))
    assert "one_time_passwords" not in seen["result"] and seen["result"]["created"] == 2


def test_a_bad_users_file_names_each_row_and_column_and_creates_nobody(
        client: httpx.Client, world: World, settings: Settings, jobs: InProcessJobs) -> None:
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    before = events(settings)
    content = csv(["username", "full_name", "roles", "unit", "password"], [
        ["tot.nguoi", "Người Tốt", "reviewer", "", ""],
        ["admin.04252", "Trùng tên", "reviewer", "", ""],          # taken by the world
        ["ban.bi", "Bí Thư", "unit_user", "Không có đơn vị này", ""],
        ["ngan.qua", "Mật khẩu ngắn", "reviewer", "", "ngan"],
        ["tot.nguoi", "Lặp lại", "approver", "", ""],
        ["vai.tro", "Vai trò lạ", "province_admin", "", ""],
    ])
    body = job(client, admin, start(client, admin, tenant, "users", content, media=CSV),
               settings)
    assert body["state"] == "failed"
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (2, "username"), (3, "unit"), (4, "password"), (5, "username"), (6, "roles")]
    assert body["errors"][3]["message"] == "trùng với dòng 1 của tệp"
    assert events(settings) == before


def test_a_wards_70_recognised_2025_models_imported_then_maintained_into_2026(
        client: httpx.Client, world: World, settings: Settings, jobs: InProcessJobs) -> None:
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    unit = "Chi bộ Tổ dân phố 5"
    names = [f"Mô hình dân vận khéo năm 2025 số {i}" for i in range(1, 71)]
    content = xlsx(["Đơn vị", "Năm", "Tên mô hình", "Lĩnh vực", "Loại mô hình", "Trạng thái",
                    "Số quyết định", "Ngày quyết định"],
                   [[unit, 2025, name, "economy", "collective", "recognized_tenant",
                     "125-QĐ/ĐU", "20/10/2025"] for name in names])
    body = job(client, admin, start(client, admin, tenant, "models", content), settings)
    assert body["state"] == "succeeded", body
    assert body["result"]["created"] == 70

    unit_id = str(Unit.id_for(tenant, unit))
    reviewer = world.as_("reviewer")
    for name in names:
        model_id = Model.id_for(tenant, unit_id, 2025, name)
        ok(client.post(f"{API}/tenants/{tenant}/models/{model_id}/maintenance",
                       headers=reviewer, json={"year": 2026}))
    catch_up(settings)
    quota = data(gql(client, admin, QUOTA, {"id": tenant, "year": 2026}))["tenant"]["quota"]
    assert quota == {"newModels": 0, "recognizedTenantLevel": 0, "maintainedModels": 70}
    past = data(gql(client, admin, QUOTA, {"id": tenant, "year": 2025}))["tenant"]["quota"]
    assert past == {"newModels": 70, "recognizedTenantLevel": 70, "maintainedModels": 0}

    history = data(gql(client, admin, """query ($id: ID!) { model(id: $id) {
        state history { type actor { id } payload } } }""",
                       {"id": str(Model.id_for(tenant, unit_id, 2025, names[0]))}))["model"]
    assert history["state"] == "RECOGNIZED_TENANT"
    imported = history["history"][0]
    assert imported["type"] == "Model.Imported"
    assert imported["payload"]["file_hash"] == body["result"]["file_hash"]
    assert imported["payload"]["importer"] == imported["actor"]["id"]
    assert imported["payload"]["decision_date"] == "2025-10-20"


def test_a_model_of_this_year_or_an_unreachable_state_is_refused(
        client: httpx.Client, world: World, settings: Settings, jobs: InProcessJobs) -> None:
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    content = xlsx(["unit", "year", "name", "field", "kind", "state", "decision_number",
                    "decision_date"], [
        ["Chi bộ Tổ dân phố 5", 2026, "Năm nay", "economy", "collective", "accepted", "", ""],
        ["Chi bộ Tổ dân phố 5", 2024, "Nháp cũ", "economy", "collective", "draft", "", ""],
        ["Chi bộ Tổ dân phố 5", 2024, "Thiếu quyết định", "economy", "collective",
         "recognized_province", "", ""],
    ])
    body = job(client, admin, start(client, admin, tenant, "models", content), settings)
    assert body["state"] == "failed"
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (1, "year"), (2, "state"), (3, "decision_number"), (3, "decision_date")]


def test_a_province_onboards_its_99_communes_and_wards_in_one_job(
        client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings,
        jobs: InProcessJobs) -> None:
    province = login(client, make_user("admin.laocai", role="province_admin"))
    assert len(load_catalogue().units_of("15")) == 99
    ok(client.post(f"{API}/tenants", headers=province, json={"code": YEN_BAI}), 201)
    response = client.post(f"{API}/provinces/15/imports", params={"kind": "tenants"},
                           headers=province, json={"all": True})
    job_id = ok(response, 202)["job_id"]
    body = job(client, province, job_id, settings)
    assert body["state"] == "succeeded", body
    assert body["result"]["created"] == 98 and body["result"]["skipped"] == 1  # Yên Bái
    assert body["progress"] == {"done": 99, "total": 99}
    with connect_app(settings) as conn:
        row = conn.execute("SELECT count(*) FROM danvan_events WHERE topic LIKE "
                           "'%Tenant.Onboarded'").fetchone()
    assert row is not None and row[0] == 99
    again = client.post(f"{API}/provinces/15/imports", params={"kind": "tenants"},
                        headers=province, json={"all": True})
    assert again.status_code == 200 and again.json() == {"job_id": job_id}
    # a file of codes: one of another province is named, and nothing is onboarded
    codes = csv(["Mã đơn vị hành chính"], [["00004"]])
    refused = client.post(f"{API}/provinces/15/imports", params={"kind": "tenants"},
                          headers=province, files={"file": ("ma.csv", codes, CSV)})
    failed = job(client, province, ok(refused, 202)["job_id"], settings)
    assert [(e["row"], e["field"]) for e in failed["errors"]] == [(1, "code")]


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (64 * 1024 * 1024))
    return out.getvalue()


def entity_bomb() -> bytes:
    """A workbook whose sheet declares nested XML entities ("billion laughs")."""
    source = zipfile.ZipFile(io.BytesIO(xlsx(["name", "kind"], [["A", "front"]])))
    out = io.BytesIO()
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + b"".join(b'<!ENTITY lol%d "%s">' % (i, f"&lol{i - 1 or ''};".encode() * 10)
                         for i in range(1, 9)) + b"]>")
    with zipfile.ZipFile(out, "w") as archive:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename.startswith("xl/worksheets/"):
                body = data.split(b"?>", 1)[-1]  # without its XML declaration, if any
                assert b">A<" in body
                data = laughs + body.replace(b">A<", b">&lol8;<")
            archive.writestr(member, data)
    return out.getvalue()


def formula_file() -> bytes:
    return xlsx(["name", "kind"], [["Chi bộ 1", "party_cell"], ["=HYPERLINK(\"x\")",
                                                                "party_cell"]])


@pytest.mark.parametrize(("label", "content", "row", "field", "words"), [
    ("a zip that is no workbook", b"PK\x03\x04" + b"\x00" * 64, 0, "file", "XLSX"),
    ("a zip bomb", None, 0, "file", "giải nén quá lớn"),
    ("XML entities", None, 0, "file", "XLSX"),
    ("a formula", None, 2, "name", "công thức"),
    ("a huge cell", None, 1, "name", "ô quá dài"),
    ("an unknown column", None, 0, "mau_sac", "cột không xác định"),
])
def test_a_hostile_file_fails_its_job_with_a_clear_error_and_appends_nothing(
        client: httpx.Client, world: World, settings: Settings, jobs: InProcessJobs,
        label: str, content: bytes | None, row: int, field: str, words: str) -> None:
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    content = content or {
        "a zip bomb": zip_bomb, "a formula": formula_file, "XML entities": entity_bomb,
        "a huge cell": lambda: xlsx(["name", "kind"], [["x" * 30_000, "party_cell"]]),
        "an unknown column": lambda: xlsx(["name", "kind", "mau_sac"], [["A", "front", "đỏ"]]),
    }[label]()
    before = events(settings)
    body = job(client, admin, start(client, admin, tenant, "units", content), settings)
    assert body["state"] == "failed", body
    error = body["errors"][0]
    assert (error["row"], error["field"]) == (row, field), error
    assert words in error["message"], error
    assert events(settings) == before


def test_a_request_that_cannot_be_an_import_is_refused_at_once(
        client: httpx.Client, world: World, settings: Settings) -> None:
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    path = f"{API}/tenants/{tenant}/imports"

    def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["code"] == code
        return dict(body)

    binary = problem(send(client, admin, tenant, "units", b"\xff\xfe\x00garbage"), 422,
                     "invalid_input")
    assert binary["errors"][0]["field"] == "file"
    assert problem(send(client, admin, tenant, "units", b"name,kind\nA\x00,front\n",
                        media=CSV), 422, "invalid_input")["errors"][0]["field"] == "file"
    problem(send(client, admin, tenant, "units", b""), 422, "invalid_input")
    problem(send(client, admin, tenant, "bogus", b"name,kind\n"), 422, "invalid_input")
    problem(client.post(path, params={"kind": "units"}, headers=admin,
                        json={"name": "A"}), 415, "unsupported_media_type")
    problem(client.post(path, params={"kind": "units"}, headers=admin,
                        files={"other": ("a.csv", b"name,kind\n", CSV)}), 422, "invalid_input")
    problem(send(client, admin, tenant, "units", b"a" * (9 * 1024 * 1024)), 413,
            "payload_too_large")
    problem(send(client, world.as_("reviewer"), tenant, "units", b"name,kind\n"), 403,
            "forbidden")
    problem(client.post(f"{API}/provinces/15/imports", params={"kind": "tenants"},
                        headers=world.province, json={"all": False}), 422, "invalid_input")
    assert job_store(settings).get("00000000-0000-0000-0000-000000000000") is None
    with connect_app(settings) as conn:
        row = conn.execute("SELECT count(*) FROM jobs WHERE kind LIKE 'import_%'").fetchone()
    assert row is not None and row[0] == 0


def run_as_a_dying_worker(settings: Settings, job_id: str) -> dict[str, Any]:
    """The job's work up to its commit (or its refusal), and no outcome recorded: as a worker
    that died right after."""
    row = job_store(settings).get(job_id)
    assert row is not None and row.created_by is not None and row.tenant_id is not None
    services = build(settings, redis=None)
    try:
        assert services.store is not None
        return apply_import(ImportRun(
            job_id=job_id, scope=row.tenant_id, created_by=row.created_by,
            params={"role": "tenant_admin", "source": "file"}, store=services.store,
            pool=services.db_pool, catalogue=load_catalogue(), hash_password=hash_password))
    finally:
        services.close()


def run_by_the_next_worker(client: httpx.Client, headers: dict[str, str], job_id: str,
                           settings: Settings) -> dict[str, Any]:
    running = InProcessJobs(settings, threads=1, schedule=False).start()
    try:
        return job(client, headers, job_id, settings)
    finally:
        running.stop()


def test_a_worker_that_died_after_the_commit_leaves_the_import_applied_once(
        client: httpx.Client, world: World, settings: Settings) -> None:
    """The next run answers the recorded result (its one-time password included) and
    appends nothing."""
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    content = csv(["username", "full_name", "roles"], [["moi.mot", "Người Một", "reviewer"]])
    job_id = start(client, admin, tenant, "users", content, media=CSV)
    first = run_as_a_dying_worker(settings, job_id)
    after_commit = events(settings)
    body = run_by_the_next_worker(client, admin, job_id, settings)
    assert body["state"] == "succeeded"
    assert body["result"] == first and len(first["one_time_passwords"]) == 1
    assert events(settings) == after_commit


def test_a_worker_that_died_after_refusing_an_import_leaves_the_same_errors(
        client: httpx.Client, world: World, settings: Settings) -> None:
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    content = csv(["name", "kind"], [["Chi hội 1", "front"], ["Chi hội 2", "khong_co"]])
    job_id = start(client, admin, tenant, "units", content, media=CSV)
    before = events(settings)
    with pytest.raises(ImportRefused) as refused:
        run_as_a_dying_worker(settings, job_id)
    assert kept_bytes(settings, job_id) == 0
    body = run_by_the_next_worker(client, admin, job_id, settings)
    assert body["state"] == "failed"
    assert body["errors"] == refused.value.errors()
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(2, "kind")]
    assert events(settings) == before


def test_the_templates_have_vietnamese_headers_and_import_as_filled_in(
        client: httpx.Client, world: World, settings: Settings, jobs: InProcessJobs) -> None:
    admin = world.as_("tenant_admin")
    response = client.get(f"{API}/import-templates/units.xlsx", headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XLSX)
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["Tên đơn vị *", "Loại đơn vị *", "Thuộc ngành dọc"]
    sheet.append(["Hội Cựu chiến binh", "mass_org", "không"])
    filled = io.BytesIO()
    book.save(filled)
    tenant = world.tenants[YEN_BAI].id
    body = job(client, admin, start(client, admin, tenant, "units", filled.getvalue()), settings)
    assert body["state"] == "succeeded", body
    for kind in ("users", "models", "tenants"):
        assert client.get(f"{API}/import-templates/{kind}.xlsx",
                          headers=admin).status_code == 200
    assert client.get(f"{API}/import-templates/nope.xlsx", headers=admin).status_code == 404
    assert client.get(f"{API}/import-templates/units.xlsx").status_code == 401


@pytest.mark.parametrize("kind", ["units", "models"])
def test_a_5000_row_file_is_imported_within_a_minute(
        client: httpx.Client, world: World, settings: Settings, jobs: InProcessJobs,
        kind: str) -> None:
    """The figure of API.md "Imports": from the request to the job's success, with the
    projector then catching up on the 5,000 events."""
    admin = world.as_("tenant_admin")
    tenant = world.tenants[YEN_BAI].id
    if kind == "units":
        content = units_file(5_000)
    else:
        units = list(world.tenants[YEN_BAI].units)
        content = xlsx(["unit", "year", "name", "field", "kind", "state", "decision_number",
                        "decision_date"],
                       [[units[i % len(units)], 2025, f"Mô hình năm 2025 số {i}", "economy",
                         "collective", "recognized_tenant", f"{i}-QĐ/ĐU", "2025-11-20"]
                        for i in range(5_000)])
    began = time.monotonic()
    body = job(client, admin, start(client, admin, tenant, kind, content), settings)
    took = time.monotonic() - began
    assert body["state"] == "succeeded", body
    assert body["result"]["created"] == 5_000
    print(f"\n5,000 {kind}: {took:.1f} s from the request to the job's success")
    assert took < 60
    began = time.monotonic()
    catch_up(settings)
    print(f"projected in {time.monotonic() - began:.1f} s")
