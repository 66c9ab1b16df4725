"""A real IMAP server for the tests and the bench: Debian's Dovecot, started unprivileged.

`make mailserver` installs it (dovecot-imapd). Each server gets a generated configuration in a
fresh folder, a free port on 127.0.0.1, plain sign-in against a passwd-file, and Maildir
mailboxes. Started by root (CI), it runs as `nobody`; started by anyone else, as that user.
Without the binary the tests are skipped with the reason, except in CI, where that fails.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
)
USER = "desk"
PASSWORD = "mailbox-secret"


def require_dovecot() -> str:
    """The dovecot binary; skips the test without it (fails in CI, where it must be there)."""
    if DOVECOT is None:
        reason = "dovecot is not installed (make mailserver installs Debian's dovecot-imapd)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return DOVECOT


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    username: str
    password: str
    folder: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(folder: Path, port: int, user: str, group: str) -> str:
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {user}
default_internal_user = {user}
default_internal_group = {group}
first_valid_uid = 1
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={folder}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text() if log.exists() else ""
            raise RuntimeError(f"dovecot stopped at start: {text[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dovecot did not answer within 20 s")


@contextmanager
def running_dovecot() -> Iterator[ImapServer]:
    """Dovecot on a free port with one mailbox (USER / PASSWORD), stopped and removed after."""
    binary = require_dovecot()
    folder = Path(tempfile.mkdtemp(prefix="followthrough-dovecot-"))
    if os.geteuid() == 0:
        user, group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        command = ["setpriv", "--reuid=nobody", f"--regid={group}", "--clear-groups"]
    else:
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        command = []
    port = _free_port()
    for sub in ("run", "state", "mail", "home"):
        (folder / sub).mkdir()
    (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    config = folder / "dovecot.conf"
    config.write_text(_config(folder, port, user, group))
    if os.geteuid() == 0:
        shutil.chown(folder, user, group)
        for path in folder.rglob("*"):
            shutil.chown(path, user, group)
    process = subprocess.Popen(
        [*command, binary, "-F", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, process, folder / "dovecot.log")
        yield ImapServer("127.0.0.1", port, USER, PASSWORD, folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
