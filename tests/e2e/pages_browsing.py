"""A browser's cookie handling over plain HTTP, for the pages' HTTP-level tests.

The session and CSRF cookies are ``Secure``: httpx's cookie jar keeps them away from an
``http://`` test server, as it should; a browser treats ``127.0.0.1`` as a secure context
and sends them. ``Visitor`` does what the browser does: keeps every cookie set, sends them
back, and reads the form's CSRF token.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import httpx

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Visitor:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            self.set_cookie_headers.append(header)
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel.value in ("", "null"):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        found = CSRF_FIELD.search(response.text) if "html" in response.headers.get(
            "content-type", "") else None
        if found:
            self.csrf = found.group(1)
        return response

    def _headers(self) -> dict[str, str]:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def get(self, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
            ) -> httpx.Response:
        return self._keep(self.http.get(path, headers={**self._headers(), **(headers or {})},
                                        **kwargs))

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True,
             **kwargs: Any) -> httpx.Response:
        form = {**data, **({"_csrf_token": self.csrf} if csrf else {})}
        return self._keep(self.http.post(path, data=form, headers=self._headers(), **kwargs))

    def sign_in(self, username: str, password: str, next_: str = "") -> httpx.Response:
        self.get("/")
        return self.post("/", {"username": username, "password": password, "next": next_})
