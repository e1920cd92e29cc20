"""``/``: the sign-in page (the same accounts and the same ``services.sign_in`` as
``POST /api/v1/auth/token``, the same attempt limits), and signing out."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect, Template

from danvan.backend.auth.controller import LoginLimits
from danvan.backend.auth.tokens import Principal
from danvan.backend.pages.session import safe_next, session_of
from danvan.backend.pages.views import HttpRequest, page, user_of
from danvan.backend.services.sign_in import SignInAttempt, authenticate
from danvan.backend.wiring import Services
from danvan.domain.limits import MAX_PASSWORD, MAX_USERNAME
from danvan.domain.policies import Role


def home_of(principal: Principal) -> str:
    """The page a user starts from: the province's dashboard, the tenant's home, the desk."""
    for grant in principal.grants:
        if grant.role in (Role.PROVINCE_ADMIN, Role.PROVINCE_ANALYST):
            return f"/tinh/{grant.province_code}"
    for grant in principal.grants:
        if grant.role == Role.INSPECTOR and grant.tenant_id:
            return f"/thanh-tra/{grant.tenant_id}"
    for grant in principal.grants:
        if grant.tenant_id:
            return f"/don-vi/{grant.tenant_id}"
    return "/cong-khai"


class SignInController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", name="sign_in_page")
    async def form(self, request: HttpRequest) -> Template | Redirect:
        user = user_of(request)
        target = safe_next(request.query_params.get("next"))
        if user is not None:
            return Redirect(path=target or home_of(user), status_code=303)
        return page(request, "sign_in.html", next=target or "")

    @post("/", status_code=200)
    async def sign_in(self, request: HttpRequest) -> Template | Redirect:
        form = await request.form()
        username = str(form.get("username") or "").strip().lower()[:MAX_USERNAME]
        password = str(form.get("password") or "")
        target = safe_next(str(form.get("next") or ""))
        if not username or not password or len(password) > MAX_PASSWORD:
            return self._again(request, target, "Nhập tên đăng nhập và mật khẩu.", 422)
        services: Services = request.app.state["services"]
        limits: LoginLimits = request.app.state["login_limits"]
        address = request.client.host if request.client else "unknown"
        for key, limit in ((f"login:user:{username}", limits.per_username),
                           (f"login:addr:{address}", limits.per_address)):
            if not (await services.limiter.hit(key, limit)).allowed:
                return self._again(request, target,
                                   "Đăng nhập sai quá nhiều lần, vui lòng thử lại sau.", 429)
        if services.store is None:
            return self._again(request, target, "Hệ thống tạm thời không sẵn sàng.", 503)
        state = request.scope.get("state") or {}
        attempt = SignInAttempt(username=username, password=password, address=address,
                                request_id=str(state.get("request_id") or ""),
                                correlation_id=str(state.get("correlation_id") or ""))
        user = await sync_to_thread(authenticate, services.store, attempt)
        if user is None:
            return self._again(request, target, "Sai tên đăng nhập hoặc mật khẩu.", 401)
        request.set_session(session_of(user, user.full_name))
        principal = Principal(user_id=str(user.id), username=user.username,
                              grants=tuple(user.grants))
        return Redirect(path=target or home_of(principal), status_code=303)

    def _again(self, request: HttpRequest, target: str | None, message: str,
               status: int) -> Template:
        return page(request, "sign_in.html", status=status, next=target or "", error=message)

    @post("/dang-xuat", status_code=303)
    async def sign_out(self, request: HttpRequest) -> Redirect:
        request.clear_session()
        return Redirect(path="/", status_code=303)


