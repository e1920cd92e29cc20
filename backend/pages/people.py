"""The tenant's people from its page: an admin resets a user's password or deactivates the
account, through the same services and guards as ``POST /api/v1/tenants/{tenant_id}/users/
{user_id}/password-reset`` and ``…/deactivation``.

The forms name the user by username, typed in or (the forms of each row of the page's list
of accounts, ``hang=1``) sent hidden: its id is the one signing in derives from it
(``User.id_for``), and the user is loaded in the page's tenant as the API's path loads it: a
user of another tenant is not found. A refusal is shown next to the field it names, or, for a
row's form, in that row (its form is ``<form>:<username>``).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.response import Redirect

from danvan.backend.auth.guards import allow
from danvan.backend.auth.passwords import hash_password
from danvan.backend.controllers.deps import store_of
from danvan.backend.dto import Body, PasswordReset, Reason, Username, deactivating
from danvan.backend.http.context import build_context
from danvan.backend.pages.forms import as_body, form_fields, submit
from danvan.backend.pages.session import signed_in
from danvan.backend.pages.views import HttpRequest, home
from danvan.backend.services import people
from danvan.backend.services.errors import NotFound
from danvan.backend.services.repository import load
from danvan.domain.base import InvalidInput
from danvan.domain.policies import Action
from danvan.domain.users import User

RESET_FORM = "dat-lai-mat-khau"
DEACTIVATE_FORM = "vo-hieu-hoa"


class NamedUser(Body):
    """The user a page's form names."""

    username: Username


def username_of(fields: dict[str, Any]) -> str:
    """As signing in reads it: trimmed, lower case."""
    return as_body({"username": str(fields.get("username") or "").strip().lower()},
                   NamedUser).username


def tenant_user(request: HttpRequest, tenant_id: str, username: str) -> User:
    try:
        return load(store_of(request), User, User.id_for(username), tenant_id)
    except NotFound as unknown:
        raise InvalidInput({"username": "no such user in this tenant"}) from unknown


def form_of(form: str, fields: dict[str, Any], shown: str) -> str:
    """The form a refusal is shown at: the by-username form, or the row of ``shown``."""
    return f"{form}:{shown}" if fields.get("hang") == "1" else form


def expected(fields: dict[str, Any]) -> int | None:
    version = str(fields.get("version") or "")
    return int(version) if version.isdigit() and len(version) < 10 else None


class TenantPeople(Controller):
    path = "/don-vi/{tenant_id:str}/nguoi-dung"
    include_in_schema = False

    @post("/dat-lai-mat-khau", guards=[signed_in, allow(Action.USER_PASSWORD_RESET)])
    async def reset_password(self, request: HttpRequest) -> Redirect:
        tenant_id = str(request.path_params["tenant_id"])
        fields = await form_fields(request)
        ctx = build_context(request)
        shown = str(fields.get("username") or "").strip().lower()[:64]

        def reset() -> object:
            username = username_of(fields)
            body = as_body({"new_password": fields.get("new_password", "")}, PasswordReset)
            user = tenant_user(request, tenant_id, username)
            return people.reset_password(store_of(request), ctx, user, body.new_password,
                                         hash_password, expected(fields))

        return await submit(request, home(tenant_id) + "#tai-khoan", "user.reset_password",
                            f"Đã đặt lại mật khẩu của “{shown}”.", reset,
                            form=form_of(RESET_FORM, fields, shown),
                            values={"username": fields.get("username")})

    @post("/vo-hieu-hoa", guards=[signed_in, allow(Action.USER_DEACTIVATE)])
    async def deactivate(self, request: HttpRequest) -> Redirect:
        tenant_id = str(request.path_params["tenant_id"])
        fields = await form_fields(request)
        ctx = build_context(request)
        shown = str(fields.get("username") or "").strip().lower()[:64]

        def deactivate() -> object:
            username = username_of(fields)
            reason = as_body({"reason": fields.get("reason", "")}, Reason)
            user = tenant_user(request, tenant_id, username)
            return people.deactivate_user(store_of(request), ctx, user, deactivating(reason),
                                          expected(fields))

        return await submit(request, home(tenant_id) + "#tai-khoan", "user.deactivate",
                            f"Đã khóa tài khoản “{shown}”.", deactivate,
                            form=form_of(DEACTIVATE_FORM, fields, shown),
                            values={k: fields.get(k) for k in ("username", "reason")})
