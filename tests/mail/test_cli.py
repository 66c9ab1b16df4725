"""`followthrough mail test` and `mail send` against real SMTP servers: plain, STARTTLS with
sign-in, and TLS from the first byte; a wrong setting exits 2 naming it."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from typer.testing import CliRunner

from followthrough.cli import app
from tests.mail.conftest import SmtpServer, free_port, start_smtp_server

runner = CliRunner()
USER, PASSWORD = "desk", "correct horse"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the tests trust it through SSL_CERT_FILE)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def _authenticator(
    server: object, session: object, envelope: object, mechanism: str, data: object
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == USER.encode()
        and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    server = start_smtp_server(
        tls_context=_server_context(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator,
    )
    yield server
    server.controller.stop()


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    server = start_smtp_server(ssl_context=_server_context(certificate))
    yield server
    server.controller.stop()


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path]
) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.setenv("FOLLOWTHROUGH_MAIL_FROM", "Desk <desk@example.com>")
    monkeypatch.setenv("FOLLOWTHROUGH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FOLLOWTHROUGH_SMTP_TIMEOUT_SECONDS", "5")
    return monkeypatch


def _point_at(env: pytest.MonkeyPatch, port: int, security: str, **more: str) -> None:
    env.setenv("FOLLOWTHROUGH_SMTP_PORT", str(port))
    env.setenv("FOLLOWTHROUGH_SMTP_SECURITY", security)
    for name, value in more.items():
        env.setenv(f"FOLLOWTHROUGH_{name.upper()}", value)


def test_a_plain_server_gets_the_test_message(
    environment: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    _point_at(environment, smtp_server.port, "none")
    result = runner.invoke(app, ["mail", "test", "--to", "me@example.org"])
    assert result.exit_code == 0, result.output
    [received] = smtp_server.received
    assert received.recipients == ("me@example.org",)
    assert received.message()["Auto-Submitted"] == "auto-generated"


def test_starttls_and_sign_in(environment: pytest.MonkeyPatch, starttls_server: SmtpServer) -> None:
    _point_at(
        environment, starttls_server.port, "starttls", smtp_username=USER, smtp_password=PASSWORD
    )
    result = runner.invoke(app, ["mail", "test", "--to", "me@example.org"])
    assert result.exit_code == 0, result.output
    assert len(starttls_server.received) == 1


def test_a_wrong_password_names_the_setting(
    environment: pytest.MonkeyPatch, starttls_server: SmtpServer
) -> None:
    _point_at(
        environment, starttls_server.port, "starttls", smtp_username=USER, smtp_password="nope"
    )
    result = runner.invoke(app, ["mail", "test", "--to", "me@example.org"])
    assert result.exit_code == 2
    assert "smtp_password (FOLLOWTHROUGH_SMTP_PASSWORD)" in result.output
    assert starttls_server.received == []


def test_signing_in_without_starttls_on_a_server_that_needs_it_says_so(
    environment: pytest.MonkeyPatch, starttls_server: SmtpServer
) -> None:
    _point_at(environment, starttls_server.port, "none", smtp_username=USER, smtp_password=PASSWORD)
    result = runner.invoke(app, ["mail", "test", "--to", "me@example.org"])
    assert result.exit_code == 2
    assert "smtp_username" in result.output
    assert "starttls" in result.output


def test_tls_from_the_first_byte(environment: pytest.MonkeyPatch, tls_server: SmtpServer) -> None:
    _point_at(environment, tls_server.port, "tls")
    result = runner.invoke(app, ["mail", "test", "--to", "me@example.org"])
    assert result.exit_code == 0, result.output
    assert len(tls_server.received) == 1


def test_tls_to_a_plain_server_names_the_security_setting(
    environment: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    _point_at(environment, smtp_server.port, "tls")
    result = runner.invoke(app, ["mail", "test", "--to", "me@example.org"])
    assert result.exit_code == 2
    assert "smtp_security" in result.output or "smtp_port" in result.output


def test_starttls_on_a_server_without_it_names_the_security_setting(
    environment: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    _point_at(environment, smtp_server.port, "starttls")
    result = runner.invoke(app, ["mail", "test", "--to", "me@example.org"])
    assert result.exit_code == 2
    assert "smtp_security (FOLLOWTHROUGH_SMTP_SECURITY)" in result.output


def test_nobody_listening_names_the_port(environment: pytest.MonkeyPatch) -> None:
    _point_at(environment, free_port(), "none")
    result = runner.invoke(app, ["mail", "test", "--to", "me@example.org"])
    assert result.exit_code == 2
    assert "smtp_port (FOLLOWTHROUGH_SMTP_PORT)" in result.output


def test_no_server_set_names_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOLLOWTHROUGH_SMTP_HOST", raising=False)
    for command in (["mail", "test", "--to", "me@example.org"], ["mail", "send"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert "smtp_host (FOLLOWTHROUGH_SMTP_HOST)" in result.output


def test_sending_without_a_secret_key_names_it(
    environment: pytest.MonkeyPatch, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    _point_at(environment, smtp_server.port, "none")
    environment.delenv("FOLLOWTHROUGH_SECRET_KEY", raising=False)
    result = runner.invoke(
        app, ["mail", "send", "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}"]
    )
    assert result.exit_code == 2
    assert "secret_key (FOLLOWTHROUGH_SECRET_KEY)" in result.output
