"""Signing in to the pages at ``/`` with the API's accounts: a session cookie that is Secure,
HttpOnly and SameSite=Lax, CSRF on every form, signing out, and the way back to the page
asked for."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from danvan.backend.pages.session import LIFETIME_SECONDS, principal_from, session_of
from danvan.domain.commands import RegisterUser
from danvan.domain.policies import RoleGrant
from danvan.domain.users import User
from tests.e2e.conftest import PASSWORD, MadeUser, system_context
from tests.e2e.pages_browsing import Visitor
from tests.e2e.world import YEN_BAI, World, ok


def session_cookie(visitor: Visitor) -> str:
    return next(h for h in visitor.set_cookie_headers if h.startswith("danvan_phien="))


def test_the_sign_in_page_has_a_labelled_form_with_a_csrf_token(visitor: Visitor) -> None:
    page = visitor.get("/")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert '<label for="username">Tên đăng nhập</label>' in page.text
    assert '<label for="password">Mật khẩu</label>' in page.text
    assert visitor.csrf and visitor.cookies["danvan_csrf"]


def test_a_form_without_its_csrf_token_is_refused(visitor: Visitor,
                                                  make_user: Callable[..., MadeUser]) -> None:
    admin = make_user("admin.laocai")
    visitor.get("/")
    refused = visitor.post("/", {"username": admin.username, "password": admin.password},
                           csrf=False)
    assert refused.status_code == 403
    assert "danvan_phien" not in visitor.cookies
    visitor.csrf = visitor.csrf[:-4] + "0000"
    assert visitor.post("/", {"username": admin.username,
                              "password": admin.password}).status_code == 403


def test_a_wrong_password_shows_the_form_again_with_the_reason(
        visitor: Visitor, make_user: Callable[..., MadeUser]) -> None:
    admin = make_user("admin.laocai")
    answer = visitor.sign_in(admin.username, "sai-mat-khau-roi")
    assert answer.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in answer.text
    assert "danvan_phien" not in visitor.cookies


def test_signing_in_sets_a_secure_httponly_lax_session_and_goes_home(
        visitor: Visitor, make_user: Callable[..., MadeUser]) -> None:
    admin = make_user("admin.laocai")
    answer = visitor.sign_in(admin.username, admin.password)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/tinh/15"
    cookie = session_cookie(visitor).lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert admin.username not in session_cookie(visitor)  # encrypted, not just signed
    assert visitor.get("/").headers["location"] == "/tinh/15"  # signed in: / goes home


def test_signing_in_returns_to_the_page_asked_for_but_never_off_site(
        visitor: Visitor, make_user: Callable[..., MadeUser]) -> None:
    admin = make_user("admin.laocai")
    answer = visitor.sign_in(admin.username, admin.password, next_="/tinh/15?nam=2026")
    assert answer.headers["location"] == "/tinh/15?nam=2026"
    visitor.post("/dang-xuat", {})
    answer = visitor.sign_in(admin.username, admin.password, next_="//evil.example/x")
    assert answer.headers["location"] == "/tinh/15"


def test_signing_out_ends_the_session(visitor: Visitor,
                                      make_user: Callable[..., MadeUser]) -> None:
    admin = make_user("admin.laocai")
    visitor.sign_in(admin.username, admin.password)
    out = visitor.post("/dang-xuat", {})
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert "danvan_phien" not in visitor.cookies
    assert visitor.get("/").status_code == 200


def test_a_role_change_ends_the_users_sessions(visitor: Visitor,
                                               make_user: Callable[..., MadeUser],
                                               client: httpx.Client) -> None:
    world = World.build(client, make_user)
    tenant = world.tenants[YEN_BAI].id
    home = f"/don-vi/{tenant}"
    visitor.sign_in(f"reviewer.{YEN_BAI}", PASSWORD)
    reviewer = User.id_for(f"reviewer.{YEN_BAI}")
    ok(client.put(f"/api/v1/tenants/{tenant}/users/{reviewer}/roles",
                  headers=world.as_("tenant_admin"), json={"roles": ["approver"]}))
    answer = visitor.get(home)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/?next=")
    assert "danvan_phien" not in visitor.cookies  # the revoked session is emptied


def test_an_expired_session_is_no_session() -> None:
    user = User.register(system_context("t"), RegisterUser(
        "a.b", "hash", "A B", (RoleGrant(role="reviewer", province_code="15", tenant_id="t"),)))
    session = session_of(user, "A B", now=1_000_000)
    assert principal_from(session, now=1_000_000 + 60) is not None
    assert principal_from(session, now=1_000_000 + LIFETIME_SECONDS + 1) is None
    assert principal_from({**session, "exp": "later"}, now=1_000_000) is None
