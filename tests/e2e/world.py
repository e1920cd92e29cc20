"""A small province set up through the command API itself: what the e2e tests act in.

``World.build(client, make_user)`` logs in a province admin of Lào Cai (15), onboards phường
Yên Bái (04252) and xã Gia Phú (02923), adds units, and creates one user per tenant role in
each, all over HTTP. ``world.as_(role, tenant)`` gives that user's headers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from danvan.backend.auth.passwords import hash_password
from danvan.backend.services import people
from danvan.domain.base import Actor, Context
from danvan.domain.policies import Role, RoleGrant, SpecialRole, province_scope
from danvan.infra.event_store import EventStore
from tests.e2e.conftest import PASSWORD, MadeUser, login
from tests.unit.builders import FORM

API = "/api/v1"
YEN_BAI, GIA_PHU = "04252", "02923"
TENANT_ROLES = ("tenant_admin", "reviewer", "approver", "unit_user", "inspector")


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


@dataclass
class Tenant:
    id: str
    code: str
    units: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class World:
    client: httpx.Client
    province: dict[str, str]
    analyst: dict[str, str]
    tenants: dict[str, Tenant]
    make_user: Callable[..., MadeUser] | None = None
    national: dict[str, str] | None = None
    """A national analyst's headers, made the first time ``as_`` is asked for them."""

    @classmethod
    def build(cls, client: httpx.Client, make_user: Callable[..., MadeUser],
              *, year: int = 2026) -> World:
        province = login(client, make_user("admin.laocai", role="province_admin"))
        ok(client.post(f"{API}/provinces/15/users", headers=province, json={
            "username": "analyst.laocai", "password": PASSWORD, "full_name": "Hoàng Văn Phân",
            "roles": ["province_analyst"]}), 201)
        analyst = login(client, MadeUser(None, "analyst.laocai", PASSWORD))  # type: ignore
        tenants = {}
        for code in (YEN_BAI, GIA_PHU):
            created = ok(client.post(f"{API}/tenants", headers=province, json={"code": code}),
                         201)
            tenant = Tenant(created["id"], code)
            tenants[code] = tenant
            admin_name = f"admin.{code}"
            ok(client.post(f"{API}/tenants/{tenant.id}/users", headers=province, json={
                "username": admin_name, "password": PASSWORD, "full_name": "Quản trị",
                "roles": ["tenant_admin"]}), 201)
            admin = login(client, MadeUser(None, admin_name, PASSWORD))  # type: ignore
            tenant.headers["tenant_admin"] = admin
            for name, kind, vertical in (("Chi bộ Tổ dân phố 5", "party_cell", False),
                                         ("Chi bộ Công an", "police", True),
                                         ("Hội Phụ nữ", "mass_org", False)):
                unit = ok(client.post(f"{API}/tenants/{tenant.id}/units", headers=admin, json={
                    "name": name, "kind": kind, "reports_to_vertical_line": vertical}), 201)
                tenant.units[name] = unit["id"]
            for role in TENANT_ROLES[1:]:
                username = f"{role.replace('_', '.')}.{code}"
                body: dict[str, Any] = {"username": username, "password": PASSWORD,
                                        "full_name": "Cán bộ", "roles": [role]}
                if role == "unit_user":
                    body["unit_id"] = tenant.units["Chi bộ Tổ dân phố 5"]
                creator = province if role == "inspector" else admin
                ok(client.post(f"{API}/tenants/{tenant.id}/users", headers=creator, json=body),
                   201)
                tenant.headers[role] = login(client, MadeUser(None, username, PASSWORD))  # type: ignore
        return cls(client, province, analyst, tenants, make_user)

    def add_one_time_approver(self) -> None:
        """Nguyễn Thị Hồng Nhung (``nhung.yenbai``), an approver of Yên Bái made by its admin
        with a one-time password."""
        ok(self.client.post(f"{API}/tenants/{self.tenants[YEN_BAI].id}/users",
                            headers=self.as_("tenant_admin"), json={
                                "username": "nhung.yenbai", "password": PASSWORD,
                                "full_name": "Nguyễn Thị Hồng Nhung", "roles": ["approver"],
                                "must_change_password": True}), 201)

    def add_province_inspector(self, store: EventStore, code: str = YEN_BAI,
                               username: str = "thanhtra.yenbai") -> str:
        """An inspector of ``code`` whose account the system created in the province's own
        scope (``province:15``), as the demo did before it made its inspector in the ward (the
        API makes one in its tenant): its one grant is in the tenant, its account is not the
        tenant's. Its id."""
        ctx = Context(tenant_id=province_scope("15"),
                      actor=Actor(user_id="system", role=SpecialRole.SYSTEM),
                      at=datetime.now(UTC), correlation_id=uuid.uuid4().hex)
        grant = RoleGrant(Role.INSPECTOR, "15", self.tenants[code].id)
        made = people.create_user(store, ctx, people.NewUser(
            username, PASSWORD, "Thanh tra viên", [Role.INSPECTOR]), [grant], hash_password)
        return made.id

    def as_(self, role: str, code: str = YEN_BAI) -> dict[str, str]:
        if role == "province_admin":
            return self.province
        if role == "national_analyst":
            if self.national is None:
                assert self.make_user is not None, "a world built with make_user"
                self.national = login(self.client, self.make_user(
                    "analyst.national", role="national_analyst"))
            return self.national
        if role == "province_analyst":
            return self.analyst
        return self.tenants[code].headers[role]

    def models_path(self, code: str = YEN_BAI) -> str:
        return f"{API}/tenants/{self.tenants[code].id}/models"

    def register(self, code: str = YEN_BAI, *, name: str = "Dân vận khéo xây dựng đường",
                 unit: str = "Chi bộ Tổ dân phố 5", role: str = "unit_user",
                 **overrides: Any) -> dict[str, Any]:
        body = {"unit_id": self.tenants[code].units[unit], "year": 2026, "name": name, **FORM,
                **overrides}
        return ok(self.client.post(self.models_path(code), headers=self.as_(role, code),
                                   json=body), 201)

    def act(self, model_id: str, action: str, role: str, body: dict[str, Any] | None = None,
            code: str = YEN_BAI, **headers: str) -> httpx.Response:
        return self.client.post(f"{self.models_path(code)}/{model_id}/{action}",
                                headers={**self.as_(role, code), **headers}, json=body or {})
