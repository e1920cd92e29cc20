"""Access tokens: short-lived HS256 JWTs and the typed ``Principal`` they describe.

A token's ``gen`` claim is the user's credentials generation when it was issued
(``domain.users``); the authentication middleware refuses it once the user's current
generation is higher (``backend/auth/credentials.py``). A token without the claim counts as
generation 0. Its ``mcp`` claim says the user signed in with a one-time password: such a token
serves only the password change (the middleware refuses it elsewhere); the change moves the
generation, so the token cannot outlive the one-time password.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from danvan.domain.policies import RoleGrant, grants_allowing

ALGORITHM = "HS256"
ISSUER = "danvan"
LEEWAY_SECONDS = 5


class TokenError(Exception):
    """The token is missing, malformed, badly signed or expired (``expired`` tells which)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class Principal:
    """Who is calling: set on ``request.user`` by the authentication middleware."""

    user_id: str
    username: str
    grants: tuple[RoleGrant, ...]
    token_id: str = ""
    generation: int = 0
    """The user's credentials generation when the token was issued."""
    must_change_password: bool = False
    """Issued for a one-time password: good for nothing but changing it."""

    def grants_for(self, action: str, *, tenant_id: str | None = None,
                   province_code: str | None = None) -> list[RoleGrant]:
        """The caller's grants allowing ``action`` there (``domain.users.grants_allowing``)."""
        return grants_allowing(self.grants, action, tenant_id=tenant_id,
                               province_code=province_code)

    def holds(self, role: str) -> bool:
        return any(g.role == role for g in self.grants)


def issue_token(*, user_id: str, username: str, grants: list[RoleGrant], secret: str,
                lifetime_seconds: int, generation: int = 0, must_change_password: bool = False,
                now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": user_id,
        "username": username,
        "grants": [g.as_dict() for g in grants],
        "gen": generation,
        "mcp": must_change_password,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=lifetime_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, *, secret: str) -> Principal:
    return _read_token(token, secret=secret)[0]


def _read_token(token: str, *, secret: str) -> tuple[Principal, int]:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            leeway=LEEWAY_SECONDS,
                            options={"require": ["exp", "iat", "sub", "jti", "iss"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired", expired=True) from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from exc
    try:
        grants = tuple(RoleGrant.from_dict(g) for g in claims.get("grants", []))
        generation = claims.get("gen", 0)
        if type(generation) is not int or generation < 0:
            raise TypeError("gen")
        must_change = claims.get("mcp", False)
        if type(must_change) is not bool:
            raise TypeError("mcp")
        principal = Principal(user_id=str(claims["sub"]), username=str(claims["username"]),
                              grants=grants, token_id=str(claims["jti"]),
                              generation=generation, must_change_password=must_change)
        return principal, int(claims["exp"])
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise TokenError("invalid token claims") from exc


class TokenReader:
    """``read_token`` with a per-process cache of verified tokens.

    PyJWT spends about 250 µs per HS256 decode (most of it validating base64 characters one
    by one); a client reuses its token for every request of its lifetime, so each token is
    verified once per process and then only its expiry is checked. Bounded: the cache is
    emptied when it holds ``max_entries``.
    """

    def __init__(self, secret: str, max_entries: int = 10_000) -> None:
        self.secret = secret
        self.max_entries = max_entries
        self._verified: dict[str, tuple[Principal, int]] = {}

    def read(self, token: str) -> Principal:
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None:
            principal, expires = hit
            if now <= expires + LEEWAY_SECONDS:
                return principal
            del self._verified[token]
            raise TokenError("token expired", expired=True)
        principal, expires = _read_token(token, secret=self.secret)
        if len(self._verified) >= self.max_entries:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal
