"""``If-Match: <aggregate version>``: the client's expected version; a stale one answers 412."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request

from danvan.backend.errors import Problem

_VERSION = re.compile(r'^(?:W/)?"?(?P<version>\d{1,18})"?$')


def parse_if_match(value: str | None) -> int | None:
    """``"3"``, ``3`` or ``W/"3"`` → 3; absent or ``*`` → None (no precondition)."""
    if value is None or value.strip() in ("", "*"):
        return None
    match = _VERSION.match(value.strip())
    if match is None:
        raise Problem(400, "invalid_header", header="If-Match")
    return int(match.group("version"))


def expected_version(request: Request[Any, Any, Any]) -> int | None:
    return parse_if_match(request.headers.get("if-match"))


def etag(version: int) -> dict[str, str]:
    """Headers announcing an aggregate's version, for the client's next ``If-Match``."""
    return {"ETag": f'"{version}"'}
