"""Mail's scheduled work: on every sweep, when a mail server is set, the sweeper sends the outbox
and the refusals (polite answers to mail the desk could not take) still waiting to go."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from followthrough.config import Settings
from followthrough.db import Database
from followthrough.mail import inbound, smtp
from followthrough.mail.compose import envelope_sender
from followthrough.mail.outbound import send_outbox

log = logging.getLogger("followthrough.mail")

Job = Callable[[Database, datetime], int]


def outbox_sender(settings: Settings) -> Job | None:
    """The sweeper's job that sends what is due, or None when mail is not set up (no server, or
    no secret key to sign its links with): then the outbox only fills, as before."""
    if not settings.smtp_host or settings.secret_key is None:
        return None

    def send_due_mail(database: Database, now: datetime) -> int:
        report = send_outbox(database, settings, now)
        if report.server_error is not None:
            # Nothing is lost: the messages wait for their next try. Say what to check.
            log.warning(
                "mail not sent: %s (FOLLOWTHROUGH_%s)",
                report.server_error,
                report.server_error.setting.upper(),
            )
        return report.counts["sent"]

    return send_due_mail


def refusal_sender(settings: Settings) -> Job | None:
    """The sweeper's job that sends the refusals left queued (the receiver or the mailbox poller
    could not reach the mail server, or stopped before sending), or None without a mail server.
    Refusals carry no signed link, so no secret key is needed."""
    if not settings.smtp_host:
        return None

    def send_left_refusals(database: Database, now: datetime) -> int:
        try:
            client = smtp.connect(settings)
        except smtp.MailServerSettingsError as exc:
            # They stay queued for the next sweep.
            log.warning("refusals not sent: %s (FOLLOWTHROUGH_%s)", exc, exc.setting.upper())
            return 0
        try:

            def deliver(message: EmailMessage) -> None:
                smtp.send(client, message.as_bytes(), envelope_sender(settings), str(message["To"]))

            return inbound.send_answers(database, settings, deliver, lambda: now)
        except smtp.SendFailure as exc:
            # The ones sent before the failure are marked; the rest wait for the next sweep.
            log.warning("refusals not all sent now (%s); the rest stay queued", exc)
            return 0
        finally:
            smtp.close(client)

    return send_left_refusals
