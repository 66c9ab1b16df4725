"""Mail in from a mailbox: poll an IMAP folder, take each mail, move it to the done folder.

A mail is moved only after the transaction that took it has committed, so a crash in between
leaves it in the folder and the next poll takes it again, which changes nothing (a mail is
recorded once). A mail that cannot be taken stays where it is for the next poll. Between polls
the poller waits with IDLE where the server offers it (new mail wakes it at once), else sleeps.
No transaction is open while talking to the mailbox.
"""

from __future__ import annotations

import io
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted

from followthrough.config import Settings

log = logging.getLogger(__name__)

# Takes one mail: (its bytes, the envelope's recipients, how it came). Raises if not taken.
Take = Callable[[bytes, tuple[str, ...], str], None]


class MailboxSettingsError(Exception):
    """A mailbox setting is missing or wrong: names the setting."""

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(f"{setting}: {detail}")
        self.setting = setting
        self.detail = detail


def connect(settings: Settings) -> BaseMailBox:
    """A logged-in mailbox with `imap_folder` selected."""
    if not settings.imap_host:
        raise MailboxSettingsError("imap_host", "no mailbox server is set")
    if not settings.imap_username or settings.imap_password is None:
        raise MailboxSettingsError("imap_username", "the mailbox needs a user name and password")
    mailbox: BaseMailBox
    if settings.imap_security == "tls":
        mailbox = MailBox(settings.imap_host, settings.imap_port, timeout=60)
    elif settings.imap_security == "starttls":
        mailbox = MailBoxStartTls(settings.imap_host, settings.imap_port, timeout=60)
    else:
        mailbox = MailBoxUnencrypted(settings.imap_host, settings.imap_port, timeout=60)
    mailbox.login(
        settings.imap_username,
        settings.imap_password.get_secret_value(),
        initial_folder=settings.imap_folder,
    )
    if not mailbox.folder.exists(settings.imap_done_folder):
        mailbox.folder.create(settings.imap_done_folder)
    mailbox.folder.set(settings.imap_folder)
    return mailbox


def _raw(mailbox: BaseMailBox, uid: str, max_bytes: int) -> bytes | None:
    """The mail's bytes exactly as stored (BODY.PEEK: reading does not mark it seen), up to
    one byte more than `max_bytes`: a larger mail is set aside from its start (its headers),
    never read whole into memory."""
    status, data = mailbox.client.uid("fetch", uid, f"(BODY.PEEK[]<0.{max_bytes + 1}>)")
    if status != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


@dataclass(frozen=True)
class Polled:
    taken: int
    left: int


def poll_once(mailbox: BaseMailBox, settings: Settings, take: Take) -> Polled:
    """Take every mail in the folder; move each taken one to the done folder."""
    taken = left = 0
    for uid in mailbox.uids("ALL"):
        raw = _raw(mailbox, uid, settings.mail_receiver_max_bytes)
        if raw is None:
            left += 1
            continue
        try:
            take(raw, (), "imap")
        except Exception:
            log.exception(
                "mail %s in %s could not be taken; left for the next poll",
                uid,
                settings.imap_folder,
            )
            left += 1
            continue
        mailbox.move(uid, settings.imap_done_folder)
        taken += 1
    return Polled(taken, left)


def supports_idle(mailbox: BaseMailBox) -> bool:
    return "IDLE" in {str(c).upper() for c in mailbox.client.capabilities}


def _already_read(mailbox: BaseMailBox) -> bool:
    """Whether the server's news is already here: stashed by imaplib while IDLE started, or
    waiting in imaplib's read buffer, where watching the socket would never see it."""
    client = mailbox.client
    if client.untagged_responses.get("EXISTS"):
        return True
    sock = client.sock
    before = sock.gettimeout()
    sock.settimeout(0)
    try:
        buffered = cast(io.BufferedReader, client.file)
        return bool(buffered.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError, TimeoutError):
        return False
    finally:
        sock.settimeout(before)


def wait_for_news(mailbox: BaseMailBox, seconds: float) -> None:
    """IDLE until the server says the folder changed, or `seconds` pass; at once if it already
    said so.

    A mail that arrives between the last search and the IDLE command is announced together
    with the server's "+ idling" answer; imaplib reads both into its buffer, and a wait on the
    socket alone would then sleep the whole timeout (a reply taken a minute late)."""
    client = mailbox.client
    if client.untagged_responses.pop("EXISTS", None):
        # New mail was announced during our own last commands (a MOVE's answer carries it),
        # after the search that listed the folder; IDLE would not announce it again.
        return
    mailbox.idle.start()  # type: ignore[no-untyped-call]
    try:
        if not _already_read(mailbox):
            mailbox.idle.poll(timeout=seconds)
    finally:
        mailbox.idle.stop()  # type: ignore[no-untyped-call]
    client.untagged_responses.pop("EXISTS", None)


def poll_forever(
    settings: Settings,
    take: Take,
    *,
    stop: Callable[[], bool],
    sleep_seconds: float = 30.0,
    on_poll: Callable[[Polled], None] | None = None,
) -> None:
    """Poll, then wait for new mail (IDLE, or a sleep), until `stop()` is true. A lost
    connection is opened again after a pause."""
    while not stop():
        try:
            with connect(settings) as mailbox:
                idle = supports_idle(mailbox)
                while not stop():
                    polled = poll_once(mailbox, settings, take)
                    if on_poll is not None:
                        on_poll(polled)
                    if idle:
                        # The server wakes us at once on new mail; `stop` is heard after each wait.
                        wait_for_news(mailbox, settings.imap_idle_seconds)
                    else:
                        _sleep(sleep_seconds, stop)
        except MailboxSettingsError:
            raise
        except Exception:
            log.exception("the mailbox connection failed; trying again shortly")
            _sleep(5.0, stop)


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
