"""``/thanh-tra/{tenant_id}``: the inspector reads the tenant's trail with filters, a model's
history and its state at a moment, and checks the hash chain; nobody else's tenant."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from danvan.backend.pages.labels import VIETNAM
from danvan.infra.settings import Settings
from tests.e2e.conftest import PASSWORD, MadeUser
from tests.e2e.graphql_support import catch_up
from tests.e2e.pages_browsing import Visitor
from tests.e2e.world import GIA_PHU, YEN_BAI, World, ok


@pytest.fixture
def world(client: httpx.Client, make_user: Callable[..., MadeUser], settings: Settings
          ) -> World:
    world = World.build(client, make_user)
    catch_up(settings)
    return world


def test_the_inspector_filters_the_trail_and_reads_a_models_history(
        visitor: Visitor, world: World, settings: Settings) -> None:
    model = world.register(name="Dân vận khéo làm đường")["id"]
    ok(world.act(model, "submit", "unit_user"))
    time.sleep(1.05)  # the moment below is shown to the second: after the submission
    between = datetime.now(UTC)
    ok(world.act(model, "return", "reviewer", {"reason": "Bổ sung kinh phí"}))
    catch_up(settings)
    desk = f"/thanh-tra/{world.tenants[YEN_BAI].id}"
    assert visitor.sign_in(f"inspector.{YEN_BAI}", PASSWORD).headers["location"] == desk
    page = visitor.get(desk)
    assert page.status_code == 200, page.text
    assert "Model.Registered" in page.text and "Model.Returned" in page.text
    assert "Bổ sung kinh phí" in page.text
    only_model = visitor.get(desk, params={"doi-tuong": model}).text
    assert "Nhật ký (3 sự kiện)" in only_model and "Unit.Added" not in only_model
    returned = visitor.get(desk, params={"loai": "Model.Returned"}).text
    assert "Nhật ký (1 sự kiện)" in returned
    tomorrow = (datetime.now(VIETNAM) + timedelta(days=1)).date().isoformat()
    assert "Nhật ký (0 sự kiện)" in visitor.get(desk, params={"tu": tomorrow}).text
    moment = between.astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M:%S")
    history = visitor.get(desk, params={"mo-hinh": model, "luc": moment}).text
    assert "Lịch sử mô hình “Dân vận khéo làm đường”" in history
    assert "Trạng thái hiện tại: <span class=\"nhan\">Trả lại</span>" in history
    assert "<strong>Đã gửi</strong> (phiên bản 2)" in history  # its state at that moment
    assert visitor.get(desk, params={"tu": "hôm qua"}).status_code == 422


def test_the_inspector_checks_the_chain(visitor: Visitor, world: World,
                                        settings: Settings) -> None:
    catch_up(settings)
    desk = f"/thanh-tra/{world.tenants[YEN_BAI].id}"
    visitor.sign_in(f"inspector.{YEN_BAI}", PASSWORD)
    visitor.get(desk)
    checked = visitor.post(f"{desk}/kiem-tra", {})
    assert checked.status_code == 200, checked.text
    assert "Chuỗi nhật ký toàn vẹn." in checked.text
    assert visitor.post(f"{desk}/kiem-tra", {}, csrf=False).status_code == 403


def test_only_those_who_read_the_trail_open_the_desk(visitor: Visitor, world: World) -> None:
    visitor.sign_in(f"inspector.{YEN_BAI}", PASSWORD)
    assert visitor.get(f"/thanh-tra/{world.tenants[GIA_PHU].id}").status_code == 403
    visitor.post("/dang-xuat", {})
    visitor.sign_in(f"admin.{YEN_BAI}", PASSWORD)
    assert visitor.get(f"/thanh-tra/{world.tenants[YEN_BAI].id}").status_code == 403
    visitor.post("/dang-xuat", {})
    visitor.sign_in("admin.laocai", PASSWORD)
    answer = visitor.get(f"/thanh-tra/{world.tenants[YEN_BAI].id}")
    assert answer.status_code == 200, answer.text[-3000:]
