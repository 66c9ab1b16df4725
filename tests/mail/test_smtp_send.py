"""`smtp.send` speaks SMTP's DATA itself (so the sender can record a message as handed over
before its final "."): the server must get every byte as written, whatever the lines hold, and
a refusal at any step must be a `SendFailure` with the server's code, leaving the connection
ready for the next message."""

from __future__ import annotations

import pytest

from followthrough.config import Settings
from followthrough.mail import smtp
from tests.mail.conftest import SmtpServer

HEAD = b"From: desk@example.com\r\nTo: b@example.com\r\nMessage-ID: <dots@t>\r\nSubject: x\r\n\r\n"


def _settings(server: SmtpServer) -> Settings:
    return Settings(
        smtp_host=server.host, smtp_port=server.port, smtp_security="none", smtp_timeout_seconds=5
    )


@pytest.mark.parametrize(
    "body",
    [
        b".\r\n",  # a line that is only a dot: unstuffed, it would end the message early
        b"first\r\n.\r\nafter a lone dot\r\n",
        b".starts with a dot\r\n..two dots\r\n",
        b"no line end at the end",
    ],
)
def test_every_line_reaches_the_server_as_written(smtp_server: SmtpServer, body: bytes) -> None:
    client = smtp.connect(_settings(smtp_server))
    handed: list[bool] = []
    try:
        smtp.send(
            client, HEAD + body, "desk@example.com", "b@example.com", lambda: handed.append(True)
        )
    finally:
        smtp.close(client)
    [received] = smtp_server.received
    expected = HEAD + body if body.endswith(b"\r\n") else HEAD + body + b"\r\n"
    assert received.raw == expected
    assert handed == [True]


def test_a_refusal_is_a_failure_with_its_code_and_the_next_message_still_goes(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.handler.refuse_with = "554 5.7.1 not today"
    client = smtp.connect(_settings(smtp_server))
    try:
        with pytest.raises(smtp.SendFailure) as refused:
            smtp.send(client, HEAD + b"one\r\n", "desk@example.com", "b@example.com")
        assert refused.value.code == 554
        smtp_server.handler.refuse_with = None
        smtp.send(client, HEAD + b"two\r\n", "desk@example.com", "b@example.com")
    finally:
        smtp.close(client)
    assert [r.raw.endswith(b"two\r\n") for r in smtp_server.received] == [True]


def test_a_record_that_fails_before_the_final_dot_leaves_nothing_with_the_server(
    smtp_server: SmtpServer,
) -> None:
    client = smtp.connect(_settings(smtp_server))

    def record_fails() -> None:
        raise RuntimeError("the database said no")

    with pytest.raises(RuntimeError):
        smtp.send(client, HEAD + b"body\r\n", "desk@example.com", "b@example.com", record_fails)
    smtp.close(client)
    # A new connection works, and the message whose "." never came was not kept.
    again = smtp.connect(_settings(smtp_server))
    try:
        smtp.send(again, HEAD + b"later\r\n", "desk@example.com", "b@example.com")
    finally:
        smtp.close(again)
    assert [r.raw.endswith(b"later\r\n") for r in smtp_server.received] == [True]
