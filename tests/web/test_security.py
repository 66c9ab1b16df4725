"""Security headers on every answer over real HTTP: pages, the API, static files, redirects and
errors, including an unexpected one; the API reference pages get their own policy."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from followthrough.web.problems import install_problem_handlers
from followthrough.web.security import install_security
from tests.conftest import LiveServer, _free_port
from tests.factories import World

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _assert_protected(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.url, name)
    policy = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert directives["script-src"] == ["'self'"], policy
    assert directives["frame-ancestors"] == ["'none'"], policy
    assert directives["object-src"] == ["'none'"], policy


@pytest.fixture
def anonymous(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=30) as client:
        yield client


def test_a_page_an_api_answer_and_a_static_file_carry_the_headers(
    world: World, anonymous: httpx.Client
) -> None:
    page = anonymous.get("/sign-in")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    _assert_protected(page)
    health = anonymous.get("/api/v1/health")
    assert health.status_code == 200
    _assert_protected(health)
    script = anonymous.get("/static/app.js")
    assert script.status_code == 200
    _assert_protected(script)
    redirect = anonymous.get("/team")
    assert redirect.status_code == 303
    _assert_protected(redirect)


def test_errors_carry_the_headers(world: World, anonymous: httpx.Client) -> None:
    for response in [
        anonymous.get("/api/v1/no-such-thing"),
        anonymous.get("/api/v1/me"),
        anonymous.get("/no-such-page"),
        anonymous.get("/static/no-such-file.js"),
        anonymous.post("/api/v1/session", json={"handle": ""}),
    ]:
        assert response.status_code in (401, 404, 422), response.url
        _assert_protected(response)


def test_the_api_reference_is_served_locally_and_still_refuses_framing(
    world: World, anonymous: httpx.Client
) -> None:
    docs = anonymous.get("/docs")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    # Swagger UI comes from /static (npm, the Makefile's vendor step), not from a CDN, and
    # starts from a script file: no inline script, no other host.
    assert "https://" not in policy
    assert "http://" not in policy
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert docs.headers["x-frame-options"] == "DENY"
    assert "https://" not in docs.text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', docs.text):
        assert anonymous.get(asset).status_code == 200, asset
    # FastAPI's own CDN pages are gone.
    assert anonymous.get("/redoc").status_code == 404
    assert anonymous.get("/docs/oauth2-redirect").status_code == 404


def test_an_unexpected_error_carries_the_headers() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    install_security(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/boom", timeout=10)
        assert response.status_code == 500
        _assert_protected(response)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
