"""Browser-facing protections: security headers on every answer, Secure cookies over HTTPS, and
the client address that abuse limits count by.

The headers are added by a plain ASGI middleware (not Starlette's BaseHTTPMiddleware, which
buffers each response through a task and would break the live stream), so pages, the API,
static files, error answers and redirects all carry them.

The pages run no inline script: every script is a file under /static, and data for it travels in
`data-*` attributes, so `script-src 'self'` holds. Styles still allow 'unsafe-inline': templates
use a few `style` attributes and `<style>` blocks, htmx adds its indicator style and Chart.js
sizes canvases with inline styles; a style cannot run code.
"""

from __future__ import annotations

import json
import re

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The API reference (/docs) runs Swagger UI, served from /static like every other script; its
# styles and pictures come as inline styles and data: URLs. Only that page gets this policy: it
# shows no user data, and framing is still refused.
API_REFERENCE_PATHS = frozenset({"/docs"})
API_REFERENCE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _headers(policy: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]


_PAGE_HEADERS = _headers(CONTENT_SECURITY_POLICY)
_API_REFERENCE_HEADERS = _headers(API_REFERENCE_POLICY)


class SecurityHeaders:
    """Adds the security headers to every HTTP answer, unless the answer set one itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = (
            _API_REFERENCE_HEADERS if scope.get("path") in API_REFERENCE_PATHS else _PAGE_HEADERS
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                headers.extend(header for header in added if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The largest body a form or an API call takes. The desk's largest is a few hundred KB (a request's
# words, ten learning statements); a body of hundreds of MB was read and parsed whole before
# anyone asked who sent it (200 MB of JSON: 3.5 s and 360 MB of the process). Attachments are
# read by their own route, within their own limit (`attachments.upload`).
BODY_LIMIT = 2 * 1024 * 1024
UPLOAD_PATH = re.compile(r"^/(api/v1/)?requests/[^/]+/attachments/?$")


def _too_large() -> tuple[Message, Message]:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Content too large",
            "status": 413,
            "detail": f"the body is larger than the {BODY_LIMIT // (1024 * 1024)} MB the desk takes",
            "field": "body",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    start: Message = {"type": "http.response.start", "status": 413, "headers": headers}
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    """Answers 413 to a body over BODY_LIMIT before any of it reaches the app: at once when its
    declared length says so, else (a chunked body) once that much has come."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or UPLOAD_PATH.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) <= BODY_LIMIT:
                await self.app(scope, receive, send)  # the server holds it to its length
                return
            for message in _too_large():
                await send(message)
            return
        # No declared length: read it here, up to the limit, and hand the app what came.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > BODY_LIMIT:
                for answer in _too_large():
                    await send(answer)
                return
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def received() -> Message:
            return next(replay, None) or await receive()

        await self.app(scope, received, send)


def install_security(app: FastAPI) -> None:
    """Security headers on every answer of `app`, including its error answers, and the body
    limit before anything reads a body."""
    build_stack = app.build_middleware_stack

    # Around the whole stack, not added with add_middleware: Starlette puts added middleware
    # inside ServerErrorMiddleware, whose answers to unexpected errors would then go out bare.
    def build_stack_with_headers() -> ASGIApp:
        return SecurityHeaders(BodyLimit(build_stack()))

    app.build_middleware_stack = build_stack_with_headers  # type: ignore[method-assign]


def cookies_secure(request: Request) -> bool:
    """Whether cookies should be sent only over HTTPS: when this request came over HTTPS (uvicorn
    has already read X-Forwarded-Proto, if the proxy is trusted) or the settings force it."""
    forced: bool = request.app.state.settings.secure_cookies
    return forced or request.url.scheme == "https"


def client_address(request: Request) -> str:
    """The address abuse limits count by. Behind a trusted proxy uvicorn has already replaced the
    peer with the X-Forwarded-For client; headers from untrusted peers are never read here."""
    return request.client.host if request.client else "unknown"
