"""The pages people use, served by the same app (API.md "Pages"): sign-in at ``/``, the
province dashboard ``/tinh/{code}``, the tenant admin's home ``/don-vi/{tenant_id}``, the
inspector's desk ``/thanh-tra/{tenant_id}`` and the public registry ``/cong-khai``.

Server-rendered Jinja templates (``templates/``) in Vietnamese; htmx and Chart.js vendored in
``static/`` (``static/VENDORED.md``). Pages read through the read API in process
(``views.read``: the GraphQL schema's resolvers, with the signed-in user's access) and write
through the same services as the REST commands. The session is an encrypted cookie
(``session.py``); every form carries a CSRF token (Litestar's ``CSRFMiddleware``). The
bearer-token middleware leaves these routes alone (``EXCLUDE_FROM_AUTH``); the API is
unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from danvan.backend.auth.credentials import Generations
from danvan.backend.auth.middleware import EXCLUDE_FROM_AUTH
from danvan.backend.pages.imports import ImportTemplates, TenantImport
from danvan.backend.pages.inspector import InspectorDesk
from danvan.backend.pages.jobs import TenantJob
from danvan.backend.pages.people import TenantPeople
from danvan.backend.pages.province import ProvinceDashboard
from danvan.backend.pages.public import PublicRegistryPage
from danvan.backend.pages.reports import ReportDownloads, TenantReport
from danvan.backend.pages.session import NotSignedIn, SessionUser, session_config
from danvan.backend.pages.sign_in import SignInController
from danvan.backend.pages.tenant import TenantHome
from danvan.backend.pages.views import STATIC, STATIC_PATH, error_page, template_config
from danvan.infra.settings import Settings

__all__ = ["routes", "template_config"]

CSRF_COOKIE = "danvan_csrf"


def csrf_config(secret: str) -> CSRFConfig:
    return CSRFConfig(secret=hashlib.sha256(b"danvan pages csrf\x00" + secret.encode())
                      .hexdigest(), cookie_name=CSRF_COOKIE, cookie_secure=True,
                      cookie_httponly=True, cookie_samesite="lax")


class Shared(DefineMiddleware):
    """Registered as is: Litestar deep-copies a router on registration, and the session
    backend's AES-GCM cipher cannot be copied (nor needs to be)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Shared:
        return self


def page_controllers() -> list[ControllerRouterHandler]:
    return [SignInController, PublicRegistryPage, ProvinceDashboard, TenantHome, TenantPeople,
            TenantImport, TenantJob, TenantReport, ImportTemplates, ReportDownloads,
            InspectorDesk]


def session_middleware(settings: Settings, generations: Generations | None = None
                       ) -> list[Any]:
    """The session cookie read into ``scope["user"]``: for the pages, and for the live
    subscriptions' socket (``graphql/ws.py``) the dashboard opens."""
    return [_shared(session_config(settings.secret_key).middleware), SessionUser(generations)]


def routes(settings: Settings, *, generations: Generations | None = None
           ) -> list[ControllerRouterHandler]:
    """The pages' router (session, signed-in user, CSRF) and their static files."""
    public: dict[str, Any] = {EXCLUDE_FROM_AUTH: True}
    pages = Router(
        path="/", route_handlers=page_controllers(), opt=public, include_in_schema=False,
        middleware=[*session_middleware(settings, generations),
                    DefineMiddleware(CSRFMiddleware, config=csrf_config(settings.secret_key))],
        exception_handlers={Exception: error_page, NotSignedIn: error_page})
    static = create_static_files_router(path=STATIC_PATH, directories=[STATIC], opt=public,
                                        include_in_schema=False, cache_control=None)
    return [pages, static]


def _shared(defined: DefineMiddleware) -> Shared:
    return Shared(defined.middleware, *defined.args, **defined.kwargs)
