"""A small browser stand-in for page tests: signs in with the form and posts forms with CSRF."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.factories import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SIGNIN = re.compile(r'name="signin_token" value="([^"]+)"')


class Visitor:
    """One person's browser: a cookie jar, and forms posted the way the pages post them."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def sign_in(self, handle: str, password: str = PASSWORD) -> httpx.Response:
        form = self.http.get("/sign-in")
        token = SIGNIN.search(form.text)
        assert token, form.text
        response = self.http.post(
            "/sign-in",
            data={
                "handle": handle,
                "password": password,
                "signin_token": token.group(1),
                "next": "/",
            },
        )
        if response.status_code == 303:
            self.csrf = self.token_from(self.get("/").text)
        return response

    @staticmethod
    def token_from(html: str) -> str:
        found = CSRF.search(html)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf_token", self.csrf)
        return self.http.post(path, data=body)
