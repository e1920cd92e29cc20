"""Every page's query parameters and path, and every form's fields, with the hostile corpus of
``tests/reliability/hostile.py`` (raw bytes percent-encoded as they come): never a 5xx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote_from_bytes

import httpx
import pytest

from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser
from tests.e2e.graphql_support import catch_up
from tests.e2e.pages_browsing import Visitor
from tests.e2e.world import World
from tests.reliability.hostile import CORPUS

QUERIES = {
    "/cong-khai": ("province", "year", "field", "tenant", "page"),
    "/tinh/15": ("nam", "thoi-diem", "sap-xep", "chieu"),
    "/don-vi/{tenant}": ("nam", "cong-viec"),
    "/thanh-tra/{tenant}": ("nguoi", "doi-tuong", "loai", "tu", "den", "sau", "mo-hinh", "luc"),
}


@pytest.fixture
def visitor(api: str, client: httpx.Client, make_user: Callable[..., MadeUser],
            settings: Settings) -> Iterator[Visitor]:
    World.build(client, make_user)
    catch_up(settings)
    browser = Visitor(api)
    browser.sign_in("admin.laocai", PASSWORD)
    yield browser
    browser.close()


def values() -> list[str]:
    found = []
    for hostile in CORPUS:
        raw = hostile.fragment[1:-1] if hostile.is_text else hostile.fragment
        found.append(quote_from_bytes(raw[:20_000], safe=""))
    return found


def test_no_query_parameter_or_path_makes_a_page_fail(visitor: Visitor) -> None:
    statuses: dict[int, int] = {}
    found_tenant = visitor.get("/tinh/15?nam=2026").text
    tenant_id = found_tenant.split('id="xa-', 1)[1].split('"', 1)[0]
    for path, names in QUERIES.items():
        path = path.format(tenant=tenant_id)
        for name in names:
            for value in values():
                answer = visitor.http.get(f"{path}?{name}={value}",
                                          headers=visitor._headers())
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                assert answer.status_code < 500, (path, name, value[:80], answer.text[-500:])
    for value in values():
        for path in ("/tinh/{v}", "/don-vi/{v}", "/thanh-tra/{v}", "/mau-nhap/{v}",
                     "/bao-cao/{v}", f"/don-vi/{tenant_id}/cong-viec/{{v}}"):
            answer = visitor.http.get(path.format(v=value[:2000]), headers=visitor._headers())
            assert answer.status_code < 500, (path, value[:80])
    assert statuses.get(200) and statuses.get(422)


def test_no_form_field_makes_a_form_fail(visitor: Visitor) -> None:
    found = visitor.get("/tinh/15?nam=2026").text
    tenant_id = found.split('id="xa-', 1)[1].split('"', 1)[0]
    home = f"/don-vi/{tenant_id}"
    visitor.get(home)
    forms = {f"{home}/don-vi": {"name": "Chi bộ", "kind": "party_cell"},
             f"{home}/nguoi-dung": {"username": "a.b.c", "full_name": "A", "password": PASSWORD,
                                    "roles[]": "reviewer"},
             f"{home}/nguoi-dung/dat-lai-mat-khau": {"username": "reviewer.02923",
                                                     "new_password": PASSWORD},
             f"{home}/nguoi-dung/vo-hieu-hoa": {"username": "approver.02923",
                                                "reason": "Chuyển công tác"},
             f"{home}/bao-cao": {"kind": "quota", "year": "2026", "period": "year",
                                 "format": "xlsx"},
             f"{home}/nhap": {"kind": "units", "file": "name,kind\r\nChi bộ,party_cell\r\n"},
             "/": {"username": "x", "password": "y"}}
    for path, good in forms.items():
        for field in good:
            for hostile in CORPUS[:40]:
                raw = hostile.fragment[1:-1] if hostile.is_text else hostile.fragment
                body = {**good, field: raw[:5000].decode("utf-8", "replace")}
                answer = visitor.post(path, body)
                assert answer.status_code < 500, (path, field, hostile.label, answer.text[-400:])
