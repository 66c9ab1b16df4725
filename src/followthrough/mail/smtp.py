"""A connection to the organisation's mail server, as the settings describe it.

Any failure to connect, secure the connection or sign in is a `MailServerSettingsError` naming
the setting to look at, so `followthrough mail test` can say what to fix.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from followthrough.config import Settings


class MailServerSettingsError(Exception):
    """The mail server could not be used as configured; `setting` names what to check."""

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(f"{setting}: {detail}")
        self.setting = setting
        self.detail = detail


@dataclass(frozen=True)
class SendFailure(Exception):
    """One message was not accepted; `code` is the server's answer (None: no answer)."""

    code: int | None
    detail: str

    def __str__(self) -> str:
        return self.detail if self.code is None else f"{self.code} {self.detail}"


def _tls_context() -> ssl.SSLContext:
    # The system's trusted authorities (and SSL_CERT_FILE if set); certificates are checked.
    return ssl.create_default_context()


def connect(settings: Settings) -> smtplib.SMTP:
    """An open, secured and signed-in connection; the caller closes it (`quit`)."""
    host = settings.smtp_host
    if not host:
        raise MailServerSettingsError("smtp_host", "no mail server is set")
    timeout = settings.smtp_timeout_seconds
    where = f"{host}:{settings.smtp_port}"
    try:
        if settings.smtp_security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, settings.smtp_port, timeout=timeout, context=_tls_context()
            )
        else:
            client = smtplib.SMTP(host, settings.smtp_port, timeout=timeout)
    except ssl.SSLError as exc:
        raise MailServerSettingsError(
            "smtp_security", f"TLS with {where} failed ({exc.reason}); is the port for 'tls'?"
        ) from exc
    except socket.gaierror as exc:
        raise MailServerSettingsError("smtp_host", f"{host!r} is not a known host ({exc})") from exc
    except TimeoutError as exc:
        raise MailServerSettingsError(
            "smtp_port", f"no answer from {where} within {timeout:g} s"
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailServerSettingsError("smtp_port", f"cannot connect to {where} ({exc})") from exc
    # A message's final "." goes out on its own, after its text and the sender's record
    # (`send`); without this, Nagle's algorithm holds that small write until the server
    # acknowledges the text, which a server's delayed ACK makes ~40 ms a message.
    if client.sock is not None:
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        _secure_and_sign_in(client, settings, where)
    except BaseException:
        client.close()
        raise
    return client


def _secure_and_sign_in(client: smtplib.SMTP, settings: Settings, where: str) -> None:
    try:
        client.ehlo()
        if settings.smtp_security == "starttls":
            if not client.has_extn("starttls"):
                raise MailServerSettingsError(
                    "smtp_security", f"{where} does not offer STARTTLS; use 'tls' or 'none'"
                )
            client.starttls(context=_tls_context())
            client.ehlo()
    except ssl.SSLError as exc:
        raise MailServerSettingsError(
            "smtp_security", f"STARTTLS with {where} failed ({exc.reason})"
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailServerSettingsError("smtp_security", f"{where}: {exc}") from exc
    if settings.smtp_username:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        try:
            client.login(settings.smtp_username, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailServerSettingsError(
                "smtp_password", f"{where} refused the user name or password ({exc.smtp_code})"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailServerSettingsError(
                "smtp_username",
                f"{where} offers no sign-in here"
                + (" (it may need 'starttls' first)" if settings.smtp_security == "none" else ""),
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise MailServerSettingsError("smtp_username", f"{where}: {exc}") from exc


def send(
    client: smtplib.SMTP,
    raw: bytes,
    sender: str,
    recipient: str,
    before_end: Callable[[], None] | None = None,
) -> None:
    """Hand one message to the server; `SendFailure` if it was not accepted.

    `before_end` runs when the server holds the whole message but its final "." line. A server
    delivers nothing whose "." never came, so a record made there ("handed over") is false only
    for the instant between it and the "." leaving; the server's "250 accepted", by contrast,
    can arrive at a sender killed before it records anything. If `before_end` raises, the
    connection is dropped without the "." (the server discards the message) and the error
    goes to the caller.
    """
    try:
        client.ehlo_or_helo_if_needed()
        options = [f"SIZE={len(raw)}"] if client.does_esmtp and client.has_extn("size") else []
        _expect(client, client.mail(sender, options), (250,))
        _expect(client, client.rcpt(recipient), (250, 251))
        _expect(client, client.docmd("DATA"), (354,))
        # Lines starting with "." are doubled (RFC 5321 4.5.2), as smtplib's own `data` does.
        body = _LEADING_DOT.sub(b"..", raw)
        client.send(body if body.endswith(b"\r\n") else body + b"\r\n")
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailure(None, str(exc) or type(exc).__name__) from exc
    if before_end is not None:
        try:
            before_end()
        except BaseException:
            client.close()
            raise
    try:
        client.send(b".\r\n")
        code, text = client.getreply()
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailure(None, str(exc) or type(exc).__name__) from exc
    if code != 250:
        raise SendFailure(code, _text(text))


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _expect(client: smtplib.SMTP, answer: tuple[int, bytes], codes: tuple[int, ...]) -> None:
    code, text = answer
    if code in codes:
        return
    if code == 421 or code == -1:  # the server is closing, or has gone
        client.close()
        raise SendFailure(None if code == -1 else code, _text(text))
    try:
        client.rset()  # ready for the next message on the same connection
    except (OSError, smtplib.SMTPException):
        client.close()
    raise SendFailure(code, _text(text))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def close(client: smtplib.SMTP) -> None:
    """Say goodbye if the server still listens; never raises."""
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
