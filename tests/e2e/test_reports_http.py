"""Official reports over HTTP, read back with python-docx and openpyxl: on a generated year of
several tenants (the demo year, three communes and wards and three agencies), every figure of
every kind, for a tenant and for the province, now and ``as_of`` a past moment, equals the
GraphQL answer for the same scope, year and moment; the form's heading, number and date lines
stand where the form puts them; no exemplar's phone or address appears; a tenant's user cannot
download another tenant's report; the PDF's first page is a non-blank A4 page with text."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from docx import Document
from openpyxl import load_workbook

from danvan.backend.demo import DEMO_PASSWORD, load_demo
from danvan.backend.jobs.running import Runtime, perform
from danvan.backend.reports.xlsx_sheet import HEADING_ROWS
from danvan.domain.clock import VIETNAM
from danvan.infra.settings import Settings
from tests.e2e.graphql_support import catch_up, data, gql
from tests.e2e.world import API, ok
from tests.integration.jobs_support import job_store
from tests.unit.builders import FORM

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=VIETNAM)
PAST = datetime(2026, 6, 30, 23, 59, 59, tzinfo=VIETNAM)
YEAR = 2026
FIELDS = ("party_building", "economy", "culture_society", "defense_security",
          "digital_transformation")


def token(client: httpx.Client, username: str) -> dict[str, str]:
    body = ok(client.post(f"{API}/auth/token",
                          json={"username": username, "password": DEMO_PASSWORD}))
    return {"authorization": f"Bearer {body['access_token']}"}


def make_report(client: httpx.Client, settings: Settings, headers: dict[str, str],
                path: str, **body: Any) -> tuple[httpx.Response, dict[str, Any]]:
    """Ask for a report, do its job as a worker would, download it."""
    job_id = ok(client.post(f"{API}{path}/reports", headers=headers,
                            json={"year": YEAR, **body}), 202)["job_id"]
    runtime = Runtime(settings, pool_size=2)
    try:
        perform(runtime, job_id, retries=0, max_retries=0)
    finally:
        runtime.close()
    job = ok(client.get(f"{API}/jobs/{job_id}", headers=headers))
    assert job["state"] == "succeeded", job
    assert job["result"]["url"] == f"/api/v1/reports/{job['result']['report_id']}"
    download = client.get(job["result"]["url"], headers=headers)
    assert download.status_code == 200, download.text
    return download, job["result"]


def sheet_rows(content: bytes, sheet: int = 0) -> tuple[list[str], list[dict[str, Any]]]:
    """The header titles and the rows (a dict by title) of one sheet, the total row last."""
    workbook = load_workbook(io.BytesIO(content))
    ws = workbook.worksheets[sheet]
    assert ws.freeze_panes == f"A{HEADING_ROWS + 2}"
    values = list(ws.iter_rows(min_row=HEADING_ROWS + 1, values_only=True))
    titles = [str(t) for t in values[0]]
    return titles, [dict(zip(titles, row, strict=True)) for row in values[1:]]


def docx_tables(content: bytes) -> list[list[list[str]]]:
    document = Document(io.BytesIO(content))
    return [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]


def docx_text(content: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(content)).paragraphs]


def vn(n: int | Decimal) -> str:
    return f"{int(n):,}".replace(",", ".")


QUOTA_FIELDS = """newModels newModelsTarget recognizedTenantLevel recognizedTenantLevelTarget
  recognizedProvinceLevel recognizedProvinceLevelTarget unitsWithoutRegistration
  maintainedModels discontinuedModels submittedModels status atRisk"""
BY_FIELD = """field newModels recognizedTenantLevel recognizedProvinceLevel
  progress { participants workdays moneyVnd landM2 }"""
TENANT = f"""query ($id: ID!, $year: Int!, $asOf: DateTime) {{ tenant(id: $id) {{ name
  quota(year: $year, asOf: $asOf) {{ {QUOTA_FIELDS} }}
  byField(year: $year, asOf: $asOf) {{ {BY_FIELD} }}
  recognitions(year: $year) {{ modelName level decisionNumber decisionDate recognizedAt
    revokedAt }} }} }}"""
MODELS = """query ($id: ID!, $year: Int!, $after: String) { tenant(id: $id) {
  models(year: $year, first: 100, after: $after) { pageInfo { hasNextPage endCursor }
    edges { node { name acceptedAt state } } } } }"""
PROVINCE = f"""query ($year: Int!, $asOf: DateTime) {{ province(code: "15") {{
  summary(year: $year, asOf: $asOf) {{ tenantCount newModels recognizedTenantLevel
    recognizedProvinceLevel maintainedModels tenantsMet tenantsAtRisk
    byField {{ {BY_FIELD} }} progress {{ participants workdays moneyVnd landM2 }} }}
  quotas(year: $year, asOf: $asOf, first: 100) {{ edges {{ node {{ tenant {{ id code name }}
    {QUOTA_FIELDS} }} }} }} }} }}"""


def moment(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def accepted_names(client: httpx.Client, headers: dict[str, str], tenant_id: str,
                   at: datetime | None) -> list[str]:
    names, after = [], None
    while True:
        page = data(gql(client, headers, MODELS, {"id": tenant_id, "year": YEAR,
                                                  "after": after}))["tenant"]["models"]
        for edge in page["edges"]:
            accepted = edge["node"]["acceptedAt"]
            if accepted and (at is None or datetime.fromisoformat(accepted) <= at):
                names.append(edge["node"]["name"])
        if not page["pageInfo"]["hasNextPage"]:
            return sorted(names)
        after = page["pageInfo"]["endCursor"]


def in_force(r: dict[str, Any], at: datetime | None) -> bool:
    if at is None:
        return r["revokedAt"] is None
    return datetime.fromisoformat(r["recognizedAt"]) <= at and (
        r["revokedAt"] is None or datetime.fromisoformat(r["revokedAt"]) > at)


def check_by_field(rows: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    body, total = rows[:-1], rows[-1]
    assert len(body) == len(FIELDS) and total["Lĩnh vực"] == "Tổng cộng"
    for row, want in zip(body, expected, strict=True):
        assert (row["Mô hình mới"], row["Công nhận cấp xã"], row["Công nhận cấp tỉnh"]) == (
            want["newModels"], want["recognizedTenantLevel"], want["recognizedProvinceLevel"])
        p = want["progress"]
        assert (row["Lượt người tham gia"], row["Ngày công"]) == (p["participants"],
                                                                    p["workdays"])
        assert Decimal(str(row["Tiền huy động (đồng)"])) == Decimal(p["moneyVnd"])
        assert Decimal(str(row["Đất hiến (m²)"])) == Decimal(p["landM2"])
    for title in ("Mô hình mới", "Công nhận cấp xã", "Công nhận cấp tỉnh",
                  "Lượt người tham gia", "Ngày công"):
        assert total[title] == sum(r[title] for r in body), title


@pytest.fixture
def demo(settings: Settings, client: httpx.Client) -> dict[str, Any]:
    assert load_demo(settings, year=YEAR, tenant_limit=3, now=NOW) is not None
    catch_up(settings)
    province = token(client, "admin.laocai")
    quotas = data(gql(client, province, PROVINCE, {"year": YEAR}))["province"]["quotas"]
    tenants = {e["node"]["tenant"]["name"]: e["node"]["tenant"]["id"] for e in quotas["edges"]}
    return {"province": province, "ward": token(client, "quantri.yenbai"),
            "tenants": tenants, "yen_bai": tenants["Phường Yên Bái"]}


@pytest.mark.parametrize("at", [None, PAST], ids=["now", "as_of"])
def test_every_figure_of_every_kind_equals_the_graphql_answer(
        client: httpx.Client, settings: Settings, demo: dict[str, Any],
        at: datetime | None) -> None:
    province, ward, yen_bai = demo["province"], demo["ward"], demo["yen_bai"]
    extra = {"as_of": at.isoformat()} if at else {}
    graph = data(gql(client, province, PROVINCE, {"year": YEAR, "asOf": moment(at)}))
    summary = graph["province"]["summary"]
    quota_rows = [e["node"] for e in graph["province"]["quotas"]["edges"]]
    tenant = data(gql(client, ward, TENANT, {"id": yen_bai, "year": YEAR,
                                             "asOf": moment(at)}))["tenant"]

    # quota, province: one row per tenant, every count, target and status; totals add up
    xlsx, result = make_report(client, settings, province, "/provinces/15", kind="quota",
                               format="xlsx", **extra)
    assert result["as_of"] == (at.isoformat() if at else None)
    _, kinds = sheet_rows(xlsx.content, 0)  # added up by kind of tenant
    assert kinds[-1]["Số đơn vị"] == summary["tenantCount"] == len(quota_rows)
    assert kinds[-1]["Mô hình mới: thực hiện"] == summary["newModels"]
    assert kinds[-1]["Công nhận cấp tỉnh: thực hiện"] == summary["recognizedProvinceLevel"]
    assert kinds[-1]["Đạt chỉ tiêu"] == summary["tenantsMet"]
    assert sum(k["Số đơn vị"] for k in kinds[:-1]) == summary["tenantCount"]
    _, rows = sheet_rows(xlsx.content, 1)
    body, total = rows[:-1], rows[-1]
    assert [r["Mã"] for r in body] == [q["tenant"]["code"] for q in quota_rows]
    for row, q in zip(body, quota_rows, strict=True):
        assert (row["Mô hình mới: thực hiện"], row["Mô hình mới: kế hoạch"],
                row["Công nhận cấp xã: thực hiện"], row["Công nhận cấp xã: kế hoạch"],
                row["Công nhận cấp tỉnh: thực hiện"], row["Công nhận cấp tỉnh: kế hoạch"],
                row["Đơn vị chưa đăng ký đủ"], row["Duy trì"]) == (
            q["newModels"], q["newModelsTarget"], q["recognizedTenantLevel"],
            q["recognizedTenantLevelTarget"], q["recognizedProvinceLevel"],
            q["recognizedProvinceLevelTarget"], q["unitsWithoutRegistration"],
            q["maintainedModels"])
        assert row["Đánh giá"].startswith(
            {"MET": "Đạt", "MISSED": "Không đạt", "IN_PROGRESS": "Đang thực hiện"}[q["status"]])
        assert ("nguy cơ" in row["Đánh giá"]) == q["atRisk"]
    assert total["Đơn vị"] == "Tổng cộng"
    assert total["Mô hình mới: thực hiện"] == summary["newModels"]
    assert total["Công nhận cấp xã: thực hiện"] == summary["recognizedTenantLevel"]
    assert total["Công nhận cấp tỉnh: thực hiện"] == summary["recognizedProvinceLevel"]
    assert total["Duy trì"] == summary["maintainedModels"]
    docx, _ = make_report(client, settings, province, "/provinces/15", kind="quota",
                          format="docx", **extra)
    table = docx_tables(docx.content)[-2]  # the last is the signature block
    assert [r[2] for r in table[1:-1]] == [q["tenant"]["code"] for q in quota_rows]
    assert table[-1][3:5] == [vn(sum(q["newModelsTarget"] for q in quota_rows)),
                              vn(summary["newModels"])]
    note = next(t for t in docx_text(docx.content) if t.startswith("Toàn tỉnh có"))
    assert note.startswith(f"Toàn tỉnh có {summary['tenantCount']} đơn vị; "
                           f"{summary['tenantsMet']} đơn vị đã đạt chỉ tiêu, "
                           f"{summary['tenantsAtRisk']} đơn vị")

    # quota, tenant: the three targets, the other counts, and the units
    xlsx, _ = make_report(client, settings, ward, f"/tenants/{yen_bai}", kind="quota",
                          format="xlsx", **extra)
    _, measures = sheet_rows(xlsx.content, 0)
    q = tenant["quota"]
    assert [(r["Kế hoạch"], r["Thực hiện"]) for r in measures] == [
        (q["newModelsTarget"], q["newModels"]),
        (q["recognizedTenantLevelTarget"], q["recognizedTenantLevel"]),
        (q["recognizedProvinceLevelTarget"], q["recognizedProvinceLevel"]),
        (None, q["maintainedModels"]), (None, q["discontinuedModels"]),
        (None, q["submittedModels"]), (None, q["unitsWithoutRegistration"])]
    _, units = sheet_rows(xlsx.content, 1)
    assert sum(1 for u in units[:-1] if u["Đánh giá"] == "Chưa đạt") == \
        q["unitsWithoutRegistration"]
    assert units[-1]["Mô hình đã gửi"] == sum(u["Mô hình đã gửi"] for u in units[:-1])

    # registration list: the models accepted by then, for the tenant and the province
    xlsx, _ = make_report(client, settings, ward, f"/tenants/{yen_bai}",
                          kind="registration_list", format="xlsx", **extra)
    _, listed = sheet_rows(xlsx.content)
    assert sorted(r["Tên mô hình"] for r in listed) == accepted_names(client, ward, yen_bai, at)
    assert len(listed) == q["newModels"]
    assert all(isinstance(r["Ngày tiếp nhận"], datetime) for r in listed)
    xlsx, _ = make_report(client, settings, province, "/provinces/15",
                          kind="registration_list", format="xlsx", **extra)
    _, listed = sheet_rows(xlsx.content)
    assert len(listed) == summary["newModels"]
    for name, tenant_id in demo["tenants"].items():
        assert sorted(r["Tên mô hình"] for r in listed if r["Xã, phường, cơ quan"] == name) \
            == accepted_names(client, province, tenant_id, at), name
    docx, _ = make_report(client, settings, ward, f"/tenants/{yen_bai}",
                          kind="registration_list", format="docx", **extra)
    assert len(docx_tables(docx.content)[1]) == 1 + q["newModels"]
    assert f"Tổng số: {q['newModels']} mô hình." in docx_text(docx.content)

    # recognition list: each decision in force then, at each level
    xlsx, _ = make_report(client, settings, ward, f"/tenants/{yen_bai}",
                          kind="recognition_list", format="xlsx", **extra)
    held = [r for r in tenant["recognitions"] if in_force(r, at)]
    for sheet, level in ((0, "province"), (1, "tenant")):
        _, listed = sheet_rows(xlsx.content, sheet)
        expected = sorted((r["modelName"], r["decisionNumber"], r["decisionDate"])
                          for r in held if r["level"].lower() == level)
        assert sorted((r["Tên mô hình"], r["Số quyết định"],
                       r["Ngày quyết định"].date().isoformat()) for r in listed) == expected
    assert len(sheet_rows(xlsx.content, 1)[1]) == q["recognizedTenantLevel"]
    assert len(sheet_rows(xlsx.content, 0)[1]) == q["recognizedProvinceLevel"]
    xlsx, _ = make_report(client, settings, province, "/provinces/15",
                          kind="recognition_list", format="xlsx", **extra)
    assert len(sheet_rows(xlsx.content, 0)[1]) == summary["recognizedProvinceLevel"]
    assert len(sheet_rows(xlsx.content, 1)[1]) == summary["recognizedTenantLevel"]

    # review: per field (counts and progress), the paragraph's counts, units lacking
    xlsx, result = make_report(client, settings, ward, f"/tenants/{yen_bai}", kind="review",
                               format="xlsx", period="h1", **extra)
    # a six-month review counts what had happened by 30 June (unless as_of says otherwise)
    assert result["as_of"] == (at or PAST.replace(microsecond=999999)).isoformat()
    half = data(gql(client, ward, TENANT, {"id": yen_bai, "year": YEAR,
                                           "asOf": result["as_of"]}))["tenant"]
    check_by_field(sheet_rows(xlsx.content, 0)[1], half["byField"])
    lacking = sheet_rows(xlsx.content, 1)[1]
    assert len(lacking) == half["quota"]["unitsWithoutRegistration"]
    xlsx, _ = make_report(client, settings, province, "/provinces/15", kind="review",
                          format="xlsx", **extra)
    check_by_field(sheet_rows(xlsx.content, 0)[1], summary["byField"])
    assert sheet_rows(xlsx.content, 1)[1][-1]["Đơn vị chưa đăng ký đủ"] == sum(
        q["unitsWithoutRegistration"] for q in quota_rows)
    docx, _ = make_report(client, settings, province, "/provinces/15", kind="review",
                          format="docx", **extra)
    text = "\n".join(docx_text(docx.content))
    p = summary["progress"]
    assert (f"có {summary['newModels']} mô hình được tiếp nhận đăng ký; "
            f"{summary['recognizedTenantLevel']} mô hình được công nhận cấp xã, "
            f"{summary['recognizedProvinceLevel']} mô hình được công nhận cấp tỉnh; "
            f"{summary['maintainedModels']} mô hình") in text
    assert (f"{vn(p['participants'])} lượt người tham gia, {vn(p['workdays'])} ngày công, "
            f"{vn(Decimal(p['moneyVnd']))} đồng") in text


UNITS = """query ($id: ID!) { tenant(id: $id) {
  units(includeClosed: false) { id reportsToVerticalLine } } }"""
PERSON = {"full_name": "Lò Thị Mai", "birth_year": 1972, "phone": "0915 222 333",
          "address": "Số 7 ngõ Hoa Ban, tổ 12"}


def test_the_form_and_the_walls(client: httpx.Client, settings: Settings,
                                demo: dict[str, Any]) -> None:
    ward, yen_bai = demo["ward"], demo["yen_bai"]
    # an exemplar with a phone and an address, accepted into the year's list
    reviewer = token(client, "bxdd.yenbai")
    units = data(gql(client, reviewer, UNITS, {"id": yen_bai}))["tenant"]["units"]
    unit = next(u["id"] for u in units if not u["reportsToVerticalLine"])
    models = f"{API}/tenants/{yen_bai}/models"
    model = ok(client.post(models, headers=reviewer, json={
        "unit_id": unit, "year": YEAR, "name": "Người mẹ dân vận khéo", **FORM,
        "kind": "individual", "person": PERSON}), 201)["id"]
    for action in ("submit", "accept"):
        ok(client.post(f"{models}/{model}/{action}", headers=reviewer, json={}))
    catch_up(settings)
    listed_doc, _ = make_report(client, settings, ward, f"/tenants/{yen_bai}",
                                kind="registration_list", format="docx")
    names = [row[1] for row in docx_tables(listed_doc.content)[1]]
    assert "Người mẹ dân vận khéo" in names
    download, result = make_report(
        client, settings, ward, f"/tenants/{yen_bai}", kind="review", format="docx",
        period="year", number="125-BC/ĐU", signer="Nguyễn Văn Bí")
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Bao cao tong ket')
    name = unquote(disposition.split("filename*=UTF-8''", 1)[1])
    assert name == "Báo cáo tổng kết năm 2026 - Phường Yên Bái.docx"
    document = Document(io.BytesIO(download.content))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert round(section.left_margin.mm) == 30
    head = document.tables[0].rows[0].cells
    assert [p.text for p in head[0].paragraphs] == [
        "ĐẢNG BỘ TỈNH LÀO CAI", "ĐẢNG ỦY PHƯỜNG YÊN BÁI", "*", "Số 125-BC/ĐU"]
    assert head[0].paragraphs[1].runs[0].bold
    motto, _, when = head[1].paragraphs
    assert motto.text == "ĐẢNG CỘNG SẢN VIỆT NAM" and motto.runs[0].bold \
        and motto.runs[0].underline
    today = datetime.now(UTC).astimezone(VIETNAM).date()
    month = f"{today.month:02d}" if today.month <= 2 else str(today.month)
    assert when.text == f"Yên Bái, ngày {today.day:02d} tháng {month} năm {today.year}"
    assert when.runs[0].italic
    lines = [p for p in document.paragraphs if p.text]
    assert [lines[0].text, lines[1].text] == [
        "BÁO CÁO", 'Tổng kết năm 2026 phong trào thi đua "Dân vận khéo"']
    assert all(run.font.name == "Times New Roman" and run.font.size.pt in (13, 14)
               for p in lines for run in p.runs)
    sign = document.tables[-1].rows[0].cells
    assert sign[0].paragraphs[0].text == "Nơi nhận:"
    assert [p.text for p in sign[1].paragraphs if p.text] == [
        "T/M BAN THƯỜNG VỤ", "BÍ THƯ", "Nguyễn Văn Bí"]
    everything = "\n".join([*(p.text for p in document.paragraphs),
                            *(c.text for t in document.tables for r in t.rows for c in r.cells)])
    listed_text = "\n".join([*docx_text(listed_doc.content), *(
        c for t in docx_tables(listed_doc.content) for r in t for c in r)])
    for personal in (PERSON["phone"], PERSON["address"], "0915"):
        assert personal not in everything and personal not in listed_text

    # listed on the tenant; a reader of another tenant is told there is no such report
    listed = ok(client.get(f"{API}/tenants/{yen_bai}/reports", headers=ward))["reports"]
    assert listed[0]["id"] == result["report_id"] and len(listed) == 2
    assert listed[0]["position"] > 0 and listed[0]["kind"] == "review"
    other = next(t for n, t in demo["tenants"].items() if n != "Phường Yên Bái")
    foreign = ok(client.post(f"{API}/tenants/{other}/users", headers=demo["province"], json={
        "username": "quantri.khac", "password": DEMO_PASSWORD, "full_name": "Quản trị khác",
        "roles": ["tenant_admin"]}), 201)
    assert foreign["id"]
    stranger = token(client, "quantri.khac")
    refused = client.get(result["url"], headers=stranger)
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert client.get(f"{API}/tenants/{yen_bai}/reports", headers=stranger).status_code == 403
    assert client.get(result["url"], headers=demo["province"]).status_code == 200
    assert client.get(result["url"]).status_code == 401
    unit_user = token(client, "bithu.to1.yenbai")
    assert client.get(result["url"], headers=unit_user).status_code == 404
    assert client.post(f"{API}/tenants/{yen_bai}/reports", headers=unit_user, json={
        "kind": "quota", "year": YEAR, "format": "docx"}).status_code == 403
    # asked again with the same Idempotency-Key: the same job, made once
    keyed = {**ward, "Idempotency-Key": "bao-cao-quy-4"}
    first = client.post(f"{API}/tenants/{yen_bai}/reports", headers=keyed,
                        json={"kind": "quota", "year": YEAR, "format": "xlsx"})
    again = client.post(f"{API}/tenants/{yen_bai}/reports", headers=keyed,
                        json={"kind": "quota", "year": YEAR, "format": "xlsx"})
    assert first.status_code == again.status_code == 202
    assert first.json()["job_id"] == again.json()["job_id"]
    assert again.headers["location"] == f"/api/v1/jobs/{first.json()['job_id']}"
    bad = client.post(f"{API}/tenants/{yen_bai}/reports", headers=ward,
                      json={"kind": "gossip", "year": YEAR, "format": "docx"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"
    assert len(job_store(settings).dead()) == 0


def test_the_pdf_first_page_is_a_non_blank_a4_page_with_text(
        client: httpx.Client, settings: Settings, demo: dict[str, Any], tmp_path: Path) -> None:
    download, _ = make_report(client, settings, demo["province"], "/provinces/15",
                              kind="quota", format="pdf")
    assert download.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(download.content)
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "30", "-gray", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)
    page = next(tmp_path.glob("page*.pgm")).read_bytes()
    width, height, pixels = _pgm(page)
    assert abs(width / height - 210 / 297) < 0.01  # A4, portrait
    dark = sum(1 for p in pixels if p < 128)
    assert 0.005 < dark / len(pixels) < 0.5  # text, not a blank (or black) page
    text = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], check=True,
                          capture_output=True, timeout=60).stdout.decode()
    assert "BÁO CÁO" in text and "TỈNH ỦY LÀO CAI" in text


def _pgm(content: bytes) -> tuple[int, int, bytes]:
    header = content.split(maxsplit=4)
    assert header[0] == b"P5"
    width, height = int(header[1]), int(header[2])
    return width, height, content[-width * height:]


def test_pdf_without_libreoffice_is_a_clear_422(client: httpx.Client, settings: Settings,
                                                demo: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    refused = client.post(f"{API}/tenants/{demo['yen_bai']}/reports", headers=demo["ward"],
                          json={"kind": "quota", "year": YEAR, "format": "pdf"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "format"
    assert "LibreOffice" in refused.json()["errors"][0]["message"]
    made, _ = make_report(client, settings, demo["ward"], f"/tenants/{demo['yen_bai']}",
                          kind="quota", format="docx")
    assert made.content[:2] == b"PK"
