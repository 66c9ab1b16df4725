"""The test SMTP server keeps exactly what it is sent."""

from __future__ import annotations

import smtplib

from tests.mail.conftest import SmtpServer


def test_the_server_records_the_raw_message(smtp_server: SmtpServer) -> None:
    raw = b"From: a@example.com\r\nTo: b@example.com\r\nMessage-ID: <x1@t>\r\nSubject: hi\r\n\r\nbody\r\n"
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as client:
        client.sendmail("a@example.com", ["b@example.com"], raw)
    [received] = smtp_server.received
    assert received.recipients == ("b@example.com",)
    assert received.message_id == "<x1@t>"
    assert b"body" in received.raw
