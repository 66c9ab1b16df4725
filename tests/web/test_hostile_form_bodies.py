"""A page form's body with a file in it: no page form takes one (an attachment is read by its
own route, within its limit), yet every form read one whole, spooled to disk whatever its size,
before the route ran — the sign-in and new password forms for anyone, signed in or not. Now a
file part is refused as it starts (400) and nothing is read after it, on SQLite and PostgreSQL
alike."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from followthrough.auth.models import WebSession
from followthrough.db import Database
from followthrough.web.security import BODY_LIMIT
from tests.conftest import LiveServer
from tests.factories import PASSWORD, World

# Declared, never sent: a reader that waits for the whole file waits for ever.
DECLARED = 50 * 1024**3
SENT = 256 * 1024


def answer_to_a_file_that_never_ends(
    base_url: str, path: str, fields: dict[str, str], declared: int = DECLARED
) -> bytes:
    """Send a form whose file part declares `declared` bytes, send SENT of them, and return the
    answer's first bytes (empty if the server is still reading after 5 seconds)."""
    address = urlsplit(base_url)
    head = b"".join(
        b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (name.encode(), value.encode())
        for name, value in fields.items()
    )
    head += b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\n'
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(head) + declared}\r\n\r\n"
    ).encode() + head
    with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
        connection.sendall(request + b"x" * SENT)
        try:
            return connection.recv(200)
        except TimeoutError:
            return b""


def test_a_file_in_a_sign_in_or_new_password_form_is_refused_as_it_starts(
    db: Database, world: World, live_server: LiveServer
) -> None:
    # Within the desk's body limit: a larger body is refused before any form is read (413).
    within = BODY_LIMIT - 64 * 1024
    sign_in = {"handle": "asha", "password": PASSWORD, "signin_token": "t", "next": "/"}
    answer = answer_to_a_file_that_never_ends(live_server.base_url, "/sign-in", sign_in, within)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    new_password = {"token": "t", "password": "a new secret", "repeat": "a new secret"}
    answer = answer_to_a_file_that_never_ends(
        live_server.base_url, "/password-reset", new_password, within
    )
    assert answer.startswith(b"HTTP/1.1 400"), answer
    answer = answer_to_a_file_that_never_ends(live_server.base_url, "/sign-in", sign_in)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    with db.unit_of_work(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_a_form_with_too_many_fields_or_a_long_field_names_what_is_wrong(
    world: World, live_server: LiveServer
) -> None:
    """Starlette's own limits answered a bare 400 ("Too many fields…", "Part exceeded maximum
    size of 1024KB."): the page now says the form could not be read and why; a field over
    Starlette's 1 MB a part is judged by the form's own rules, as a shorter one is."""
    with httpx.Client(base_url=live_server.base_url) as client:
        many = client.post(
            "/sign-in",
            content="&".join(f"f{n}=x" for n in range(1_500)),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert many.status_code == 400
        assert "The form could not be read: Too many fields" in many.text
        answers = [
            client.post("/sign-in", files={"handle": (None, handle), "password": (None, "x")})
            for handle in ("a" * (1024 * 1024 + 10), "a" * 300)
        ]
        assert answers[0].status_code == answers[1].status_code < 500
        for answer in answers:
            assert "1024KB" not in answer.text
            assert "could not be read" not in answer.text
