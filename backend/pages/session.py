"""The pages' session: who signed in, kept in an encrypted, HttpOnly, Secure, SameSite=Lax
cookie (Litestar's client-side session backend, AES-GCM under a key derived from the app's
secret), and the middleware that turns it into the same ``Principal`` a bearer token gives.

    session = {"uid": ..., "username": ..., "name": ..., "grants": [...], "gen": 3}

The credentials generation is checked on every request, as for tokens: after a password
change, a reset, a deactivation or a role change, an older session counts as signed out.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import quote

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from danvan.backend.auth.credentials import Generations, GenerationsUnavailable
from danvan.backend.auth.tokens import Principal
from danvan.domain.policies import RoleGrant
from danvan.domain.users import User

COOKIE = "danvan_phien"
LIFETIME_SECONDS = 8 * 3600
"""A working day: the session ends then even if the cookie is kept."""


class NotSignedIn(HTTPException):
    """A page that needs a session, asked without one: answered 303 to ``/?next=…``."""

    status_code = 303


def session_config(secret: str) -> CookieBackendConfig:
    key = hashlib.sha256(b"danvan pages session\x00" + secret.encode()).digest()
    return CookieBackendConfig(secret=key, key=COOKIE, max_age=LIFETIME_SECONDS, secure=True,
                               httponly=True, samesite="lax", path="/")


def session_of(user: User, full_name: str | None = None, *, now: float | None = None
               ) -> dict[str, Any]:
    return {"uid": str(user.id), "username": user.username, "name": full_name or "",
            "grants": [g.as_dict() for g in user.grants],
            "gen": user.credentials_generation,
            "exp": int((now or time.time()) + LIFETIME_SECONDS)}


def principal_from(session: dict[str, Any] | None, *, now: float | None = None
                   ) -> Principal | None:
    """The session's user; None when there is none or it expired (the cookie's own expiry
    is the browser's to keep: a copied cookie still ends here)."""
    if not session or "uid" not in session:
        return None
    try:
        if int(session["exp"]) < (now or time.time()):
            return None
        return Principal(user_id=str(session["uid"]), username=str(session["username"]),
                         grants=tuple(RoleGrant.from_dict(g) for g in session["grants"]),
                         generation=int(session["gen"]))
    except (KeyError, TypeError, ValueError):
        return None


class SessionUser(ASGIMiddleware):
    """Puts the session's ``Principal`` on ``scope["user"]`` (the guards of the API read it
    there); a revoked session is emptied. Runs after the session middleware."""

    def __init__(self, generations: Generations | None) -> None:
        self.generations = generations

    async def handle(self, scope: Scope, receive: Receive, send: Send,
                     next_app: ASGIApp) -> None:
        session = scope.get("session")
        principal = principal_from(session)  # type: ignore[arg-type]
        if principal is None and isinstance(session, dict) and "uid" in session:
            scope["session"] = {}  # expired: forget it
        if principal is not None and self.generations is not None:
            try:
                current = await self.generations.current(principal.user_id)
            except GenerationsUnavailable:
                current = principal.generation + 1  # cannot tell: treat as signed out
            if principal.generation < current:
                scope["session"] = {}
                principal = None
        if principal is not None:
            scope["user"] = principal
        await next_app(scope, receive, send)


def sign_in_location(path: str, query: str = "") -> str:
    target = path + (f"?{query}" if query else "")
    return "/?next=" + quote(target, safe="/")


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
                    ) -> None:
    """The guard of every page but ``/`` and ``/cong-khai``."""
    if not isinstance(connection.scope.get("user"), Principal):
        query = connection.scope.get("query_string", b"").decode("latin-1")
        raise NotSignedIn(headers={"Location": sign_in_location(connection.url.path, query)})


def safe_next(value: str | None) -> str | None:
    """A ``next`` that stays on this site (a path, never ``//host`` or a scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value
