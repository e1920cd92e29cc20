"""``/don-vi/{tenant_id}``: the tenant admin adds a unit and creates a user, a reviewer works
the review queue, through the same services and guards as the REST commands; another
tenant's page is a 403, and a form without its CSRF token changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from danvan.infra.database import connect_owner
from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser, login
from tests.e2e.graphql_support import catch_up, data, gql
from tests.e2e.pages_browsing import Visitor
from tests.e2e.world import GIA_PHU, YEN_BAI, World, ok

STATE = "query($id: ID!) { model(id: $id) { state history { type reason } } }"


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings
          ) -> World:
    world = World.build(client, make_user)
    catch_up(settings)
    return world


def submitted(world: World, name: str) -> str:
    model = world.register(name=name)["id"]
    ok(world.act(model, "submit", "unit_user"))
    return model


def state_of(world: World, model: str) -> dict:
    return data(gql(world.client, world.as_("reviewer"), STATE, {"id": model}))["model"]


def test_the_tenant_admin_adds_a_unit_and_creates_a_user(visitor: Visitor, world: World,
                                                         settings: Settings) -> None:
    tenant = world.tenants[YEN_BAI].id
    home = f"/don-vi/{tenant}"
    assert visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD).headers["location"] == home
    page = visitor.get(home)
    assert page.status_code == 200 and "Chi bộ Tổ dân phố 5" in page.text
    assert "Thêm đơn vị" in page.text and "Tiếp nhận</button>" not in page.text
    added = visitor.post(f"{home}/don-vi", {"name": "Chi bộ Tổ dân phố 9",
                                            "kind": "party_cell"})
    assert added.status_code == 303 and added.headers["location"] == home
    catch_up(settings)
    page = visitor.get(home)
    assert "Đã thêm đơn vị “Chi bộ Tổ dân phố 9”." in page.text
    assert "<th scope=\"row\">Chi bộ Tổ dân phố 9</th>" in page.text
    created = visitor.post(f"{home}/nguoi-dung", {
        "username": "bithu.to9", "full_name": "Lò Văn Chín", "password": PASSWORD,
        "roles[]": "reviewer"})
    assert created.status_code == 303
    assert "Đã tạo tài khoản “bithu.to9”." in visitor.get(home).text
    assert login(world.client, MadeUser(None, "bithu.to9", PASSWORD))  # type: ignore[arg-type]
    short = visitor.post(f"{home}/nguoi-dung", {
        "username": "ngan.qua", "full_name": "Ngắn", "password": "ngan", "roles[]": "reviewer"})
    assert short.status_code == 422 and "password" in short.text


def test_a_tenant_admin_cannot_open_another_tenants_page(visitor: Visitor,
                                                        world: World) -> None:
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    other = world.tenants[GIA_PHU].id
    refused = visitor.get(f"/don-vi/{other}")
    assert refused.status_code == 403 and "Không có quyền truy cập" in refused.text
    assert visitor.post(f"/don-vi/{other}/don-vi", {"name": "Chi bộ lạ",
                                                    "kind": "party_cell"}).status_code == 403


def test_a_form_without_its_csrf_token_changes_nothing(visitor: Visitor, world: World,
                                                       settings: Settings) -> None:
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    refused = visitor.post(f"{home}/don-vi", {"name": "Chi bộ giả mạo", "kind": "party_cell"},
                           csrf=False)
    assert refused.status_code == 403
    catch_up(settings)
    assert "Chi bộ giả mạo" not in visitor.get(home).text


def test_the_reviewer_accepts_returns_and_rejects_from_the_queue(
        visitor: Visitor, world: World, settings: Settings) -> None:
    road, well, odd = (submitted(world, n) for n in (
        "Dân vận khéo làm đường", "Giếng nước sạch", "Mô hình chưa phù hợp"))
    catch_up(settings)
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"reviewer.{YEN_BAI}", PASSWORD)
    page = visitor.get(home).text
    assert "Mô hình chờ thẩm định (3)" in page and "Giếng nước sạch" in page
    assert visitor.post(f"{home}/mo-hinh/{road}/tiep-nhan",
                        {"version": "2"}).status_code == 303
    assert visitor.post(f"{home}/mo-hinh/{well}/tra-lai",
                        {"version": "2", "reason": "Bổ sung kinh phí"}).status_code == 303
    assert visitor.post(f"{home}/mo-hinh/{odd}/tu-choi", {"version": "2",
                                                         "reason": ""}).status_code == 422
    assert visitor.post(f"{home}/mo-hinh/{odd}/tu-choi",
                        {"version": "1", "reason": "Trùng"}).status_code == 303
    assert '<p class="thong-bao loi" role="status">' in visitor.get(home).text  # stale: 412
    catch_up(settings)
    assert state_of(world, road)["state"] == "ACCEPTED"
    returned = state_of(world, well)
    assert returned["state"] == "RETURNED"
    assert returned["history"][-1]["reason"] == "Bổ sung kinh phí"
    assert state_of(world, odd)["state"] == "SUBMITTED"  # version 1 was stale: refused
    page = visitor.get(home).text
    assert "Mô hình chờ thẩm định (1)" in page


def test_a_tenant_admin_may_not_accept(visitor: Visitor, world: World,
                                       settings: Settings) -> None:
    model = submitted(world, "Dân vận khéo làm đường")
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    assert visitor.post(f"{home}/mo-hinh/{model}/tiep-nhan",
                        {"version": "2"}).status_code == 403
    catch_up(settings)
    assert state_of(world, model)["state"] == "SUBMITTED"


def test_a_read_that_fails_is_a_server_error_page_not_the_visitors_input(
        visitor: Visitor, world: World, settings: Settings) -> None:
    """A failure behind the page (here a column of the accounts' read model renamed) is the
    server's error page (500, logged), never "invalid input" blamed on the visitor."""
    home = f"/don-vi/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    assert visitor.get(home).status_code == 200
    with connect_owner(settings) as owner:
        owner.execute("ALTER VIEW danvan_read.users RENAME COLUMN full_name TO gone")
    failed = visitor.get(home)
    assert failed.status_code == 500 and "invalid_input" not in failed.text
